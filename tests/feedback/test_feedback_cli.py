"""`mailcast feedback parse FILE...`: a line per file, JSON or a table, whatever the files hold."""

from __future__ import annotations

import json
from pathlib import Path

from dsn_samples import arf_report, auto_reply, exim_notice, postfix_dsn
from typer.testing import CliRunner

from conftest import CORPUS, needs_corpus
from mailcast.cli import app

BOUNCES = CORPUS / "bounces"
RECIPIENT_KEYS = [
    "address",
    "action",
    "status",
    "reason",
    "failure_type",
    "failure_reason",
    "diagnostic",
]


def run(*args: str) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(app, ["feedback", "parse", *args])
    return result.exit_code, result.stdout.splitlines(), result.stderr


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def test_json_prints_one_object_per_file_in_order(tmp_path: Path) -> None:
    files = [
        write(tmp_path, "hard.eml", postfix_dsn("alice@example.org")),
        write(tmp_path, "full.eml", exim_notice("bob@example.org", "552 5.2.2 Mailbox full")),
        write(tmp_path, "arf.eml", arf_report("ivan@example.org")),
        write(tmp_path, "ooo.eml", auto_reply("judy@example.org")),
        write(tmp_path, "mail.eml", b"From: a@example.org\r\nSubject: hi\r\n\r\nHello\r\n"),
    ]
    code, lines, _ = run(*files, "--json")
    assert code == 0
    objects = [json.loads(line) for line in lines]
    assert [o["file"] for o in objects] == files
    assert [o["kind"] for o in objects] == ["dsn", "dsn", "arf", "autoreply", "not_bounce"]
    assert all(list(o) == ["file", "kind", "recipients"] for o in objects)
    hard = objects[0]["recipients"][0]
    assert list(hard) == RECIPIENT_KEYS
    assert hard == {
        "address": "alice@example.org",
        "action": "failed",
        "status": "5.1.1",
        "reason": "userunknown",
        "failure_type": "hard",
        "failure_reason": "user_unknown",
        "diagnostic": "550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown",
    }
    full = objects[1]["recipients"][0]
    assert (full["reason"], full["failure_type"], full["failure_reason"]) == (
        "mailboxfull",
        "soft",
        "mailbox_full",
    )
    assert objects[2]["recipients"][0]["failure_type"] == "ignored"
    assert objects[4]["recipients"] == []


def test_a_file_that_cannot_be_read_gets_its_line_and_the_rest_go_on(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.eml")
    good = write(tmp_path, "good.eml", postfix_dsn("alice@example.org"))
    code, lines, stderr = run(missing, str(tmp_path), good, "--json")
    objects = [json.loads(line) for line in lines]
    assert [(o["file"], o["kind"], o["recipients"]) for o in objects[:2]] == [
        (missing, "unknown", []),
        (str(tmp_path), "unknown", []),
    ]
    assert objects[2]["kind"] == "dsn"
    assert code == 1
    assert "missing.eml" in stderr and "No such file" in stderr


def test_a_file_that_cannot_be_parsed_is_unknown(tmp_path: Path) -> None:
    junk = write(tmp_path, "junk.eml", b"\xff\xfe\x00" * 1000)
    bounce_without_recipient = write(
        tmp_path,
        "vague.eml",
        b"From: MAILER-DAEMON@example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n",
    )
    code, lines, _ = run(junk, bounce_without_recipient, "--json")
    kinds = [json.loads(line)["kind"] for line in lines]
    assert code == 0
    assert kinds == ["not_bounce", "unknown"]


@needs_corpus
def test_the_real_corpus_through_the_command() -> None:
    files = sorted(str(p) for p in BOUNCES.glob("*.eml"))
    code, lines, _ = run(*files, "--json")
    assert code == 0
    objects = [json.loads(line) for line in lines]
    assert len(objects) == len(files)
    assert {o["kind"] for o in objects} == {"dsn", "arf", "autoreply"}


def test_without_json_a_table_names_each_file_and_recipient(tmp_path: Path) -> None:
    hard = write(tmp_path, "hard.eml", postfix_dsn("alice@example.org"))
    missing = str(tmp_path / "gone.eml")
    result = CliRunner().invoke(app, ["feedback", "parse", hard, missing], env={"COLUMNS": "200"})
    table = result.stdout
    assert "hard.eml" in table and "alice@example.org" in table
    assert "userunknown" in table and "hard user_unknown" in table
    assert "gone.eml" in table and "unknown" in table
    assert result.exit_code == 1
