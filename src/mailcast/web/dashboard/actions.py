"""The delivery page's buttons: where each is offered, the role it needs, the service it calls.

The service functions make the role check themselves (the same refusal as the API's and the
CLI's); the role named here only greys out a button for a user who lacks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import FormData

from mailcast.context import Context
from mailcast.deliveries.copies import duplicate_delivery
from mailcast.deliveries.schedule import cancel_schedule
from mailcast.deliveries.service import (
    approve_delivery,
    confirm_send,
    pause_delivery,
    resume_delivery,
    stop_delivery,
)
from mailcast.domain import Action, DeliveryState
from mailcast.prepare.preparation import prepare_delivery
from mailcast.recurring.service import confirm_occurrence
from mailcast.stats.compute import compute_stats
from mailcast.store.deliveries import get_delivery
from mailcast.users.service import User, authorize

S = DeliveryState
# Runs the action; returns the delivery to show next when it is another one (a copy).
Run = Callable[[Context, User, int, FormData], int | None]


@dataclass(frozen=True)
class Button:
    label: str
    action: Action  # whose role the button needs (greyed out without it)
    states: frozenset[DeliveryState]  # where it is offered
    run: Run
    done: str  # what the page says once it is done
    dialog: bool = False  # asked in an OK / Cancel dialog: nothing is posted before OK


def _plain(service: Callable[[Context, User, int], object]) -> Run:
    def run(ctx: Context, user: User, delivery_id: int, _form: FormData) -> None:
        service(ctx, user, delivery_id)

    return run


def _confirm(ctx: Context, user: User, delivery_id: int) -> None:
    """An occurrence of a recurring delivery is confirmed as the recurring page does it (its
    validity is the recurring delivery's); any other delivery by `confirm_send`."""
    with ctx.db.read() as conn:
        recurring_id = get_delivery(conn, delivery_id)["recurring_id"]
    if recurring_id is not None:
        confirm_occurrence(ctx, user, delivery_id)
    else:
        confirm_send(ctx, user, delivery_id)


def _reject(ctx: Context, user: User, delivery_id: int) -> None:
    approve_delivery(ctx, user, delivery_id, approve=False)


def _compute_stats(ctx: Context, user: User, delivery_id: int) -> None:
    authorize(user, Action.READ_LOGS)  # a recount from the logs: who may read them may ask
    compute_stats(ctx, delivery_id)


def _duplicate(ctx: Context, user: User, delivery_id: int, form: FormData) -> int:
    leave_out = form.get("leave_out_delivered") == "yes"
    return duplicate_delivery(ctx, user, delivery_id, leave_out_delivered=leave_out)


_AFTER_CONFIRM = frozenset(
    {S.SCHEDULED, S.SENDING, S.PAUSED, S.SENT, S.FINISHED, S.STOPPED, S.ERROR}
)

BUTTONS: dict[str, Button] = {
    "prepare": Button(
        "Prepare",
        Action.PREPARE_DELIVERY,
        frozenset({S.DRAFT, S.READY}),
        _plain(prepare_delivery),
        "Preparation finished: its log is below.",
    ),
    "approve": Button(
        "Approve",
        Action.APPROVE_DELIVERY,
        frozenset({S.PENDING_APPROVAL}),
        _plain(approve_delivery),
        "Approved: the delivery can be confirmed.",
    ),
    "reject": Button(
        "Reject",
        Action.APPROVE_DELIVERY,
        frozenset({S.PENDING_APPROVAL}),
        _plain(_reject),
        "Rejected: the delivery is back in draft.",
    ),
    "confirm": Button(
        "Confirm send",
        Action.CONFIRM_SEND,
        frozenset({S.READY, S.APPROVED}),
        _plain(_confirm),
        "Send confirmed.",
        dialog=True,
    ),
    "confirm-occurrence": Button(
        "Confirm send",
        Action.CONFIRM_OCCURRENCE,
        frozenset({S.PENDING_CONFIRMATION}),
        _plain(confirm_occurrence),
        "Occurrence confirmed: sending.",
        dialog=True,
    ),
    "cancel-schedule": Button(
        "Cancel schedule",
        Action.CANCEL_SCHEDULE,
        frozenset({S.SCHEDULED}),
        _plain(cancel_schedule),
        "Schedule cancelled: the delivery is back in draft; prepare it again to send it.",
    ),
    "pause": Button(
        "Pause",
        Action.PAUSE,
        frozenset({S.SENDING}),
        _plain(pause_delivery),
        "Paused: the remaining messages stay queued.",
    ),
    "resume": Button(
        "Resume",
        Action.RESUME,
        frozenset({S.PAUSED}),
        _plain(resume_delivery),
        "Resumed: nothing already handed over is sent again.",
    ),
    "stop": Button(
        "Stop",
        Action.STOP,
        frozenset({S.SENDING, S.PAUSED}),
        _plain(stop_delivery),
        "Stopped: the messages not handed over yet will never be sent.",
        dialog=True,
    ),
    "compute-stats": Button(
        "Compute stats",
        Action.READ_LOGS,
        _AFTER_CONFIRM,
        _plain(_compute_stats),
        "Stats computed again from the sending logs.",
    ),
    "duplicate": Button(
        "Duplicate",
        Action.DUPLICATE_DELIVERY,
        frozenset(DeliveryState),
        _duplicate,
        "Duplicated: this is the copy, a draft without send date; prepare it to send it.",
        dialog=True,
    ),
}
