"""Feedback commands: read bounce, complaint and auto-reply files the way the receiver would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mailcast.cli._shared import err, out
from mailcast.feedback.parse import FileReport, parse_files

feedback_app = typer.Typer(
    help="Feedback messages: bounces (DSN), complaints (ARF), auto-replies.",
    no_args_is_help=True,
)

_DIAGNOSTIC_WIDTH = 60


@feedback_app.command("parse")
def feedback_parse(
    files: Annotated[list[Path], typer.Argument(help="Raw messages (.eml), one per file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per file and line.")
    ] = False,
) -> None:
    """Parse feedback messages and show each recipient's outcome and reason.

    Every file gets its line, in order; a file that cannot be read is reported as kind
    "unknown", its error goes to stderr, the others are still parsed, and the exit code is 1.
    """
    unreadable = 0
    table = _table()
    for item in parse_files(files):
        if item.error:
            unreadable += 1
            err.print(
                f"[red]error:[/red] {escape(item.file)}: {escape(item.error)}",
                highlight=False,
                soft_wrap=True,
            )
        if as_json:
            typer.echo(json.dumps(item.as_dict(), ensure_ascii=False))
        else:
            _add_rows(table, item)
    if not as_json:
        out.print(table)
    if unreadable:
        raise typer.Exit(1)


def _table() -> Table:
    table = Table()
    table.add_column("file", overflow="fold")
    table.add_column("kind", no_wrap=True)
    table.add_column("address", overflow="fold")
    for title in ("action", "status", "reason", "failure"):
        table.add_column(title, no_wrap=True)
    table.add_column("diagnostic", max_width=_DIAGNOSTIC_WIDTH, no_wrap=True, overflow="ellipsis")
    return table


def _add_rows(table: Table, item: FileReport) -> None:
    """One row per recipient; a file with none still gets a row naming its kind."""
    name = Path(item.file).name
    recipients = item.report.recipients
    if not recipients:
        table.add_row(name, item.report.kind, "-", "-", "-", "-", "-", item.error)
        return
    for recipient in recipients:
        fields = recipient.as_dict()
        failure = " ".join(filter(None, (fields["failure_type"], fields["failure_reason"])))
        table.add_row(
            name,
            item.report.kind,
            *(fields[key] or "-" for key in ("address", "action", "status", "reason")),
            failure or "-",
            _short(fields["diagnostic"] or ""),
        )


def _short(text: str) -> str:
    return text if len(text) <= _DIAGNOSTIC_WIDTH else text[: _DIAGNOSTIC_WIDTH - 1] + "…"
