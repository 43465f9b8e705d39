"""Delivery commands: create, prepare, confirm, pause, stop, cancel, copy, delete, follow, stats."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from mailcast import console as render
from mailcast.audience.target import Target
from mailcast.cli._shared import Token, acting_user, context, out, service_errors
from mailcast.deliveries import service as deliveries
from mailcast.domain import DeliveryState, FeedbackMode
from mailcast.prepare.preparation import prepare_delivery
from mailcast.stats import render as stats_render
from mailcast.stats.compute import compute_stats
from mailcast.stats.deployment import deployment, display_states
from mailcast.stats.report import delivery_report
from mailcast.store import deliveries as delivery_store
from mailcast.users import service as users

deliveries_app = typer.Typer(
    help="Deliveries: create, prepare, confirm, watch.", no_args_is_help=True
)

DeliveryId = Annotated[int, typer.Argument(help="The delivery's id.")]


def _send_date(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date and time") from exc


@deliveries_app.command("create")
def deliveries_create(
    token: Token,
    name: Annotated[str, typer.Option()],
    subject: Annotated[str, typer.Option()],
    from_addr: Annotated[str, typer.Option("--from")],
    lists: Annotated[list[str], typer.Option("--list", help="Target list; repeat for several.")],
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
    send_at: Annotated[
        str | None,
        typer.Option(
            help="Send date, ISO 8601 (2026-03-02T09:00); without an offset, in --timezone."
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone of the send date (Europe/Paris).")
    ] = None,
    track_opens: Annotated[
        bool, typer.Option("--track-opens/--no-track-opens", help="An open pixel in the HTML.")
    ] = True,
    track_clicks: Annotated[
        bool,
        typer.Option("--track-clicks/--no-track-clicks", help="Links through the click tracker."),
    ] = True,
    approval: Annotated[
        bool | None,
        typer.Option(
            "--approval/--no-approval",
            help="Approval after preparation. Default: as the settings' approval_required.",
        ),
    ] = None,
) -> None:
    """Create a delivery in draft; with a future send date, confirming it schedules it."""
    ctx = context()
    draft = deliveries.DeliveryDraft(
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
        send_at=_send_date(send_at),
        send_timezone=timezone,
        track_opens=track_opens,
        track_clicks=track_clicks,
        approval_required=approval,
    )
    with service_errors():
        delivery_id = deliveries.create_delivery(ctx, acting_user(ctx, token), draft)
    out.print(f"delivery {delivery_id} created (draft)")


@deliveries_app.command("prepare")
def deliveries_prepare(token: Token, delivery_id: DeliveryId) -> None:
    """Prepare a delivery: target, exclusions, rendering, control rules. Nothing is sent."""
    ctx = context()
    with service_errors():
        result = prepare_delivery(ctx, acting_user(ctx, token), delivery_id)
    for finding in result.findings:
        colour = "red" if finding.level == "error" else "yellow"
        out.print(f"[{colour}]{finding.level}[/{colour}] {finding.rule}: {finding.message}")
    out.print(render.exclusions_table(result.exclusions))
    out.print(f"state: {render.state_label(result.state)}; to deliver: {result.to_deliver:,}")
    if result.blocked:
        raise typer.Exit(1)


@deliveries_app.command("confirm")
def deliveries_confirm(
    token: Token,
    delivery_id: DeliveryId,
    yes: Annotated[bool, typer.Option("--yes", help="Skip the confirmation question.")] = False,
) -> None:
    """Confirm the send (role start_deliveries)."""
    ctx = context()
    user = acting_user(ctx, token)
    with service_errors():
        users.authorize(user, deliveries.Action.CONFIRM_SEND)
        d = deployment(ctx, delivery_id)
        if not yes:
            typer.confirm(f"Send «{d.name}» to {d.counts.to_deliver:,} recipients?", abort=True)
        state = deliveries.confirm_send(ctx, user, delivery_id)
    out.print(f"delivery {delivery_id}: {render.state_label(state)}")


def _simple_action(verb: str, action: str) -> None:
    def command(token: Token, delivery_id: DeliveryId) -> None:
        ctx = context()
        with service_errors():
            getattr(deliveries, f"{action}_delivery")(ctx, acting_user(ctx, token), delivery_id)
        out.print(f"delivery {delivery_id}: {verb}")

    command.__doc__ = f"{action.capitalize()} a delivery (role start_deliveries)."
    deliveries_app.command(action)(command)


_simple_action("paused", "pause")
_simple_action("resumed", "resume")
_simple_action("stopped", "stop")


@deliveries_app.command("cancel-schedule")
def deliveries_cancel_schedule(token: Token, delivery_id: DeliveryId) -> None:
    """Cancel a scheduled send: back to draft, to prepare again (role start_deliveries)."""
    ctx = context()
    with service_errors():
        deliveries.cancel_schedule(ctx, acting_user(ctx, token), delivery_id)
    out.print(
        f"delivery {delivery_id}: schedule cancelled, {render.state_label(DeliveryState.DRAFT)}"
    )


@deliveries_app.command("delete")
def deliveries_delete(token: Token, delivery_id: DeliveryId) -> None:
    """Delete a draft, its proofs and any earlier preparation (role prepare_deliveries)."""
    ctx = context()
    with service_errors():
        deliveries.delete_delivery(ctx, acting_user(ctx, token), delivery_id)
    out.print(f"delivery {delivery_id} deleted")


@deliveries_app.command("duplicate")
def deliveries_duplicate(
    token: Token,
    delivery_id: DeliveryId,
    leave_out_delivered: Annotated[
        bool,
        typer.Option(help="Leave out, at preparation, whom the original delivered to."),
    ] = False,
    name: Annotated[str | None, typer.Option(help="The copy's name.")] = None,
) -> None:
    """Copy a delivery, whatever its state, into a new draft without its schedule."""
    ctx = context()
    with service_errors():
        copy_id = deliveries.duplicate_delivery(
            ctx,
            acting_user(ctx, token),
            delivery_id,
            leave_out_delivered=leave_out_delivered,
            name=name,
        )
    out.print(f"delivery {copy_id} created (draft), a copy of delivery {delivery_id}")


@deliveries_app.command("status")
def deliveries_status(delivery_id: DeliveryId) -> None:
    """Print the Deployment block."""
    with service_errors():
        out.print(render.deployment_table(deployment(context(), delivery_id)))


@deliveries_app.command("watch")
def deliveries_watch(delivery_id: DeliveryId) -> None:
    """A progress bar until the send ends, then the Deployment block."""
    ctx = context()
    with service_errors():
        final = render.watch(out, lambda: deployment(ctx, delivery_id))
    out.print(render.deployment_table(final))


@deliveries_app.command("list")
def deliveries_list() -> None:
    """Deliveries with their states in colour, Stibee's words, names and send dates."""
    ctx = context()
    with ctx.db.read() as conn:
        rows = delivery_store.list_deliveries(conn)
    out.print(render.deliveries_table(rows, display_states(ctx, rows)))


@deliveries_app.command("compute-stats")
def deliveries_compute_stats(delivery_id: DeliveryId) -> None:
    """Recount every counter from the logs, print any drift, correct it, refresh the rates."""
    ctx = context()
    with service_errors():
        check = compute_stats(ctx, delivery_id)
    if check.drift:
        out.print(stats_render.drift_table(check))
        out.print(f"[yellow]{len(check.drift)} counter(s) corrected[/yellow]")
    else:
        out.print("no drift: every live counter equals the recount")
    out.print(f"open and click rates refreshed at {check.rates_refreshed_at:%Y-%m-%d %H:%M} UTC")


@deliveries_app.command("report")
def deliveries_report(
    delivery_id: DeliveryId,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The dynamic report, from the logs: counts, rates, hourly series, breakdowns."""
    with service_errors():
        report = delivery_report(context(), delivery_id)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    for table in stats_render.report_tables(report):
        out.print(table)
