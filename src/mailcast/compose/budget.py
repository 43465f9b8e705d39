"""A render's budget: its limits, its deadline, what it has output; and the refusal."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Context

from mailcast.config import TemplateSettings

BUDGET_KEY = "mailcast budget"  # not an identifier: no template can read or replace it


class LimitExceeded(Exception):
    """A render passed one of its limits; `setting` names it (templates.*)."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{detail} (limit: {setting})")
        self.setting = setting


@dataclass(frozen=True)
class Deadline:
    """A point in real (monotonic) time a render must finish by, and the setting that set it."""

    at: float
    setting: str


@dataclass
class Budget:
    """What one recipient's render may still spend."""

    limits: TemplateSettings
    deadline: Deadline
    output: int = 0  # characters rendered so far, all parts together
    emitted: int = 0  # characters of every {{ }} output, captured ones too
    _ticks: int = 0

    @classmethod
    def for_recipient(cls, limits: TemplateSettings, until: Deadline | None) -> Budget:
        own = Deadline(time.monotonic() + limits.recipient_seconds, "templates.recipient_seconds")
        return cls(limits, own if until is None or own.at <= until.at else until)

    def check_time(self) -> None:
        # The clock is read every 16th step: each step is bounded (numbers, lengths, ranges),
        # and reading it at every {{ }} was a tenth of rendering a message.
        self._ticks += 1
        if self._ticks & 15 == 0 and time.monotonic() > self.deadline.at:
            raise LimitExceeded(self.deadline.setting, "rendering took too long")

    def add_output(self, chars: int) -> None:
        self.output += chars
        if self.output > self.limits.max_output_chars:
            raise LimitExceeded("templates.max_output_chars", "the rendered output is too long")
        self.check_time()

    def check_length(self, length: int, what: str) -> None:
        if length > self.limits.max_value_length:
            raise LimitExceeded(
                "templates.max_value_length", f"{what} would make {length:,} items or characters"
            )

    def checked(self, value: Any, what: str = "the result") -> Any:
        if isinstance(value, str | list | tuple | dict):
            self.check_length(len(value), what)
        return value


def budget_of(context: Context) -> Budget:
    # The render's own variables hold it (CompiledContent.render); a template cannot set a
    # name that is not an identifier, so no lookup through the context's scopes is needed.
    budget = context.parent.get(BUDGET_KEY) or context.get(BUDGET_KEY)
    if not isinstance(budget, Budget):
        raise LimitExceeded("templates", "rendered without a budget")
    return budget
