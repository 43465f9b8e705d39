"""The parser over the real bounces of the shared corpus: accuracy, kinds, and no invention.

The labels (`labels.json`) are sisimai's expected values; the targets are a reason right for
at least 90% of labelled recipients and hard/soft right for at least 97%.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from message_text import message_text

from conftest import CORPUS, needs_corpus
from mailcast.feedback.parse import parse_report

BOUNCES = CORPUS / "bounces"
pytestmark = needs_corpus


def _labels() -> list[dict]:
    return json.loads((BOUNCES / "labels.json").read_text())


def test_accuracy_on_the_labelled_corpus_meets_the_targets() -> None:
    """Reason right for at least 90% of labelled recipients, hard/soft for at least 97%."""
    count = reason_right = hard_right = 0
    for sample in _labels():
        report = parse_report((BOUNCES / sample["file"]).read_bytes())
        for label in sample["recipients"]:
            index = int(label["index"]) - 1
            got = report.recipients[index] if index < len(report.recipients) else None
            count += 1
            reason_right += got is not None and got.reason == label["reason"]
            hard_right += got is not None and got.hard == bool(label["hard"])
    assert count >= 240
    assert reason_right / count >= 0.90
    assert hard_right / count >= 0.97


def _real_samples() -> list[Path]:
    return sorted(BOUNCES.glob("*.eml"))


def test_every_address_reported_is_written_in_the_message() -> None:
    for path in _real_samples():
        raw = path.read_bytes()
        text = message_text(raw)
        for recipient in parse_report(raw).recipients:
            assert recipient.address.lower() in text, (path.name, recipient.address)


def test_kinds_of_the_labelled_groups() -> None:
    kinds: dict[str, set[str]] = {}
    for sample in _labels():
        report = parse_report((BOUNCES / sample["file"]).read_bytes())
        kinds.setdefault(sample["group"].split("-")[0], set()).add(report.kind)
    assert kinds["arf"] == {"arf"}
    assert kinds["rfc3834"] == {"autoreply"}
    assert kinds["lhost"] == kinds["rhost"] == {"dsn"}


@pytest.mark.parametrize(
    "path", sorted((BOUNCES / "not-bounces").glob("is-not-bounce-*.eml")), ids=lambda p: p.name
)
def test_real_ordinary_mail_yields_no_recipient(path: Path) -> None:
    assert parse_report(path.read_bytes()).recipients == []


def test_a_home_made_notice_is_read_even_in_the_not_bounces_folder() -> None:
    # sisimai's issue 368: a provider's own wording, with no DSN part, is still a bounce.
    report = parse_report((BOUNCES / "not-bounces" / "rb-issue-368-bug.eml").read_bytes())
    got = report.recipients[0]
    assert (report.kind, got.address, got.reason) == ("dsn", "xxxx@yyyyyy.net", "mailboxfull")
