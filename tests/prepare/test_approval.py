"""Approval: when required, a delivery is confirmed only after its prepared version is approved."""

from __future__ import annotations

import pytest

from conftest import Scenario
from mailcast.context import Context
from mailcast.deliveries.service import (
    DeliveryError,
    approve_delivery,
    confirm_send,
    edit_delivery,
)
from mailcast.domain import DeliveryState, Role
from mailcast.prepare.preparation import prepare_delivery
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import PermissionDenied, User, add_user

S = DeliveryState


@pytest.fixture
def ada(ctx: Context) -> User:
    """Holds approve_deliveries only."""
    return add_user(ctx.db, "ada", [Role.APPROVE], None, ctx.clock)


@pytest.fixture
def pending(ctx: Context, scenario: Scenario) -> int:
    """A delivery prepared while approval is required: it waits for an approver."""
    ctx.settings.approval_required = True
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = scenario.delivery()
    result = prepare_delivery(ctx, scenario.author, delivery_id)
    assert (result.blocked, result.state) == (False, S.PENDING_APPROVAL)
    return delivery_id


def _row(ctx: Context, delivery_id: int) -> dict:
    with ctx.db.read() as conn:
        return dict(delivery_store.get_delivery(conn, delivery_id))


def _state(ctx: Context, delivery_id: int) -> DeliveryState:
    return deployment(ctx, delivery_id).state


def test_a_delivery_waiting_for_approval_cannot_be_confirmed(
    ctx: Context, sam: User, pending: int
) -> None:
    with pytest.raises(DeliveryError, match="cannot be confirmed before it is approved"):
        confirm_send(ctx, sam, pending)

    assert _state(ctx, pending) is S.PENDING_APPROVAL
    assert deployment(ctx, pending).counts.queued == 2


@pytest.mark.parametrize("who", ["marie", "sam"])
def test_only_an_approve_deliveries_user_may_approve_or_reject_and_the_role_is_named(
    ctx: Context, marie: User, sam: User, pending: int, who: str
) -> None:
    user = {"marie": marie, "sam": sam}[who]

    for approve in (True, False):
        with pytest.raises(PermissionDenied, match="the role 'approve_deliveries' is missing"):
            approve_delivery(ctx, user, pending, approve=approve)

    assert _state(ctx, pending) is S.PENDING_APPROVAL
    assert _row(ctx, pending)["approved_version"] is None


def test_once_approved_the_prepared_version_can_be_confirmed_by_a_start_deliveries_user(
    ctx: Context, sam: User, ada: User, pending: int
) -> None:
    approve_delivery(ctx, ada, pending)

    row = _row(ctx, pending)
    assert row["state"] == S.APPROVED
    assert (row["approved_version"], row["approved_by"]) == (row["version"], ada.id)
    # Approving is not starting: the approver may not confirm.
    with pytest.raises(PermissionDenied, match="'start_deliveries' is missing"):
        confirm_send(ctx, ada, pending)
    assert confirm_send(ctx, sam, pending) is S.SENDING
    assert _row(ctx, pending)["confirmed_by"] == sam.id


def test_any_edit_revokes_the_approval_and_the_new_version_needs_its_own(
    ctx: Context, marie: User, sam: User, ada: User, pending: int
) -> None:
    approve_delivery(ctx, ada, pending)

    edit_delivery(ctx, marie, pending, subject="Changed, {{ first_name }}")

    row = _row(ctx, pending)
    assert row["state"] == S.DRAFT
    assert (row["approved_version"], row["approved_by"]) == (None, None)
    with pytest.raises(DeliveryError):
        confirm_send(ctx, sam, pending)
    # Prepared again, it waits for approval again: the earlier approval does not carry over.
    assert prepare_delivery(ctx, marie, pending).state is S.PENDING_APPROVAL
    with pytest.raises(DeliveryError, match="before it is approved"):
        confirm_send(ctx, sam, pending)
    approve_delivery(ctx, ada, pending)
    assert _row(ctx, pending)["approved_version"] == row["version"]
    assert confirm_send(ctx, sam, pending) is S.SENDING


def test_a_rejected_delivery_goes_back_to_draft_and_must_be_prepared_again(
    ctx: Context, marie: User, sam: User, ada: User, pending: int
) -> None:
    approve_delivery(ctx, ada, pending, approve=False)

    shown = deployment(ctx, pending)
    assert shown.state is S.DRAFT
    # Like an edit: the preparation is forgotten, no message stays queued in a draft.
    assert (shown.counts.to_deliver, shown.counts.queued, shown.excluded) == (0, 0, 0)
    assert _row(ctx, pending)["prepared_version"] is None
    with pytest.raises(DeliveryError):
        confirm_send(ctx, sam, pending)
    assert prepare_delivery(ctx, marie, pending).state is S.PENDING_APPROVAL


def test_only_a_delivery_waiting_for_approval_can_be_approved(
    ctx: Context, scenario: Scenario, ada: User
) -> None:
    ctx.settings.approval_required = True
    scenario.audience(["a@example.com"])
    draft = scenario.delivery()

    with pytest.raises(DeliveryError, match="state 'draft' cannot be approved"):
        approve_delivery(ctx, ada, draft)

    assert _state(ctx, draft) is S.DRAFT


def test_without_the_setting_a_prepared_delivery_is_confirmed_without_approval(
    ctx: Context, scenario: Scenario, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.prepared()

    assert _state(ctx, delivery_id) is S.READY
    assert confirm_send(ctx, sam, delivery_id) is S.SENDING


@pytest.mark.parametrize(
    ("by_settings", "own", "expected"),
    [
        (False, True, S.PENDING_APPROVAL),
        (True, False, S.READY),
        (True, None, S.PENDING_APPROVAL),
        (False, None, S.READY),
    ],
)
def test_a_delivery_may_ask_for_approval_or_not_whatever_the_settings_say(
    ctx: Context,
    scenario: Scenario,
    by_settings: bool,
    own: bool | None,
    expected: DeliveryState,
) -> None:
    ctx.settings.approval_required = by_settings
    scenario.audience(["a@example.com"])
    delivery_id = scenario.delivery()
    edit_delivery(ctx, scenario.author, delivery_id, approval_required=own)

    assert prepare_delivery(ctx, scenario.author, delivery_id).state is expected
