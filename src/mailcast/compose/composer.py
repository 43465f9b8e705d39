"""Turns a delivery and one recipient into the envelope and bytes handed to the relay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mailcast.compose import dkim as dkim_signing
from mailcast.compose.addresses import wire_address
from mailcast.compose.inline_css import StyledTemplate, inline_rendered, styled_template
from mailcast.compose.mime import MessageSkeleton, check_header_value
from mailcast.compose.templates import (
    CompiledContent,
    Deadline,
    RenderedContent,
    recipient_context,
)
from mailcast.compose.verp import EnvelopeSigner
from mailcast.config import TemplateSettings
from mailcast.tracking.links import InstrumentedHtml, LinkTracker, MessageLinks


@dataclass(frozen=True)
class DeliveryContent:
    """What a delivery says, as its author wrote it."""

    delivery_id: int
    subject: str
    from_addr: str
    reply_to: str | None
    html: str
    text: str
    inline_css: bool = False
    track_opens: bool = True
    track_clicks: bool = True

    @classmethod
    def of_delivery(
        cls, row: Mapping[Any, Any], delivery_id: int | None = None, subject_prefix: str = ""
    ) -> DeliveryContent:
        """From a `deliveries` row (or a query with its columns; `delivery_id` when the row's
        `id` is another table's)."""
        return cls(
            delivery_id=row["id"] if delivery_id is None else delivery_id,
            subject=subject_prefix + row["subject"],
            from_addr=row["from_addr"],
            reply_to=row["reply_to"],
            html=row["html_template"],
            text=row["text_template"],
            inline_css=row["inline_css"],
            # A query of another table's content (a proof's) may not name them: tracked.
            track_opens=row.get("track_opens", True),
            track_clicks=row.get("track_clicks", True),
        )


@dataclass(frozen=True)
class Recipient:
    message_id: int
    address: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ComposedMessage:
    message_id: int
    envelope_from: str
    recipient: str
    message_id_header: str
    data: bytes


class Composer:
    """Compiles a delivery once, then composes each of its messages.

    With a `LinkTracker`, the HTML's links are rewritten once here (tracking/links.py) and
    each message gets its signed click, pixel, mirror and unsubscribe URLs and the
    List-Unsubscribe headers. With `inline_css`, the CSS is inlined before the links are
    rewritten, so tracking sees the links of the HTML that is sent (compose/inline_css.py).
    With `dkim` keys for the From domain, each message is signed once built (compose/dkim.py).
    """

    def __init__(
        self,
        content: DeliveryContent,
        signer: EnvelopeSigner,
        tracker: LinkTracker | None = None,
        limits: TemplateSettings | None = None,
        dkim: dkim_signing.DkimKeys | None = None,
    ) -> None:
        check_header_value("From", content.from_addr)
        check_header_value("Reply-To", content.reply_to or "")
        self.content = content
        self.signer = signer
        self.tracker = tracker
        self.dkim = dkim.for_sender(content.from_addr) if dkim else ()
        # Compiled as written first: errors then name the author's template, and links are
        # only rewritten in a template whose every tag and expression is closed.
        self.templates = CompiledContent(content.subject, content.html, content.text, limits)
        self.styled = StyledTemplate(content.html)
        if content.inline_css:
            self.styled = styled_template(content.html)
        self.html_links = InstrumentedHtml(self.styled.source, (), ())
        self._preview: MessageLinks | None = None
        if tracker is not None:
            self.html_links = tracker.instrument(
                self.styled.source,
                content.subject,
                content.text,
                clicks=content.track_clicks,
                opens=content.track_opens,
            )
            self._preview = tracker.preview(self.html_links)
        if self.html_links.source != content.html:
            self.templates = CompiledContent(
                content.subject, self.html_links.source, content.text, limits
            )
        self.skeleton = MessageSkeleton(
            content.from_addr,
            content.reply_to,
            has_html=bool(content.html.strip()),
            has_text=bool(content.text.strip()),
        )

    def render(self, recipient: Recipient, until: Deadline | None = None) -> RenderedContent:
        """The recipient's content, with every per-recipient header value checked.

        Preparation calls this for each recipient, so whatever would make `compose` refuse
        the message later (a line break in the subject or in the name) is caught here. Links
        come out as the author wrote them, so preparation checks the real URLs.
        """
        return self._render(recipient, self._preview, until)

    def message_size(self, recipient: Recipient, rendered: RenderedContent) -> int:
        """The size in bytes of the recipient's message as `compose` would build it."""
        message_id_header = self.signer.message_id_for(self.content.delivery_id, 0)
        data = self._build(recipient, rendered, message_id_header, _SIZE_DATE, self._preview)
        return dkim_signing.signed_size(data, self.dkim)

    def compose(
        self, recipient: Recipient, now: dt.datetime, *, sign: bool = True
    ) -> ComposedMessage:
        links = None
        if self.tracker is not None:
            links = self.tracker.for_message(recipient.message_id, now, self.html_links)
        rendered = self._render(recipient, links)
        message_id_header = self.signer.message_id_for(
            self.content.delivery_id, recipient.message_id
        )
        data = self._build(recipient, rendered, message_id_header, now, links)
        if sign and self.dkim:
            data = dkim_signing.sign(data, self.dkim, now)
        return ComposedMessage(
            message_id=recipient.message_id,
            envelope_from=self.signer.return_path(recipient.message_id),
            recipient=wire_address(recipient.address),
            message_id_header=message_id_header,
            data=data,
        )

    async def signed(self, message: ComposedMessage, now: dt.datetime) -> ComposedMessage:
        """A message composed with `sign=False`, signed in a thread: RSA lets go of the GIL
        while it signs, so the event loop goes on meanwhile."""
        if not self.dkim:
            return message
        data = await dkim_signing.sign_in_thread(message.data, self.dkim, now)
        return replace(message, data=data)

    def _build(
        self,
        recipient: Recipient,
        rendered: RenderedContent,
        message_id_header: str,
        now: dt.datetime,
        links: MessageLinks | None,
    ) -> bytes:
        return self.skeleton.build(
            to_addr=wire_address(recipient.address),
            to_name=_to_name(recipient),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=message_id_header,
            date=now,
            extra_headers=(
                links.headers(self.signer.unsubscribe_address(recipient.message_id))
                if links
                else ()
            ),
        )

    def _render(
        self, recipient: Recipient, links: MessageLinks | None, until: Deadline | None = None
    ) -> RenderedContent:
        check_header_value("To", _to_name(recipient))
        context = recipient_context(
            recipient.address, recipient.first_name, recipient.last_name, recipient.attributes
        )
        if links is not None:
            context.update(links.template_variables())
        rendered = self.templates.render(context, until)
        check_header_value("Subject", rendered.subject)
        if self.styled.each_message and rendered.html.strip():
            return replace(rendered, html=inline_rendered(rendered.html))
        return rendered


# Any date: a Date header has the same length on every day of a two-digit day of month.
_SIZE_DATE = dt.datetime(2000, 1, 10, tzinfo=dt.UTC)


def _to_name(recipient: Recipient) -> str:
    first, last = recipient.first_name, recipient.last_name
    return f"{first} {last}" if first and last else first or last or ""
