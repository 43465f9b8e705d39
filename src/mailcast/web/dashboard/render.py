"""The dashboard's Jinja environment (autoescaped) and what every page is rendered with."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

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


def pct(value: float) -> str:
    """2 decimals at most, as the page's live script writes them: 100 %, 66.67 %."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + " %"


def sentence(message: object) -> str:
    """An error message of the services ("a delivery in state ...") as a sentence."""
    text = str(message).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":  # a KeyError's quotes
        text = text[1:-1]
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!", ")")) else ".")


env.globals.update(prefix=PREFIX)
env.filters.update(when=when, pct=pct, sentence=sentence)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A rendered page; `context` should hold `session` for every page behind the login."""
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)
