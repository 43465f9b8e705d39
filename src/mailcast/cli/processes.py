"""Long-running processes: send workers, the sandbox MTA, the demo."""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mailcast.cli._shared import context, err, out
from mailcast.domain import FeedbackMode
from mailcast.send.engine import SendEngine


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("sandbox")(sandbox)
    app.command("demo")(demo)


def worker(
    until_idle: Annotated[bool, typer.Option(help="Exit once nothing is left to send.")] = False,
) -> None:
    """Run a send worker (any number may run against one PostgreSQL database).

    SIGTERM or Ctrl-C stops it cleanly: the messages being handed over finish and are
    recorded, the others go back to the queue at once. A second signal ends it outright.
    """
    engine = SendEngine(context())
    with suppress(KeyboardInterrupt):  # the second Ctrl-C: no traceback
        asyncio.run(_run_until_signalled(engine, until_idle))
    out.print(f"relayed {engine.stats.relayed:,}, refused {engine.stats.refused:,}")


async def _run_until_signalled(engine: SendEngine, until_idle: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def stopping() -> None:
        stop.set()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)  # the next signal acts as it would by default

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping)
    await engine.run(until_idle=until_idle, stop=stop)


def sandbox(
    host: str = "127.0.0.1",
    port: int = 2525,
    play: Annotated[
        bool, typer.Option(help="Play outcomes back as DSNs to the bounce receiver.")
    ] = True,
    time_scale: Annotated[
        float | None, typer.Option(help="Play the DSN delays this many times faster.")
    ] = None,
) -> None:
    """Run the built-in sandbox MTA on loopback (rules and delays: `sandbox` settings)."""
    from mailcast.config import Settings
    from mailcast.sandbox.mta import run_sandbox

    settings = Settings()
    if time_scale is not None:
        settings.sandbox.time_scale = time_scale
    run_sandbox(host, port, settings=settings if play else None)


def demo(
    exit_: Annotated[
        bool,
        typer.Option(
            "--exit",
            envvar="MAILCAST_DEMO_EXIT",
            help="End when the delivery is finished, instead of serving the dashboard on.",
        ),
    ] = False,
    mode: Annotated[FeedbackMode, typer.Option(help="Feedback mode.")] = FeedbackMode.LEGACY,
    profiles: Annotated[int, typer.Option(help="Size of the sample audience.")] = 1000,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second once sent.", min=1)
    ] = 3000.0,
    validity_hours: Annotated[
        float, typer.Option(help="The delivery's validity period.", min=0.5)
    ] = 8.0,
    data: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="Folder for the demo's database, kept afterwards (default: a new temporary one).",
        ),
    ] = None,
) -> None:
    """Show a delivery's whole lifecycle on embedded defaults (SQLite, sandbox MTA, DSNs),
    then keep the dashboard, the API and tracking served on its data until Ctrl-C."""
    from mailcast.demo import run_demo

    result = run_demo(
        out,
        exit_when_finished=exit_,
        mode=mode,
        profiles=profiles,
        speed=speed,
        validity_hours=validity_hours,
        workdir=_fresh_folder(data) if data is not None else None,
    )
    if not result.ok:
        raise typer.Exit(1)


def _fresh_folder(folder: Path) -> Path:
    """The folder, made if need be; one that holds a database already ends the command."""
    if (folder / "mailcast.db").exists():
        err.print(
            f"[red]error:[/red] {escape(str(folder))} holds a database already: "
            "give another folder, or remove its mailcast.db",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from exc
    return folder
