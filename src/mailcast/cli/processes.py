"""Long-running processes: send workers, the sandbox MTA, the demo."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Annotated

import typer

from mailcast.cli._shared import context, out
from mailcast.domain import FeedbackMode
from mailcast.send.engine import SendEngine


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("sandbox")(sandbox)
    app.command("demo")(demo)


def worker(
    until_idle: Annotated[bool, typer.Option(help="Exit once nothing is left to send.")] = False,
) -> None:
    """Run a send worker (any number may run against one PostgreSQL database)."""
    engine = SendEngine(context())
    with suppress(KeyboardInterrupt):
        asyncio.run(engine.run(until_idle=until_idle))
    out.print(f"relayed {engine.stats.relayed:,}, refused {engine.stats.refused:,}")


def sandbox(
    host: str = "127.0.0.1",
    port: int = 2525,
) -> None:
    """Run the built-in sandbox MTA on loopback."""
    from mailcast.sandbox.mta import run_sandbox

    run_sandbox(host, port)


def demo(
    exit_: Annotated[bool, typer.Option("--exit", help="End when the send ends.")] = False,
    mode: Annotated[FeedbackMode, typer.Option(help="Feedback mode.")] = FeedbackMode.LEGACY,
    profiles: Annotated[int, typer.Option(help="Size of the sample audience.")] = 1000,
) -> None:
    """Show a delivery's whole lifecycle on embedded defaults (SQLite, sandbox MTA)."""
    from mailcast.demo import run_demo

    run_demo(out, exit_when_sent=exit_, mode=mode, profiles=profiles)
