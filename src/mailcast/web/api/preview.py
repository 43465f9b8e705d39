"""The preview of a delivery's message, rendered for one profile or for a sample of its target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import RowMapping

from mailcast.audience.target import Target, TargetRow, iter_target
from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.templates import RenderError
from mailcast.context import Context
from mailcast.store import deliveries as delivery_store
from mailcast.store import history as history_store
from mailcast.store.deliveries import NotFound
from mailcast.tracking.links import LinkTracker
from mailcast.web.api.models import Address, PreviewOut
from mailcast.web.api.types import Ctx, PathId
from mailcast.web.auth import LogReader

router = APIRouter(tags=["deliveries"])


@router.get(
    "/deliveries/{delivery_id}/preview",
    summary="Render the message for one profile, or for the first profile of the target",
    description="Links show as the author wrote them; nothing is tracked or sent.",
)
def preview(
    ctx: Ctx,
    _user: LogReader,
    delivery_id: PathId,
    email: Annotated[Address | None, Query(description="Whose profile fills the message.")] = None,
) -> PreviewOut:
    return render_preview(ctx, delivery_id, email)


def render_preview(ctx: Context, delivery_id: int, email: str | None = None) -> PreviewOut:
    """Subject, HTML and text as `email`'s profile (or a sample recipient) would get them."""
    with ctx.db.read() as conn:
        delivery = delivery_store.get_delivery(conn, delivery_id)
    return render_content(ctx, delivery, Target.from_json(delivery["target"]), email, delivery_id)


def render_content(
    ctx: Context,
    content: Mapping[Any, Any],
    target: Target | None,
    email: str | None = None,
    delivery_id: int = 0,
) -> PreviewOut:
    """Render content with a delivery row's columns, saved or not (the dashboard's editor).

    The sample recipient is `email`'s profile, else the first of `target` (None: nobody).
    """
    with ctx.db.read() as conn:
        profile = history_store.profile_by_address(conn, email) if email else None
    if email and profile is None:
        raise NotFound(f"no profile has the address {email!r}")
    if profile is not None:
        recipient = _recipient_of(profile)
    else:
        recipient = _recipient(_sample(ctx, target) if target is not None else None)
    content_of = DeliveryContent.of_delivery(content, delivery_id)
    try:
        composer = Composer(
            content_of, ctx.signer, LinkTracker.from_context(ctx), ctx.settings.templates
        )
        rendered = composer.render(recipient)
    except ValueError as exc:  # a RenderError, or a header value refused while composing
        raise RenderError(str(exc)) from exc
    return PreviewOut(
        address=recipient.address or None,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
    )


def _sample(ctx: Context, target: Target) -> TargetRow | None:
    """The first profile of the target that has an address; None when there is none."""
    for chunk in iter_target(ctx.db, target, chunk=50):
        for row in chunk:
            if row.email:
                return row
    return None


def _recipient(row: TargetRow | None) -> Recipient:
    if row is None:
        return Recipient(0, "", None, None, {})
    return Recipient(0, row.email or "", row.first_name, row.last_name, row.attributes)


def _recipient_of(profile: RowMapping) -> Recipient:
    return Recipient(
        0,
        profile["email"] or "",
        profile["first_name"],
        profile["last_name"],
        dict(profile["attributes"] or {}),
    )
