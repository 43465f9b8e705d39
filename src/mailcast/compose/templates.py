"""Jinja templates rendered in a sandbox that sees nothing but the profile's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateError

from mailcast.compose.bounds import BUDGET_KEY, BoundedEnvironment, Budget, Deadline, LimitExceeded
from mailcast.compose.slots import Slots
from mailcast.config import TemplateSettings

__all__ = ["CompiledContent", "Deadline", "RenderError", "RenderedContent", "TemplateLimitError"]

# No loader: {% include %} and {% import %} cannot reach files. Immutable: templates cannot
# change the data they are given. StrictUndefined: a misspelt field is an error, not a blank.
# Bounded: numbers, sizes, output and time are limited (compose/bounds.py).
_TEXT_ENV = BoundedEnvironment(autoescape=False)
_HTML_ENV = BoundedEnvironment(autoescape=True)


class RenderError(ValueError):
    """A template could not be compiled or rendered; the message says where."""


class TemplateLimitError(RenderError):
    """A render passed a limit (templates.* settings); `setting` names it."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class RenderedContent:
    subject: str
    html: str
    text: str


def recipient_context(
    email: str | None,
    first_name: str | None,
    last_name: str | None,
    attributes: dict[str, Any],
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The only data a template may read: plain strings, numbers, lists and dicts."""
    profile = {
        "email": email or "",
        "first_name": first_name or "",
        "last_name": last_name or "",
        "attributes": dict(attributes),
    }
    context: dict[str, Any] = {"profile": profile, **profile}
    if extra:
        context.update(extra)
    return context


class CompiledContent:
    """Subject, HTML and text templates of one delivery, compiled once."""

    def __init__(
        self, subject: str, html: str, text: str, limits: TemplateSettings | None = None
    ) -> None:
        self.limits = limits or TemplateSettings()
        self.subject = _Part.of(_TEXT_ENV, subject, "subject")
        self.html = _Part.of(_HTML_ENV, html, "HTML body")
        self.text = _Part.of(_TEXT_ENV, text, "text body")

    def render(self, context: dict[str, Any], until: Deadline | None = None) -> RenderedContent:
        """One recipient's parts, within one budget (and by `until`, the caller's deadline)."""
        budget = Budget.for_recipient(self.limits, until)
        bounded = {**context, BUDGET_KEY: budget}
        return RenderedContent(
            subject=_render(self.subject, bounded, budget).strip(),
            html=_render(self.html, bounded, budget),
            text=_render(self.text, bounded, budget),
        )


@dataclass(frozen=True)
class _Part:
    """A compiled template, and its pieces when it is simple enough to render without Jinja."""

    template: Template
    name: str  # "HTML body": error messages say which part failed
    slots: Slots | None

    @classmethod
    def of(cls, env: BoundedEnvironment, source: str, name: str) -> _Part:
        return cls(_compile(env, source, name), name, Slots.of(env, source))


def _compile(env: BoundedEnvironment, source: str, part: str) -> Template:
    try:
        template = env.from_string(source)
    except TemplateError as exc:
        raise RenderError(f"{part}: {_describe(exc)}") from exc
    except (LimitExceeded, RecursionError, MemoryError) as exc:
        raise _limit_error(part, exc) from exc
    # The same globals as a plain dict: every render copies them into its context, and
    # copying jinja2's ChainMap of them, in Python, was an eighth of composing a message.
    template.globals = dict(template.globals)
    return template


def _render(part: _Part, context: dict[str, Any], budget: Budget) -> str:
    try:
        rendered = part.slots.render(context, budget) if part.slots else None
        if rendered is not None:
            return rendered
        return _generate(part.template, context, budget)
    except TemplateError as exc:
        raise RenderError(f"{part.name}: {_describe(exc)}") from exc
    except (LimitExceeded, RecursionError, MemoryError) as exc:
        raise _limit_error(part.name, exc) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderError(f"{part.name}: {type(exc).__name__}: {exc}") from exc


def _generate(template: Template, context: dict[str, Any], budget: Budget) -> str:
    """The output piece by piece, its length and the time counted between pieces."""
    pieces = []
    # The length is counted here, not by a call for each piece (Budget.add_output does the
    # same): a template with filters writes dozens of pieces.
    output, most = budget.output, budget.limits.max_output_chars
    for piece in template.generate(context):
        output += len(piece)
        if output > most:
            raise LimitExceeded("templates.max_output_chars", "the rendered output is too long")
        budget.check_time()
        pieces.append(piece)
    budget.output = output
    return "".join(pieces)


def _limit_error(part: str, exc: BaseException) -> TemplateLimitError:
    if isinstance(exc, RecursionError):
        exc = LimitExceeded("recursion depth", "the template nests calls too deeply")
    elif isinstance(exc, MemoryError):
        exc = LimitExceeded("memory", "the template needs more memory than the server has")
    assert isinstance(exc, LimitExceeded)
    return TemplateLimitError(f"{part}: {exc}", exc.setting)


def _describe(exc: TemplateError) -> str:
    line = getattr(exc, "lineno", None)
    where = f" (line {line})" if line else ""
    return f"{exc.message or type(exc).__name__}{where}"
