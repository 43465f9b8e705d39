"""Proofs of a delivery: where they go, sending them, and the proofs sent so far."""

from __future__ import annotations

from fastapi import APIRouter

from mailcast.deliveries import proofs
from mailcast.web.api.models import ProofAddressesIn, ProofOut, ProofResultOut, ProofsIn
from mailcast.web.api.types import Ctx, PathId
from mailcast.web.auth import CurrentUser, LogReader

router = APIRouter(prefix="/deliveries/{delivery_id}", tags=["proofs"])


@router.get("/proofs", summary="The proofs sent for a delivery, with the relay's replies")
def list_proofs(ctx: Ctx, _user: LogReader, delivery_id: PathId) -> list[ProofOut]:
    return [ProofOut.model_validate(proof) for proof in proofs.list_proofs(ctx, delivery_id)]


@router.post(
    "/proofs",
    summary="Send proofs now: the message with '[PROOF] ' before its subject",
    description="To the addresses given, or to the delivery's proof addresses. Proofs never "
    "count in the KPIs.",
)
def send_proofs(
    ctx: Ctx, user: CurrentUser, delivery_id: PathId, body: ProofsIn | None = None
) -> list[ProofResultOut]:
    addresses = body.addresses if body is not None else None
    results = proofs.send_proofs(ctx, user, delivery_id, addresses)
    return [ProofResultOut.model_validate(result) for result in results]


@router.put(
    "/proof-addresses",
    summary="Set where the delivery's proofs go (at most 100 addresses)",
)
def set_proof_addresses(
    ctx: Ctx, user: CurrentUser, delivery_id: PathId, body: ProofAddressesIn
) -> list[str]:
    return proofs.set_proof_addresses(ctx, user, delivery_id, body.addresses)
