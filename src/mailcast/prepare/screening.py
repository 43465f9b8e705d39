"""Screening the target one recipient at a time: the filtering rules in ACS order, one render."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from mailcast.audience.target import TargetRow
from mailcast.compose.addresses import needs_smtputf8
from mailcast.compose.composer import Composer, Recipient
from mailcast.compose.templates import Deadline, RenderedContent, RenderError, TemplateLimitError
from mailcast.domain import ExclusionReason
from mailcast.prepare.rules import (
    BEFORE_DEDUPLICATION,
    CLIPPED_ABOVE_BYTES,
    Blocked,
    Finding,
    check_message_size,
    clipped_finding,
    exclusion_for,
    malformed_urls,
)
from mailcast.prepare.typology import History, Typology

_MAX_EXAMPLES = 5
_SMTPUTF8_DETAIL = (
    "the address is not ASCII before the @: only a relay that takes SMTPUTF8 (RFC 6531) "
    "can send it; set relay.smtputf8 if yours does (named relays: smtputf8 on each one the "
    "delivery may use)"
)

Verdict = tuple[ExclusionReason | None, str | None]


@dataclass
class Tally:
    to_deliver: int = 0
    excluded: Counter[ExclusionReason] = field(default_factory=Counter)
    bad_urls: list[str] = field(default_factory=list)
    render_errors: list[str] = field(default_factory=list)
    clipped: int = 0  # messages Gmail clips (rules.CLIPPED_ABOVE_BYTES)
    largest: int = 0  # bytes of the largest message


class Screening:
    """Decides, recipient after recipient, who is left out and why, and keeps the tally.

    Rows must come in the target's order (by address key), so that a duplicate address
    follows the first one directly.
    """

    def __init__(
        self,
        composer: Composer,
        target_limit: int | None,
        typology: Typology,
        *,
        smtputf8: bool,
        render_seconds: float,
        max_message_bytes: int,
    ) -> None:
        self.composer = composer
        self.target_limit = target_limit
        self.typology = typology
        # Every relay it may use takes SMTPUTF8: addresses not ASCII before the @ can go.
        self.smtputf8 = smtputf8
        # What the target's renders may take together, in real seconds, and each message's size.
        self.render_seconds_left = render_seconds
        self.max_message_bytes = max_message_bytes
        self.tally = Tally()
        # The address of the last row that passed the rules coming before deduplication.
        self._previous_key: str | None = None
        # Recipients that passed the target limit: the rules after it do not free a place.
        self._within_limit = 0

    def screen(self, row: TargetRow, history: History) -> Verdict:
        reason, detail = self._filter(row, history)
        if reason not in BEFORE_DEDUPLICATION:
            self._previous_key = row.email_key
        if reason is None:
            reason, detail = self._render(row)
        if reason is None:
            self.tally.to_deliver += 1
        else:
            self.tally.excluded[reason] += 1
        return reason, detail

    def _filter(self, row: TargetRow, history: History) -> Verdict:
        """The first filtering rule that leaves the recipient out, in the ACS order."""
        reason = exclusion_for(row, self._previous_key)
        if reason is not None:
            return reason, None
        if not self.smtputf8 and row.email and needs_smtputf8(row.email):
            return ExclusionReason.SMTPUTF8_REQUIRED, _SMTPUTF8_DETAIL
        if row.email in history.delivered:
            return ExclusionReason.ALREADY_DELIVERED, None
        if self.target_limit is not None and self._within_limit >= self.target_limit:
            return ExclusionReason.TARGET_LIMIT, None
        self._within_limit += 1
        fatigue = self.typology.fatigue
        count = history.messages.get(row.profile_id, 0)
        if fatigue is not None and fatigue.tired(count):
            return ExclusionReason.FATIGUE, fatigue.detail(count)
        return None, None

    def _render(self, row: TargetRow) -> Verdict:
        """Render once, to catch what would fail at send time, and note malformed links."""
        assert row.email is not None
        recipient = Recipient(0, row.email, row.first_name, row.last_name, row.attributes)
        try:
            rendered = self._timed_render(recipient)
        except TemplateLimitError as exc:
            # A limit is a property of the template, not of one recipient: nobody is sent it.
            raise Blocked(Finding("error", "template_limit", f"{row.email}: {exc}")) from exc
        except (RenderError, ValueError) as exc:
            if len(self.tally.render_errors) < _MAX_EXAMPLES:
                self.tally.render_errors.append(f"{row.email}: {exc}")
            return ExclusionReason.RENDER_ERROR, str(exc)
        self._measure(recipient, rendered)
        bad_urls = self.tally.bad_urls
        for url in malformed_urls(rendered.html, rendered.text):
            if len(bad_urls) < _MAX_EXAMPLES and url not in bad_urls:
                bad_urls.append(url)
        return None, None

    def _timed_render(self, recipient: Recipient) -> RenderedContent:
        """One render, by the preparation's deadline; its time comes off what is left."""
        started = time.monotonic()
        until = Deadline(started + self.render_seconds_left, "templates.preparation_seconds")
        try:
            return self.composer.render(recipient, until)
        finally:
            self.render_seconds_left -= time.monotonic() - started

    def _measure(self, recipient: Recipient, rendered: RenderedContent) -> None:
        size = self.composer.message_size(recipient, rendered)
        check_message_size(recipient.address, size, self.max_message_bytes)
        self.tally.largest = max(self.tally.largest, size)
        self.tally.clipped += size > CLIPPED_ABOVE_BYTES


def target_findings(tally: Tally) -> list[Finding]:
    """What screening the whole target found: malformed links, a template that fails."""
    findings = [Finding("error", "urls", f"malformed URL: {url!r}") for url in tally.bad_urls]
    findings += clipped_finding(tally.clipped, tally.largest)
    rendered_none = tally.to_deliver == 0 and tally.excluded[ExclusionReason.RENDER_ERROR] > 0
    if rendered_none:
        findings.append(
            Finding(
                "error",
                "template",
                f"the template fails for every recipient: {tally.render_errors[0]}",
            )
        )
    elif tally.render_errors:
        n = tally.excluded[ExclusionReason.RENDER_ERROR]
        findings.append(
            Finding(
                "warning",
                "template",
                f"{n} recipient(s) left out, the template fails "
                f"for them, e.g. {tally.render_errors[0]}",
            )
        )
    if tally.to_deliver == 0 and not rendered_none:
        findings.append(Finding("warning", "target", "no recipient is left to deliver to"))
    return findings
