"""What the delivery editor shows besides the form: lists, relays, preparation, proofs, roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, RowMapping

from mailcast.context import Context
from mailcast.deliveries.proofs import Proof, list_proofs
from mailcast.domain import (
    Action,
    DeliveryState,
    ExclusionReason,
    ShownState,
    missing_role,
    shown_state,
)
from mailcast.store import counters as counter_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import profiles as profile_store
from mailcast.users.service import User
from mailcast.web.dashboard.editor_form import EditorForm
from mailcast.web.dashboard.forms import zone_names

# The editor's buttons and the action whose role each needs (greyed out, saying so, without).
_BUTTONS = {
    "save": Action.EDIT_DELIVERY,
    "create": Action.CREATE_DELIVERY,
    "prepare": Action.PREPARE_DELIVERY,
    "proof": Action.SEND_PROOF,
    "delete": Action.DELETE_DELIVERY,
}


@dataclass(frozen=True)
class Preparation:
    """The last preparation: its findings (control rules) and who it left out, by reason."""

    findings: list[dict[str, str]]
    to_deliver: int
    exclusions: dict[ExclusionReason, int]

    @property
    def blocked(self) -> bool:
        return any(f.get("level") == "error" for f in self.findings)


@dataclass(frozen=True)
class EditorPage:
    delivery: RowMapping | None  # None: a new delivery
    lists: list[tuple[str, int]]  # every list and its size; a list the form names comes too
    relays: list[str]
    zones: tuple[str, ...]
    default_mode: str
    default_validity: float
    approval_required: bool
    tracking: dict[str, str]
    missing: dict[str, str]  # button -> the role the user lacks for it
    preparation: Preparation | None = None
    proofs: list[Proof] = field(default_factory=list)

    @property
    def shown(self) -> ShownState | None:
        """The delivery's state as every page shows it (colour, Stibee's word)."""
        return None if self.delivery is None else shown_state(DeliveryState(self.delivery["state"]))


def delivery_row(ctx: Context, delivery_id: int) -> RowMapping:
    with ctx.db.read() as conn:
        return delivery_store.get_delivery(conn, delivery_id)


def editor_page(ctx: Context, user: User, form: EditorForm, delivery_id: int | None) -> EditorPage:
    settings = ctx.settings
    with ctx.db.read() as conn:
        sizes = profile_store.list_sizes(conn)
        row = delivery_store.get_delivery(conn, delivery_id) if delivery_id else None
        preparation = _preparation(conn, row) if row is not None else None
    for name in form.lists:
        sizes.setdefault(name, 0)
    missing = {}
    for button, action in _BUTTONS.items():
        role = missing_role(user.roles, action)
        if role is not None:
            missing[button] = role.value
    return EditorPage(
        delivery=row,
        lists=sorted(sizes.items()),
        relays=sorted(settings.named_relays),
        zones=zone_names(),
        default_mode=settings.feedback_mode.value,
        default_validity=settings.validity_hours,
        approval_required=settings.approval_required,
        tracking={
            "Opens": f"a pixel at the {settings.tracking.pixel_position} of the HTML",
            "Clicks": "each http(s) link of the HTML, except those marked data-mailcast-notrack",
            "Machines": "left out of the rates (still in the log)"
            if settings.tracking.exclude_machine_events
            else "counted in the rates",
            "Links valid for": f"{settings.tracking.resource_validity_days:g} days",
        },
        missing=missing,
        preparation=preparation,
        proofs=list_proofs(ctx, delivery_id) if delivery_id else [],
    )


def _preparation(conn: Connection, row: RowMapping) -> Preparation | None:
    if row["preparation_log"] is None:
        return None
    counts = counter_store.read_counts(conn, row["id"])
    return Preparation(
        findings=list(row["preparation_log"]),
        to_deliver=counts.to_deliver,
        exclusions=delivery_store.exclusion_counts(conn, row["id"]),
    )
