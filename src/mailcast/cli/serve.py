"""`mailcast serve`: the HTTP app and webhooks, the bounce receiver, a send worker, the tick."""

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
) -> None:
    """Run mailcast in one process; on PostgreSQL, run as many as you like, each with any parts."""
    from mailcast.web.serve import Parts, Service

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx = context()
    if host is not None:
        ctx.settings.web.host = host
    if port is not None:
        ctx.settings.web.port = port
    service = Service(ctx, Parts(web=web, bounces=bounces, worker=worker, scheduler=scheduler))
    try:
        asyncio.run(service.run(handle_signals=True))
    except (OSError, RuntimeError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
