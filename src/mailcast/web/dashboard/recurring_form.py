"""The recurring delivery form: its fields, read into a RecurringSpec, and filled back in.

The recurrence is built from a few choices (every day, some weekdays, a day of the month, at
a time) or written as cron or RRULE ("custom"); the builder writes an RRULE, which the
service reads like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.datastructures import FormData

from mailcast.audience.target import Target
from mailcast.deliveries.service import DeliveryDraft
from mailcast.domain import Aggregation
from mailcast.recurring.service import Recurring, RecurringError, RecurringSpec
from mailcast.recurring.words import DAYS
from mailcast.web.dashboard.forms import text

WEEKDAYS = tuple((day[:2].upper(), day[:3]) for day in DAYS)  # ("MO", "Mon"), ...
REPEATS = ("daily", "weekly", "monthly", "custom")
AGGREGATIONS = tuple(a.value for a in Aggregation)
_FREQ = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY"}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# The RRULEs the builder writes, read back when the form is opened to edit one.
_BUILT = re.compile(
    r"^(?:DTSTART:\d{8}T\d{6}\s+)?RRULE:FREQ=(DAILY|WEEKLY|MONTHLY)"
    r"(?:;BYDAY=([A-Z,]+))?(?:;BYMONTHDAY=(\d+))?;BYHOUR=(\d+);BYMINUTE=(\d+)$"
)


@dataclass
class RecurringForm:
    """What the form shows: a new one's defaults, what was typed, or a stored one."""

    name: str = ""
    subject: str = ""
    from_addr: str = ""
    reply_to: str = ""
    html: str = ""
    text: str = ""
    lists: list[str] = field(default_factory=list)
    filter: str = ""
    repeats: str = "weekly"
    days: list[str] = field(default_factory=lambda: ["MO"])
    monthday: int = 1
    time: str = "09:00"
    custom: str = ""
    timezone: str = ""  # blank: UTC (the page fills in the browser's zone, as the editor does)
    aggregation: str = Aggregation.NONE.value
    confirm_before_send: bool = True

    @property
    def recurrence(self) -> str:
        """The recurrence to give the service: the builder's RRULE, or the custom text."""
        if self.repeats == "custom":
            return self.custom.strip()
        found = _TIME.match(self.time.strip())
        if found is None:
            raise RecurringError("give the time of day as HH:MM, such as 09:00")
        rule = f"FREQ={_FREQ[self.repeats]}"
        if self.repeats == "weekly":
            if not self.days:
                raise RecurringError("choose at least one day of the week")
            rule += ";BYDAY=" + ",".join(d for d, _ in WEEKDAYS if d in self.days)
        if self.repeats == "monthly":
            if not 1 <= self.monthday <= 31:
                raise RecurringError("the day of the month is between 1 and 31")
            rule += f";BYMONTHDAY={self.monthday}"
        return f"{rule};BYHOUR={int(found[1])};BYMINUTE={int(found[2])}"

    @property
    def zone(self) -> str:
        """The time zone the preview shows and the service is given: one value for both."""
        return self.timezone.strip() or "UTC"

    def spec(self, stored: DeliveryDraft | None = None) -> RecurringSpec:
        """What the form says; on an edit, merged into the stored template so that what the
        form does not show (inline CSS, limit, feedback mode, validity, relays) is kept."""
        if self.aggregation not in AGGREGATIONS:
            raise RecurringError(f"the aggregation is one of {', '.join(AGGREGATIONS)}")
        if not self.lists:
            raise RecurringError("choose at least one list to send to")
        shown: dict[str, Any] = {
            "name": self.name.strip(),
            "subject": self.subject,
            "from_addr": self.from_addr.strip(),
            "reply_to": self.reply_to.strip() or None,
            "html": self.html,
            "text": self.text,
            "target": Target(tuple(self.lists), self.filter.strip() or None),
        }
        template = replace(stored, **shown) if stored is not None else DeliveryDraft(**shown)
        if not template.name:
            raise RecurringError("give the recurring delivery a name")
        return RecurringSpec(
            template,
            self.recurrence,
            self.zone,
            Aggregation(self.aggregation),
            self.confirm_before_send,
        )


def read_form(form: FormData) -> RecurringForm:
    def field_(name: str) -> str:
        return text(form.get(name))

    repeats = field_("repeats")
    day = field_("monthday").strip()
    return RecurringForm(
        name=field_("name"),
        subject=field_("subject"),
        from_addr=field_("from_addr"),
        reply_to=field_("reply_to"),
        html=field_("html"),
        text=field_("text"),
        lists=[str(n) for n in form.getlist("lists")],
        filter=field_("filter"),
        repeats=repeats if repeats in REPEATS else "custom",
        days=[str(d) for d in form.getlist("days")],
        monthday=int(day) if day.isdigit() and len(day) <= 2 else 0,
        time=field_("time"),
        custom=field_("custom"),
        timezone=field_("timezone"),
        aggregation=field_("aggregation"),
        confirm_before_send=field_("confirm_before_send") == "yes",
    )


def form_of(recurring: Recurring) -> RecurringForm:
    """A stored recurring delivery in the form; a recurrence the builder wrote opens in it."""
    draft = recurring.template
    filled = RecurringForm(
        name=recurring.name,
        subject=draft.subject,
        from_addr=draft.from_addr,
        reply_to=draft.reply_to or "",
        html=draft.html,
        text=draft.text,
        lists=list(draft.target.lists),
        filter=draft.target.filter or "",
        repeats="custom",
        custom=recurring.recurrence,
        timezone=recurring.timezone,
        aggregation=recurring.aggregation.value,
        confirm_before_send=recurring.confirm_before_send,
    )
    built = _BUILT.match(recurring.recurrence.strip())
    if built:
        frequency, days, monthday, hour, minute = built.groups()
        filled.repeats = {v: k for k, v in _FREQ.items()}[frequency]
        filled.days = days.split(",") if days else filled.days
        filled.monthday = int(monthday) if monthday else 1
        filled.time = f"{int(hour):02d}:{int(minute):02d}"
        filled.custom = ""
    return filled
