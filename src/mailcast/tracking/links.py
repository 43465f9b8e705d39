"""Compose-time tracking: rewrites a delivery's HTML links once, then signs each message's URLs.

`LinkTracker.instrument` runs once per delivery on the HTML template *source*: every
`<a href="http(s)://...">` becomes a call into the template (`{{ _mc_link(n) }}` when the
URL is fixed, `{% call _mc_track(n) %}...{% endcall %}` when it holds template expressions,
so the click token carries the final, rendered URL), and a pixel placeholder is put after
`<body>` or before `</body>`. Per recipient, what is left is signing a few short tokens.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from mailcast.tracking.tokens import TokenKind, TokenSigner, TrackingToken

if TYPE_CHECKING:
    from mailcast.context import Context

NOTRACK_ATTRIBUTE = "data-mailcast-notrack"
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058

# Jinja spans are matched whole (each up to its first closing mark, so matching never
# backtracks through them), so a quote or `>` inside an expression ends nothing.
_JINJA = r"\{\{(?:[^}]|\}(?!\}))*\}\}|\{%(?:[^%]|%(?!\}))*%\}|\{#(?:[^#]|#(?!\}))*#\}"
_LONE_BRACE = r"\{(?![{%#])"
# `{% raw %}` blocks and Jinja comments are copied as they are: nothing in them is a link.
_SKIPPED = r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|\{#(?:[^#]|#(?!\}))*#\}"
# A tag ends at its `>`; a bare `<` means it was never closed (and stopping there keeps the
# scan linear on a template full of unclosed tags).
_A_TAG = rf"<a(?=[\s>/])(?:{_JINJA}|[^<>{{]|{_LONE_BRACE})*>"
_SOURCE = re.compile(rf"(?P<skip>{_SKIPPED})|(?P<tag>{_A_TAG})", re.IGNORECASE | re.DOTALL)
_DOUBLE_QUOTED = rf'"(?P<dq>(?:{_JINJA}|[^"{{]|{_LONE_BRACE})*)"'
_SINGLE_QUOTED = rf"'(?P<sq>(?:{_JINJA}|[^'{{]|{_LONE_BRACE})*)'"
_UNQUOTED = r"""(?P<uq>[^\s"'>{]+)"""
_HREF = re.compile(
    rf"(?P<lead>\shref\s*=\s*)(?:{_DOUBLE_QUOTED}|{_SINGLE_QUOTED}|{_UNQUOTED})",
    re.IGNORECASE | re.DOTALL,
)
_BODY_OPEN = re.compile(r"<body(?:\s[^>]*)?>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_PIXEL = "{{ _mc_pixel }}"


@dataclass(frozen=True)
class InstrumentedHtml:
    """A delivery's HTML template with its links turned into template calls."""

    source: str
    # Link n's URL (index n - 1) as written, when fixed; None when it is rendered per recipient.
    fixed_urls: tuple[str | None, ...]
    # The href text as the author wrote it, for previews that must show the original.
    written: tuple[str, ...]
    # Whether any template names `mirror_url` (when none does, no mirror token is signed).
    mirror: bool = True


class LinkTracker:
    """The tracking URLs of one mailcast deployment: where they point and who signs them."""

    def __init__(
        self, signer: TokenSigner, base_url: str, pixel_position: Literal["top", "bottom"]
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError(f"the tracking base URL must be an http(s) address, not {base_url!r}")
        self.signer = signer
        self.base_url = base_url.rstrip("/")
        self.pixel_position = pixel_position
        self._own_prefix = f"{self.base_url}/t/"
        self._html_base = str(escape(self.base_url))  # tokens themselves need no escaping

    @classmethod
    def from_context(cls, ctx: Context) -> LinkTracker:
        tracking = ctx.settings.tracking
        return cls(ctx.token_signer, tracking.base_url, tracking.pixel_position)

    # --- once per delivery ----------------------------------------------------------------

    def instrument(
        self, source: str, *other_templates: str, clicks: bool = True, opens: bool = True
    ) -> InstrumentedHtml:
        """The HTML template with its links and pixel turned into template calls.

        `other_templates` (subject, text) are only looked at for the `mirror_url` they use.
        Without `clicks` the links stay as written; without `opens` no pixel is added.
        """
        fixed: list[str | None] = []
        written: list[str] = []

        def rewrite(match: re.Match[str]) -> str:
            if match["skip"] is not None:
                return match[0]
            return _rewrite_tag(match[0], fixed, written)

        rewritten = _SOURCE.sub(rewrite, source) if clicks else source
        mirror = any("mirror_url" in template for template in (source, *other_templates))
        pixeled = _with_pixel(rewritten, self.pixel_position) if opens else rewritten
        return InstrumentedHtml(pixeled, tuple(fixed), tuple(written), mirror)

    # --- once per message -----------------------------------------------------------------

    def for_message(
        self, message_id: int, now: dt.datetime, html_links: InstrumentedHtml
    ) -> MessageLinks:
        """The signed URLs of one message, and the template functions that write them."""

        def url(kind: TokenKind, suffix: str = "") -> str:
            token = self.signer.sign(TrackingToken(kind, message_id, now))
            return f"{self.base_url}/t/{kind.value}/{token}{suffix}"

        def click(link: int, target: str) -> Markup:
            token = self.signer.sign(TrackingToken(TokenKind.CLICK, message_id, now, link, target))
            return Markup(f"{self._html_base}/t/c/{token}")

        open_token = self.signer.sign(TrackingToken(TokenKind.OPEN, message_id, now))
        pixel = f'<img src="{self._html_base}/t/o/{open_token}.gif" width="1" height="1" alt="">'
        return MessageLinks(
            mirror_url=url(TokenKind.MIRROR) if html_links.mirror else "",
            unsubscribe_url=url(TokenKind.UNSUBSCRIBE),
            pixel=Markup(pixel),
            link=lambda n: click(n, _fixed_url(html_links, n)),
            track=lambda n, caller: self._track_rendered(n, caller(), click),
        )

    def preview(self, html_links: InstrumentedHtml) -> MessageLinks:
        """Links as the author wrote them, for preparation's checks; the pixel is left out."""
        sample = self.for_message(0, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), html_links)
        return MessageLinks(
            mirror_url=sample.mirror_url,
            unsubscribe_url=sample.unsubscribe_url,
            pixel=Markup(""),
            link=lambda n: Markup(html_links.written[n - 1]),
            track=lambda n, caller: Markup(caller()),
        )

    def _track_rendered(
        self, link: int, rendered: str, click: Callable[[int, str], Markup]
    ) -> Markup:
        target = html.unescape(str(rendered)).strip()
        # Our own mirror and unsubscribe URLs, and what is not a web link, are left as they are.
        if not _is_web(target) or target.startswith(self._own_prefix):
            return Markup(rendered)
        return click(link, target)


@dataclass(frozen=True)
class MessageLinks:
    mirror_url: str
    unsubscribe_url: str
    pixel: Markup
    link: Callable[[int], Markup]
    track: Callable[[int, Callable[[], str]], Markup]

    def template_variables(self) -> dict[str, Any]:
        return {
            "mirror_url": self.mirror_url,
            "unsubscribe_url": self.unsubscribe_url,
            "_mc_pixel": self.pixel,
            "_mc_link": self.link,
            "_mc_track": self.track,
        }

    def headers(self, mailto: str | None = None) -> tuple[tuple[str, str], ...]:
        """List-Unsubscribe with `mailto` (an address) beside the HTTPS link, when given.

        RFC 2369 lists them by preference: the HTTPS one first, the one RFC 8058's one-click
        POST goes to; the mailto serves clients that only send an email.
        """
        unsubscribe = f"<{self.unsubscribe_url}>"
        if mailto:
            unsubscribe += f", <mailto:{mailto}>"
        return (
            ("List-Unsubscribe", unsubscribe),
            ("List-Unsubscribe-Post", ONE_CLICK),
        )


def _rewrite_tag(tag: str, fixed: list[str | None], written: list[str]) -> str:
    if NOTRACK_ATTRIBUTE in tag.lower():
        return tag
    match = _HREF.search(tag)
    if match is None:
        return tag
    quote = "'" if match["sq"] is not None else '"'
    value = next(v for v in (match["dq"], match["sq"], match["uq"]) if v is not None)
    has_jinja = "{{" in value or "{%" in value
    url = html.unescape(value).strip()
    if not has_jinja and not _is_web(url):
        return tag  # mailto:, tel:, #anchors, relative links: nothing to track
    fixed.append(None if has_jinja else url)
    written.append(value)
    n = len(fixed)
    call = f"{{% call _mc_track({n}) %}}{value}{{% endcall %}}" if has_jinja else _link_call(n)
    return f"{tag[: match.start()]}{match['lead']}{quote}{call}{quote}{tag[match.end() :]}"


def _link_call(n: int) -> str:
    return f"{{{{ _mc_link({n}) }}}}"


def _fixed_url(html_links: InstrumentedHtml, n: int) -> str:
    url = html_links.fixed_urls[n - 1]
    if url is None:
        raise ValueError(f"link {n} is not a fixed link")
    return url


def _is_web(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def _with_pixel(source: str, position: Literal["top", "bottom"]) -> str:
    if position == "top":
        opening = _BODY_OPEN.search(source)
        at = opening.end() if opening else 0
    else:
        closings = list(_BODY_CLOSE.finditer(source))
        at = closings[-1].start() if closings else len(source)
    return source[:at] + _PIXEL + source[at:]
