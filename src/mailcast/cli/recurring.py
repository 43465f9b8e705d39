"""Recurring delivery commands: create, list, occurrences, confirm an occurrence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from mailcast import console as render
from mailcast.audience.target import Target
from mailcast.cli._shared import Token, acting_user, context, out, service_errors
from mailcast.deliveries.service import DeliveryDraft
from mailcast.domain import Action, Aggregation, FeedbackMode
from mailcast.recurring import service as recurring
from mailcast.stats.deployment import deployment
from mailcast.users import service as users

recurring_app = typer.Typer(
    help="Recurring deliveries: a template sent on a cron or RRULE recurrence.",
    no_args_is_help=True,
)


@recurring_app.command("create")
def recurring_create(
    token: Token,
    name: Annotated[str, typer.Argument(help="The recurring delivery's name.")],
    recurrence: Annotated[
        str, typer.Option(help="Cron ('0 9 * * MON-FRI') or RRULE ('FREQ=WEEKLY;BYDAY=MO;...').")
    ],
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Paris.")],
    subject: Annotated[str, typer.Option()],
    from_addr: Annotated[str, typer.Option("--from")],
    lists: Annotated[list[str], typer.Option("--list", help="Target list; repeat for several.")],
    aggregation: Annotated[
        Aggregation, typer.Option(help="Report each occurrence alone, or per period.")
    ] = Aggregation.NONE,
    no_confirm: Annotated[
        bool, typer.Option("--no-confirm", help="Send each occurrence without confirmation.")
    ] = False,
    filter_: Annotated[str | None, typer.Option("--filter", help="Attribute filter.")] = None,
    html_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    text_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    reply_to: Annotated[str | None, typer.Option()] = None,
    inline_css: Annotated[
        bool, typer.Option("--inline-css", help="Inline the HTML's <style> rules.")
    ] = False,
    mode: Annotated[FeedbackMode | None, typer.Option(help="Feedback mode.")] = None,
    relays: Annotated[
        list[str] | None,
        typer.Option("--relay", help="A relay it may use, by name; repeat. Default: all."),
    ] = None,
) -> None:
    """Create a recurring delivery; each occurrence creates and prepares a delivery."""
    ctx = context()
    template = DeliveryDraft(
        name=name,
        subject=subject,
        from_addr=from_addr,
        reply_to=reply_to,
        target=Target(tuple(lists), filter_),
        html=html_file.read_text("utf-8") if html_file else "",
        text=text_file.read_text("utf-8") if text_file else "",
        inline_css=inline_css,
        feedback_mode=mode,
        relays=relays or None,
    )
    spec = recurring.RecurringSpec(template, recurrence, timezone, aggregation, not no_confirm)
    with service_errors():
        recurring_id = recurring.create_recurring(ctx, acting_user(ctx, token), spec)
        created = recurring.get_recurring(ctx, recurring_id)
    first = _local(created.next_occurrence_at, created.timezone)
    out.print(f"recurring delivery {recurring_id} created; first occurrence {first}")


@recurring_app.command("list")
def recurring_list() -> None:
    """Recurring deliveries with their next occurrence."""
    table = Table("id", "name", "recurrence", "time zone", "aggregation", "confirm", "next")
    for r in recurring.list_recurring(context()):
        table.add_row(
            str(r.id),
            r.name,
            r.recurrence.replace("\n", " "),
            r.timezone,
            r.aggregation.value,
            "yes" if r.confirm_before_send else "no",
            _local(r.next_occurrence_at, r.timezone) if r.active else "[grey50]off[/grey50]",
        )
    out.print(table)


@recurring_app.command("occurrences")
def recurring_occurrences(
    recurring_id: Annotated[int, typer.Argument(help="The recurring delivery's id.")],
) -> None:
    """Every occurrence that came due and what became of it."""
    ctx = context()
    with service_errors():
        zone = recurring.get_recurring(ctx, recurring_id).timezone
        rows = recurring.occurrences_of(ctx, recurring_id)
    table = Table("due", "outcome", "delivery", "detail")
    for o in rows:
        delivery = str(o.delivery_id) if o.delivery_id is not None else ""
        table.add_row(_local(o.due_at, zone), o.outcome.value, delivery, o.detail or "")
    out.print(table)


@recurring_app.command("confirm")
def recurring_confirm(
    token: Token,
    delivery_id: Annotated[int, typer.Argument(help="The occurrence's delivery id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Skip the confirmation question.")] = False,
) -> None:
    """Confirm an occurrence waiting for confirmation (role start_deliveries)."""
    ctx = context()
    user = acting_user(ctx, token)
    with service_errors():
        users.authorize(user, Action.CONFIRM_OCCURRENCE)
        d = deployment(ctx, delivery_id)
        if not yes:
            typer.confirm(f"Send «{d.name}» to {d.counts.to_deliver:,} recipients?", abort=True)
        state = recurring.confirm_occurrence(ctx, user, delivery_id)
    out.print(f"delivery {delivery_id}: {render.state_label(state)}")


def _local(moment: dt.datetime | None, zone: str) -> str:
    if moment is None:
        return "none (the recurrence has ended)"
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M %Z}"
