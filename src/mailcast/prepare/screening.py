"""Screening the target one recipient at a time: the filtering rules in ACS order, one render."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mailcast.audience.target import TargetRow
from mailcast.compose.composer import Composer, Recipient
from mailcast.compose.templates import RenderError
from mailcast.domain import ExclusionReason
from mailcast.prepare.rules import BEFORE_DEDUPLICATION, Finding, exclusion_for, malformed_urls
from mailcast.prepare.typology import History, Typology

_MAX_EXAMPLES = 5

Verdict = tuple[ExclusionReason | None, str | None]


@dataclass
class Tally:
    to_deliver: int = 0
    excluded: Counter[ExclusionReason] = field(default_factory=Counter)
    bad_urls: list[str] = field(default_factory=list)
    render_errors: list[str] = field(default_factory=list)


class Screening:
    """Decides, recipient after recipient, who is left out and why, and keeps the tally.

    Rows must come in the target's order (by address key), so that a duplicate address
    follows the first one directly.
    """

    def __init__(self, composer: Composer, target_limit: int | None, typology: Typology) -> None:
        self.composer = composer
        self.target_limit = target_limit
        self.typology = typology
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
            rendered = self.composer.render(recipient)
        except (RenderError, ValueError) as exc:
            if len(self.tally.render_errors) < _MAX_EXAMPLES:
                self.tally.render_errors.append(f"{row.email}: {exc}")
            return ExclusionReason.RENDER_ERROR, str(exc)
        bad_urls = self.tally.bad_urls
        for url in malformed_urls(rendered.html, rendered.text):
            if len(bad_urls) < _MAX_EXAMPLES and url not in bad_urls:
                bad_urls.append(url)
        return None, None


def target_findings(tally: Tally) -> list[Finding]:
    """What screening the whole target found: malformed links, a template that fails."""
    findings = [Finding("error", "urls", f"malformed URL: {url!r}") for url in tally.bad_urls]
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
