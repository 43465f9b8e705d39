"""Families read by their services' own layouts: Zoho Mail, MailMarshal, Verizon, qmail clones,
old Sendmail's bare verdicts; each detected, every recipient found, reason, hard/soft."""

from __future__ import annotations

import notices as n
import notices_gateways as g
import notices_more as m
import pytest
from reading import expected, family_and_outcomes

A, B, C = "alice@dest.example", "bob@dest.example", "carol@other.example"


@pytest.mark.parametrize("wording", range(2))
def test_zoho_lists_replies_and_its_own_unreachable_host(wording: int) -> None:
    failures = [
        n.unknown_at_rcpt(A, wording),
        m.own(B, "Host not reachable.", "expired"),
        n.mailbox_full(C),
    ]
    assert family_and_outcomes(g.zoho(failures)) == ("zoho", expected(failures))


@pytest.mark.parametrize(
    ("reply", "reason", "hard"),
    [
        ("550 5.1.1 User unknown", "userunknown", True),
        ("552 5.2.2 Mailbox full", "mailboxfull", False),
        ("554 5.7.1 Message rejected as spam by Content Filtering", "spamdetected", False),
    ],
)
def test_mailmarshal_gives_its_one_reason_to_every_recipient(
    reply: str, reason: str, hard: bool
) -> None:
    family, outcomes = family_and_outcomes(g.mailmarshal([A, B, C], reply))
    assert family == "mailmarshal"
    assert outcomes == [(A, reason, hard), (B, reason, hard), (C, reason, hard)]


@pytest.mark.parametrize("sms", [True, False])
def test_verizon_gateways_unknown_number(sms: bool) -> None:
    domain = "vtext.com" if sms else "vzwpix.com"
    assert family_and_outcomes(g.verizon("5551234567", sms=sms)) == (
        "verizon",
        [(f"5551234567@{domain}", "userunknown", True)],
    )


@pytest.mark.parametrize("opening", g.QMAIL_CLONE_OPENINGS)
def test_qmail_clones_are_read_as_qmail_whatever_their_opening(opening: str) -> None:
    failures = [n.unknown_at_rcpt(A, 1), n.sender_refused(B), n.unknown_after_data(C)]
    assert family_and_outcomes(g.qmail_clone(failures, opening)) == ("qmail", expected(failures))


def test_old_sendmail_verdicts_with_bare_addresses_name_every_recipient() -> None:
    raw = g.sendmail_v5_bare(
        [
            f"550 {A}... Host unknown (Name server: dest.example: host not found)",
            f"552 {B}... Mailbox full",
            f"550 <{C}>... Host unknown (Name server: other.example: host not found)",
        ]
    )
    assert family_and_outcomes(raw) == (
        "sendmail",
        [(A, "hostunknown", True), (B, "mailboxfull", False), (C, "hostunknown", True)],
    )


@pytest.mark.parametrize("before", [True, False])
def test_interscan_summary_lines_do_not_repeat_a_recipient_the_session_named(
    before: bool,
) -> None:
    failures = [n.unknown_at_rcpt(A, 1), n.mailbox_full(B)]
    summary = "".join(f"Unable to deliver message to <{f.address}>.\r\n" for f in failures)
    raw = m.trendmicro(failures).decode()
    head, _, tail = raw.partition("...\r\n") if before else raw.rpartition("...\r\n")
    raw = head + summary + tail
    assert family_and_outcomes(raw.encode()) == ("trendmicro", expected(failures))


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        (f"Routing: Could not find a gateway for {A}", "expired"),
        ("Diagnostic-Code: smtp; 552 5.2.2 Over quota", "mailboxfull"),
        (f"SMTP:RCPT host 192.0.2.8: 553 5.3.0 <{A}>... No such user here", "userunknown"),
    ],
)
def test_x3_reads_each_kind_of_technical_detail(detail: str, reason: str) -> None:
    family, outcomes = family_and_outcomes(g.x3_detail(A, detail))
    assert (family, [o[1] for o in outcomes]) == ("unknown_mta", [reason])
