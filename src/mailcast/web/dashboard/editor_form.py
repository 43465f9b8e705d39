"""The delivery editor's form: its fields as typed, read into a draft or an edit, or from a row."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from starlette.datastructures import FormData

from mailcast.audience.target import Target
from mailcast.config import Settings
from mailcast.deliveries.schedule import zone_of
from mailcast.deliveries.service import DeliveryDraft, DeliveryError
from mailcast.domain import FeedbackMode
from mailcast.web.api.types import MAX_INT
from mailcast.web.dashboard.forms import FormError

# Limits of the columns and of the API's bodies (web/api/models.py), said in the form's words.
_LENGTHS = {"name": ("Name", 200), "from_addr": ("From", 400), "reply_to": ("Reply-To", 400)}
_MAX_VALIDITY_HOURS = 24 * 366
_CHECKBOXES = frozenset({"inline_css", "track_opens", "track_clicks"})
# The stored approval_required (None: the settings') and the form's choice for it.
_APPROVAL_CHOICES: dict[bool | None, str] = {None: "", True: "required", False: "not_required"}


@dataclass(frozen=True)
class EditorForm:
    """Every field as the user typed it, so that a refused form comes back as it was sent."""

    name: str = ""
    subject: str = ""
    from_addr: str = ""
    reply_to: str = ""
    html: str = ""
    text: str = ""
    inline_css: bool = False
    lists: tuple[str, ...] = ()
    filter: str = ""
    target_limit: str = ""
    send_date: str = ""  # YYYY-MM-DD, a wall-clock date in send_timezone
    send_time: str = ""  # HH:MM
    send_timezone: str = ""
    validity_hours: str = ""
    feedback_mode: str = ""  # "": the settings' mode
    relays: tuple[str, ...] = ()  # none ticked: every relay of the settings
    track_opens: bool = True
    track_clicks: bool = True
    approval: str = ""  # "": as the settings say; "required"; "not_required"
    preview_email: str = ""

    @classmethod
    def posted(cls, form: FormData) -> EditorForm:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in ("lists", "relays"):
                values[f.name] = tuple(str(v) for v in form.getlist(f.name) if str(v).strip())
            elif f.name in _CHECKBOXES:
                values[f.name] = form.get(f.name) == "yes"
            else:
                raw = form.get(f.name)
                values[f.name] = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
        return cls(**values)

    @classmethod
    def defaults(cls, settings: Settings) -> EditorForm:
        return cls(validity_hours=_hours(settings.validity_hours))

    @classmethod
    def of_row(cls, row: Mapping[Any, Any]) -> EditorForm:
        """The form of a stored delivery; its send date in its own time zone."""
        target = row["target"] or {}
        date = time = ""
        if row["send_at"] is not None:
            local = row["send_at"].astimezone(zone_of(row["send_timezone"]))
            date, time = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
        return cls(
            name=row["name"],
            subject=row["subject"],
            from_addr=row["from_addr"],
            reply_to=row["reply_to"] or "",
            html=row["html_template"],
            text=row["text_template"],
            inline_css=bool(row["inline_css"]),
            lists=tuple(target.get("lists") or ()),
            filter=target.get("filter") or "",
            target_limit="" if row["target_limit"] is None else str(row["target_limit"]),
            send_date=date,
            send_time=time,
            send_timezone=row["send_timezone"] or "",
            validity_hours=_hours(row["validity_hours"]),
            feedback_mode=row["feedback_mode"] or "",
            relays=tuple(row["relays"] or ()),
            track_opens=bool(row["track_opens"]),
            track_clicks=bool(row["track_clicks"]),
            approval=_APPROVAL_CHOICES.get(row["approval_required"], ""),
        )

    def with_email(self, email: str) -> EditorForm:
        return replace(self, preview_email=email)

    # --- What the services take ---------------------------------------------------------------

    def target(self) -> Target:
        return Target(self.lists, self.filter.strip() or None)

    def content(self) -> dict[str, Any]:
        """The content columns of a deliveries row, for a preview of what is not saved yet."""
        return {
            "subject": self.subject,
            "from_addr": self.from_addr,
            "reply_to": self.reply_to.strip() or None,
            "html_template": self.html,
            "text_template": self.text,
            "inline_css": self.inline_css,
        }

    def changes(self) -> dict[str, Any]:
        """Every field, as `create_delivery` (in a DeliveryDraft) and `edit_delivery` take them."""
        for name, (label, limit) in _LENGTHS.items():
            if len(getattr(self, name)) > limit:
                raise FormError(f"{label} is longer than {limit} characters")
        for name, label in (("name", "Name"), ("subject", "Subject"), ("from_addr", "From")):
            if not getattr(self, name).strip():
                raise FormError(f"{label} is required")
        for name, label in (
            ("subject", "Subject"),
            ("from_addr", "From"),
            ("reply_to", "Reply-To"),
        ):
            if "\n" in getattr(self, name):  # a header: one line (the service refuses it too)
                raise FormError(f"{label} must be on one line")
        try:
            zone_of(self.send_timezone.strip() or None)
        except DeliveryError as exc:
            raise FormError(str(exc)) from exc  # the page makes it a sentence
        return {
            "name": self.name.strip(),
            "subject": self.subject,
            "from_addr": self.from_addr.strip(),
            "reply_to": self.reply_to.strip() or None,
            "html": self.html,
            "text": self.text,
            "inline_css": self.inline_css,
            "target": self.target(),
            "target_limit": _whole(self.target_limit, "The target limit"),
            "feedback_mode": _mode(self.feedback_mode),
            "validity_hours": _validity(self.validity_hours),
            "send_at": self._send_at(),
            "send_timezone": self.send_timezone.strip() or None,
            "relays": list(self.relays) or None,
            "track_opens": self.track_opens,
            "track_clicks": self.track_clicks,
            "approval_required": _approval(self.approval),
        }

    def draft(self) -> DeliveryDraft:
        return DeliveryDraft(**self.changes())

    def _send_at(self) -> dt.datetime | None:
        """A wall-clock time without offset: the service reads it in send_timezone."""
        date, time = self.send_date.strip(), self.send_time.strip()
        if not date and not time:
            return None
        if not date:
            raise FormError("The send time needs a send date")
        try:
            return dt.datetime.fromisoformat(f"{date}T{time or '00:00'}")
        except ValueError as exc:
            raise FormError(f"The send date '{date} {time}' is not a date and time") from exc


def _hours(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _whole(text: str, label: str) -> int | None:
    if not text.strip():
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise FormError(f"{label} must be a whole number, not '{text}'") from exc
    if not 0 <= value <= MAX_INT:  # what the column (and the API) can hold
        raise FormError(f"{label} must be between 0 and {MAX_INT}")
    return value


def _validity(text: str) -> float | None:
    if not text.strip():
        return None  # the settings' validity period
    try:
        value = float(text)
    except ValueError as exc:
        raise FormError(f"The validity period must be a number of hours, not '{text}'") from exc
    if not math.isfinite(value) or not 1 <= value <= _MAX_VALIDITY_HOURS:
        raise FormError(f"The validity period must be between 1 and {_MAX_VALIDITY_HOURS} hours")
    return value


def _mode(text: str) -> FeedbackMode | None:
    if not text:
        return None
    try:
        return FeedbackMode(text)
    except ValueError as exc:
        raise FormError(f"Unknown feedback mode '{text}'") from exc


def _approval(choice: str) -> bool | None:
    for stored, shown in _APPROVAL_CHOICES.items():
        if choice == shown:
            return stored
    raise FormError("Approval is one of: as the settings say, required, not required")
