"""Jinja templates rendered in a sandbox that sees nothing but the profile's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# No loader: {% include %} and {% import %} cannot reach files. Immutable: templates cannot
# change the data they are given. StrictUndefined: a misspelt field is an error, not a blank.
_TEXT_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


class RenderError(ValueError):
    """A template could not be compiled or rendered; the message says where."""


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

    def __init__(self, subject: str, html: str, text: str) -> None:
        self.subject = _compile(_TEXT_ENV, subject, "subject")
        self.html = _compile(_HTML_ENV, html, "HTML body")
        self.text = _compile(_TEXT_ENV, text, "text body")

    def render(self, context: dict[str, Any]) -> RenderedContent:
        return RenderedContent(
            subject=_render(self.subject, context, "subject").strip(),
            html=_render(self.html, context, "HTML body"),
            text=_render(self.text, context, "text body"),
        )


def _compile(env: ImmutableSandboxedEnvironment, source: str, part: str) -> Any:
    try:
        return env.from_string(source)
    except TemplateError as exc:
        raise RenderError(f"{part}: {_describe(exc)}") from exc


def _render(template: Any, context: dict[str, Any], part: str) -> str:
    try:
        return str(template.render(context))
    except TemplateError as exc:
        raise RenderError(f"{part}: {_describe(exc)}") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderError(f"{part}: {type(exc).__name__}: {exc}") from exc


def _describe(exc: TemplateError) -> str:
    line = getattr(exc, "lineno", None)
    where = f" (line {line})" if line else ""
    return f"{exc.message or type(exc).__name__}{where}"
