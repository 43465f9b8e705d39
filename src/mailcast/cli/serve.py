"""`mailcast serve`: the HTTP app, the bounce receiver, a send worker, the tick (and a sandbox)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from mailcast.cli._shared import context, err


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[str | None, typer.Option(help="HTTP host (default: web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default: web.port).")] = None,
    web: Annotated[bool, typer.Option(help="Run the HTTP app (API, webhooks).")] = True,
    bounces: Annotated[bool, typer.Option(help="Run the SMTP bounce receiver.")] = True,
    worker: Annotated[bool, typer.Option(help="Run a send worker.")] = True,
    scheduler: Annotated[bool, typer.Option(help="Run the scheduler's tick.")] = True,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Also run the sandbox MTA on the relay's host and port; it plays outcomes "
            "back as DSNs to the bounce receiver (`sandbox` settings), as in the demo.",
        ),
    ] = False,
) -> None:
    """Run mailcast in one process; on PostgreSQL, run as many as you like, each with any parts."""
    from mailcast.web.serve import Parts, Service

    ctx = context()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # aiosmtpd logs every SMTP command, addresses included: no operator's log, and no place
    # for recipients' addresses either.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    if host is not None:
        ctx.settings.web.host = host
    if port is not None:
        ctx.settings.web.port = port
    parts = Parts(web=web, bounces=bounces, worker=worker, scheduler=scheduler, sandbox=sandbox)
    service = Service(ctx, parts)
    try:
        asyncio.run(service.run(handle_signals=True))
    except (OSError, RuntimeError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
