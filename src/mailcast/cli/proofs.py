"""The proof command: `mailcast deliveries proof ID --to a@x --to b@y`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from mailcast.cli._shared import Token, acting_user, context, out, service_errors
from mailcast.cli.deliveries import DeliveryId, deliveries_app
from mailcast.deliveries.proofs import send_proofs


@deliveries_app.command("proof")
def deliveries_proof(
    token: Token,
    delivery_id: DeliveryId,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Proof address; repeat for several. Default: the delivery's."),
    ] = None,
) -> None:
    """Send the message with '[PROOF] ' before its subject to proof addresses (not counted)."""
    ctx = context()
    with service_errors():
        results = send_proofs(ctx, acting_user(ctx, token), delivery_id, to or None)
    for result in results:
        verdict = "[green]sent[/green]" if result.accepted else "[red]not sent[/red]"
        code = f"{result.smtp_code} " if result.smtp_code else ""
        out.print(f"{verdict} {escape(result.address)}: {escape(code + result.smtp_response)}")
    if not all(result.accepted for result in results):
        raise typer.Exit(1)
