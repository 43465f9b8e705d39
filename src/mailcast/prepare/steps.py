"""The steps that preparing and appending share: control rules, compiling, queueing the target."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping

from mailcast.audience.target import Target, TargetRow, iter_target
from mailcast.compose.composer import Composer, DeliveryContent
from mailcast.compose.templates import RenderError, TemplateLimitError
from mailcast.context import Context
from mailcast.deliveries.relays import relays_for
from mailcast.domain import DeliveryState, ExclusionReason
from mailcast.prepare.rules import (
    Finding,
    check_content,
    check_headers,
    check_proof_target,
    check_unsubscribe_link,
)
from mailcast.prepare.screening import Screening, Tally
from mailcast.prepare.typology import Typology
from mailcast.store import counters as counter_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store.preparation import HELD
from mailcast.tracking.links import LinkTracker


class PreparationStopped(Exception):
    """Someone stopped the preparation (or the delivery) while it ran."""


@dataclass(frozen=True)
class PreparationResult:
    delivery_id: int
    state: DeliveryState
    to_deliver: int
    exclusions: dict[ExclusionReason, int]
    findings: list[Finding]

    @property
    def blocked(self) -> bool:
        return blocking(self.findings)


def blocking(findings: list[Finding]) -> bool:
    return any(f.level == "error" for f in findings)


def control_rules(ctx: Context, delivery: RowMapping) -> list[Finding]:
    html, text = delivery["html_template"], delivery["text_template"]
    required = ctx.settings.typology.unsubscribe_link_required
    return [
        *check_headers(delivery["subject"], delivery["from_addr"], delivery["reply_to"]),
        *check_content(html, text),
        *check_unsubscribe_link(html, text, required=required),
        *check_proof_target(delivery["proof_addresses"] or [], ctx.settings.max_proof_addresses),
    ]


def compile_content(ctx: Context, delivery: RowMapping, findings: list[Finding]) -> Composer | None:
    """The delivery's composer, or None with the template's error added to the findings."""
    content = DeliveryContent.of_delivery(delivery)
    try:
        return Composer(
            content, ctx.signer, LinkTracker.from_context(ctx), ctx.settings.templates, ctx.dkim
        )
    except TemplateLimitError as exc:
        findings.append(Finding("error", "template_limit", str(exc)))
        return None
    except (RenderError, ValueError) as exc:
        findings.append(Finding("error", "template", str(exc)))
        return None


def queue_target(
    ctx: Context,
    delivery: RowMapping,
    composer: Composer,
    running: Collection[DeliveryState],
    *,
    hold: bool = False,
) -> Tally:
    """Walk the target in chunks: screen each recipient, then queue or exclude it.

    Each chunk is written with its figures in one transaction. Before each chunk the delivery
    must still be in a `running` state (PreparationStopped if not). A rule that stops the
    preparation (a template limit, a message too large) raises rules.Blocked. With `hold`, the
    queued messages wait until they are released (store/preparation.py).
    """
    delivery_id = delivery["id"]
    typology = Typology(ctx, delivery)
    relays = relays_for(ctx.settings, delivery["relays"]).values()
    # Queued only when every relay it may go through takes SMTPUTF8.
    smtputf8 = bool(relays) and all(relay.smtputf8 for relay in relays)
    screening = Screening(
        composer,
        delivery["target_limit"],
        typology,
        smtputf8=smtputf8,
        render_seconds=ctx.settings.templates.preparation_seconds,
        max_message_bytes=ctx.settings.send.max_message_bytes,
    )
    for chunk in iter_target(ctx.db, Target.from_json(delivery["target"])):
        _check_running(ctx, delivery_id, running)
        history = screening.typology.history(chunk)
        queued, excluded = [], []
        for row in chunk:
            reason, detail = screening.screen(row, history)
            if reason is None:
                queued.append(_message(delivery_id, row, hold))
            else:
                excluded.append(_exclusion(ctx, delivery_id, row, reason, detail))
        _write_chunk(ctx, delivery_id, queued, excluded)
    return screening.tally


def _check_running(ctx: Context, delivery_id: int, running: Collection[DeliveryState]) -> None:
    with ctx.db.read() as conn:
        state = delivery_store.get_delivery(conn, delivery_id)["state"]
    if state not in running:
        raise PreparationStopped


def _message(delivery_id: int, row: TargetRow, hold: bool) -> dict[str, Any]:
    message = {"delivery_id": delivery_id, "profile_id": row.profile_id, "address": row.email}
    return message | {"next_attempt_at": HELD} if hold else message


def _exclusion(
    ctx: Context,
    delivery_id: int,
    row: TargetRow,
    reason: ExclusionReason,
    detail: str | None,
) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "profile_id": row.profile_id,
        "address": row.email,
        "reason": reason,
        "detail": detail,
        "created_at": ctx.clock.now(),
    }


def _write_chunk(
    ctx: Context, delivery_id: int, queued: list[dict[str, Any]], excluded: list[dict[str, Any]]
) -> None:
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        message_store.insert_queued(conn, queued, now)
        delivery_store.insert_exclusions(conn, excluded)
        counter_store.add_prepared_counts(conn, delivery_id, len(queued), len(excluded), now)
