"""The dashboard's Jinja environment (autoescaped) and what every page is rendered with."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from mailcast.clock import UnknownTimeZone, zone_named
from mailcast.domain import EDITABLE_STATES, DeliveryState

PREFIX = "/dashboard"
STATIC_DIR = resources.files("mailcast.web.dashboard") / "static"
_TEMPLATES = resources.files("mailcast.web.dashboard") / "templates"

# Pages are never cached: they show live figures and carry the session's CSRF token.
NO_STORE = {"Cache-Control": "no-store"}

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def zoned(moment: dt.datetime | None, zone: str | None) -> str:
    """A send date in the time zone it was given in, with UTC beside it (UTC alone if none)."""
    if moment is None or not zone:
        return when(moment)
    try:
        local = moment.astimezone(zone_named(zone))
    except UnknownTimeZone:
        return when(moment)
    return f"{local:%Y-%m-%d %H:%M} {zone} ({moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)"


def in_zone(moment: dt.datetime, zone: str) -> str:
    """A moment in a recurring delivery's zone, as its recurrence is written there (a weekday
    first, the zone after: the page is about that zone, so no UTC beside it)."""
    return f"{moment.astimezone(zone_named(zone)):%a %Y-%m-%d %H:%M} ({zone})"


def pct(value: float) -> str:
    """2 decimals at most, as the page's live script writes them: 100 %, 66.67 %."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + " %"


def sentence(message: object) -> str:
    """An error message of the services ("a delivery in state ...") as a sentence."""
    text = str(message).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":  # a KeyError's quotes
        text = text[1:-1]
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!", ")")) else ".")


# Where the delivery page offers its Edit link (an edit sends a prepared delivery back to draft).
env.globals.update(prefix=PREFIX, editable_states=frozenset(s.value for s in EDITABLE_STATES))
# Templates compare states with these, never with a word of their own (domain.py has them).
env.globals.update(DeliveryState=DeliveryState)
env.filters.update(when=when, zoned=zoned, pct=pct, sentence=sentence)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A rendered page; `context` should hold `session` for every page behind the login."""
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)
