"""Preparing a delivery: target, filtering rules, one render per recipient, control rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping

from mailcast.audience.target import Target, TargetRow, iter_target
from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.templates import RenderError
from mailcast.context import Context
from mailcast.domain import Action, DeliveryState, ExclusionReason
from mailcast.prepare.rules import (
    BEFORE_DEDUPLICATION,
    Finding,
    check_content,
    check_headers,
    check_unsubscribe_link,
    exclusion_for,
    malformed_urls,
)
from mailcast.store import counters as counter_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.tracking.links import LinkTracker
from mailcast.users.service import User, authorize

_MAX_EXAMPLES = 5


class PreparationStopped(Exception):
    """Someone stopped the preparation while it ran."""


@dataclass
class _Tally:
    to_deliver: int = 0
    excluded: Counter[ExclusionReason] = field(default_factory=Counter)
    bad_urls: list[str] = field(default_factory=list)
    render_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PreparationResult:
    delivery_id: int
    state: DeliveryState
    to_deliver: int
    exclusions: dict[ExclusionReason, int]
    findings: list[Finding]

    @property
    def blocked(self) -> bool:
        return any(f.level == "error" for f in self.findings)


def prepare_delivery(ctx: Context, user: User, delivery_id: int) -> PreparationResult:
    """Run preparation; nothing is sent. A blocking error leaves the delivery in draft."""
    authorize(user, Action.PREPARE_DELIVERY)
    delivery = _begin(ctx, delivery_id)
    findings = _control_rules(delivery)
    composer = _compile(ctx, delivery, findings)
    tally = _Tally()
    if composer is not None and not _blocking(findings):
        try:
            tally = _build_target(ctx, delivery, composer)
        except PreparationStopped:
            return _stopped(ctx, delivery_id)
        findings += _target_findings(tally)
    return _conclude(ctx, delivery, findings, tally)


def stop_preparation(ctx: Context, user: User, delivery_id: int) -> None:
    authorize(user, Action.PREPARE_DELIVERY)
    with ctx.db.write() as conn:
        delivery_store.move_delivery(conn, delivery_id, DeliveryState.DRAFT, ctx.clock.now())


def _begin(ctx: Context, delivery_id: int) -> RowMapping:
    with ctx.db.write() as conn:
        return delivery_store.move_delivery(
            conn, delivery_id, DeliveryState.PREPARING, ctx.clock.now(), preparation_log=None
        )


def _control_rules(delivery: RowMapping) -> list[Finding]:
    html, text = delivery["html_template"], delivery["text_template"]
    return [
        *check_headers(delivery["subject"], delivery["from_addr"], delivery["reply_to"]),
        *check_content(html, text),
        *check_unsubscribe_link(html, text),
    ]


def _compile(ctx: Context, delivery: RowMapping, findings: list[Finding]) -> Composer | None:
    content = DeliveryContent(
        delivery_id=delivery["id"],
        subject=delivery["subject"],
        from_addr=delivery["from_addr"],
        reply_to=delivery["reply_to"],
        html=delivery["html_template"],
        text=delivery["text_template"],
    )
    try:
        return Composer(content, ctx.signer, LinkTracker.from_context(ctx))
    except (RenderError, ValueError) as exc:
        findings.append(Finding("error", "template", str(exc)))
        return None


def _blocking(findings: list[Finding]) -> bool:
    return any(f.level == "error" for f in findings)


def _build_target(ctx: Context, delivery: RowMapping, composer: Composer) -> _Tally:
    """Walk the target in chunks: exclude, render, and queue one message per recipient."""
    delivery_id = delivery["id"]
    with ctx.db.write() as conn:
        delivery_store.clear_preparation(conn, delivery_id, ctx.clock.now())
    tally = _Tally()
    previous_key: str | None = None
    for chunk in iter_target(ctx.db, Target.from_json(delivery["target"])):
        _check_not_stopped(ctx, delivery_id)
        queued, excluded = [], []
        for row in chunk:
            reason, detail = _screen(row, previous_key, delivery["target_limit"], tally, composer)
            if reason not in BEFORE_DEDUPLICATION:
                previous_key = row.email_key
            if reason is None:
                tally.to_deliver += 1
                queued.append(
                    {"delivery_id": delivery_id, "profile_id": row.profile_id, "address": row.email}
                )
            else:
                tally.excluded[reason] += 1
                excluded.append(_exclusion(delivery_id, row, reason, detail, ctx))
        with ctx.db.write() as conn:
            message_store.insert_queued(conn, queued, ctx.clock.now())
            delivery_store.insert_exclusions(conn, excluded)
    return tally


def _screen(
    row: TargetRow, previous_key: str | None, limit: int | None, tally: _Tally, composer: Composer
) -> tuple[ExclusionReason | None, str | None]:
    reason = exclusion_for(row, previous_key)
    if reason is None and limit is not None and tally.to_deliver >= limit:
        reason = ExclusionReason.TARGET_LIMIT
    if reason is not None:
        return reason, None
    assert row.email is not None
    try:
        rendered = composer.render(
            Recipient(0, row.email, row.first_name, row.last_name, row.attributes)
        )
    except (RenderError, ValueError) as exc:
        if len(tally.render_errors) < _MAX_EXAMPLES:
            tally.render_errors.append(f"{row.email}: {exc}")
        return ExclusionReason.RENDER_ERROR, str(exc)
    for url in malformed_urls(rendered.html, rendered.text):
        if len(tally.bad_urls) < _MAX_EXAMPLES and url not in tally.bad_urls:
            tally.bad_urls.append(url)
    return None, None


def _exclusion(
    delivery_id: int, row: TargetRow, reason: ExclusionReason, detail: str | None, ctx: Context
) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "profile_id": row.profile_id,
        "address": row.email,
        "reason": reason,
        "detail": detail,
        "created_at": ctx.clock.now(),
    }


def _check_not_stopped(ctx: Context, delivery_id: int) -> None:
    with ctx.db.read() as conn:
        state = delivery_store.get_delivery(conn, delivery_id)["state"]
    if state != DeliveryState.PREPARING:
        raise PreparationStopped


def _target_findings(tally: _Tally) -> list[Finding]:
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


def _conclude(
    ctx: Context, delivery: RowMapping, findings: list[Finding], tally: _Tally
) -> PreparationResult:
    delivery_id, now = delivery["id"], ctx.clock.now()
    log = [f.to_json() for f in findings]
    with ctx.db.write() as conn:
        if _blocking(findings):
            delivery_store.clear_preparation(conn, delivery_id, now)
            row = delivery_store.move_delivery(
                conn, delivery_id, DeliveryState.DRAFT, now, preparation_log=log
            )
        else:
            counter_store.set_prepared_counts(
                conn, delivery_id, tally.to_deliver, sum(tally.excluded.values()), now
            )
            row = delivery_store.move_delivery(
                conn,
                delivery_id,
                DeliveryState.READY,
                now,
                preparation_log=log,
                prepared_version=delivery["version"],
            )
            if ctx.settings.approval_required:
                row = delivery_store.move_delivery(
                    conn, delivery_id, DeliveryState.PENDING_APPROVAL, now
                )
    return PreparationResult(
        delivery_id, DeliveryState(row["state"]), tally.to_deliver, dict(tally.excluded), findings
    )


def _stopped(ctx: Context, delivery_id: int) -> PreparationResult:
    with ctx.db.write() as conn:
        delivery_store.clear_preparation(conn, delivery_id, ctx.clock.now())
    findings = [Finding("warning", "stopped", "the preparation was stopped")]
    return PreparationResult(delivery_id, DeliveryState.DRAFT, 0, {}, findings)
