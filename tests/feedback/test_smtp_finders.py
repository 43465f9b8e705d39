"""The SMTP step, reply code and status code found in free text (checked against sisimai's
smtp/command, smtp/reply and smtp/status finders with our own wordings)."""

from __future__ import annotations

import pytest

from mailcast.feedback import smtp

TALKING = "... while talking to mx.example.net.:\n"


@pytest.mark.parametrize(
    ("text", "step"),
    [
        ("SMTP error from remote mail server after initial connection: 554 go away", "CONN"),
        ("Connected to 192.0.2.1 but greeting failed.\nRemote host said: 421 busy", "CONN"),
        (TALKING + "<<< 554 mx.example.net ESMTP not accepting messages", "CONN"),
        ("SMTP error from remote mail server after EHLO out.example.com: 550 bad helo", "EHLO"),
        (TALKING + ">>> EHLO out.example.com\n<<< 554 5.7.1 Access denied", "EHLO"),
        ("said: 454 4.7.0 TLS not available (in reply to STARTTLS command)", "STARTTLS"),
        ("Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 no", "MAIL"),
        ("SMTP error from remote mail server after MAIL FROM:<a@example.com>: 550 no", "MAIL"),
        ("after pipelined MAIL FROM:<a@example.com> SIZE=1234: 550 5.7.1 sender blocked", "MAIL"),
        ("said: 550 5.1.1 User unknown (in reply to RCPT TO command)", "RCPT"),
        ("SMTP error from remote mail server after pipelined RCPT TO:<b@example.org>: 550", "RCPT"),
        ("<192.0.2.5> does not like recipient.\nRemote host said: 550 5.1.1 no user", "RCPT"),
        ("said: 554 5.7.1 Message rejected as spam (in reply to end of DATA command)", "DATA"),
        (
            "SMTP error from remote mail server after pipelined DATA: 554 no valid recipients",
            "DATA",
        ),
        ("said: 552 5.3.4 Message size exceeds fixed limit (in reply to BDAT command)", "DATA"),
        ("192.0.2.1 failed after I sent the message.\nRemote host said: 554 spam", "DATA"),
        # Two steps named: the one the reporting MTA says was answered wins over one the
        # reply names, whatever the order.
        ("said: 503 5.5.1 Error: need RCPT command (in reply to DATA command)", "DATA"),
        ("after MAIL FROM:<a@example.com>: 530 5.7.0 Must issue a STARTTLS command first", "MAIL"),
        ("said: 550 5.7.1 hostname unknown, DATA refused (in reply to RCPT TO command)", "RCPT"),
        ("after end of data: 550 5.1.1 recipient rejected after RCPT TO", "DATA"),
        ("554 5.7.1 Must issue a STARTTLS command first", "STARTTLS"),
        # A transcript: the command sent last before the failure reply was the one answered.
        (
            TALKING + ">>> MAIL From:<a@example.com> SIZE=20\n>>> RCPT To:<b@example.org>\n"
            "<<< 550 5.1.1 <b@example.org>... User unknown",
            "RCPT",
        ),
        (
            TALKING + ">>> MAIL From:<a@example.com>\n<<< 250 2.1.0 Sender ok\n"
            ">>> RCPT To:<b@example.org>\n<<< 550 5.1.1 User unknown\n>>> QUIT",
            "RCPT",
        ),
        (
            TALKING + ">>> MAIL From:<a@example.com>\n<<< 553 5.1.8 Domain of sender unknown\n"
            ">>> RCPT To:<b@example.org>\n<<< 503 5.0.0 Need MAIL before RCPT",
            "MAIL",
        ),
        # Nothing named: the words inside addresses and prose are not steps.
        ("Your message to DATA@EXAMPLE.COM could not be delivered", ""),
        ("we do not accept mail from your domain", ""),
        ("550 5.1.1 The email account that you tried to reach does not exist.", ""),
    ],
)
def test_command(text: str, step: str) -> None:
    assert smtp.command(text) == step


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("550-5.1.1 The email account does not exist.\n550 5.1.1 Please check", "550"),
        ("451 4.7.1 Greylisted, try again later\n550 5.1.1 User unknown", "550"),
        ("421 4.7.0 Try again later, closing connection. 554 5.7.1 rejected", "554"),
        ("450 4.2.0 <b@example.org>: Recipient address rejected: Greylisted", "450"),
        ("Diagnostic information: #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", "550"),
        ("<<< 250 2.1.0 Sender ok\n<<< 552 5.2.2 Mailbox full", "552"),
        ("Error 404: host not found; 550 5.1.2 bad destination", "550"),
        ("HTTP 403 Forbidden", ""),
        ("see ticket #550 for details", ""),
        ("Client host [192.0.2.250] blocked", ""),
        ("250 2.0.0 Ok: queued as 4Bx", "250"),
    ],
)
def test_best_reply(text: str, reply: str) -> None:
    assert smtp.best_reply(text) == reply


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("550-5.1.1 The email account does not exist.\n550 5.1.1 Please check", "5.1.1"),
        ("451 4.7.1 Greylisted, try again later\n550 5.1.1 User unknown", "5.1.1"),
        # X.0.0 beside a reply says less than a precise code of the same class further on.
        ("smtp; 550 5.0.0 <b@example.org>... 5.1.1 User unknown", "5.1.1"),
        ("smtp; 554 5.0.0 Service unavailable; 5.7.1 rejected by policy", "5.7.1"),
        ("554 5.0.0 Service unavailable", "5.0.0"),
        # A success in a transcript states no failure.
        (
            TALKING + "<<< 250 2.1.0 Sender ok\n>>> RCPT To:<b@example.org>\n<<< 550 5.1.1 no",
            "5.1.1",
        ),
        ("Mail server version 5.4.3 reported 550 5.1.1 user unknown", "5.1.1"),
        ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "5.7.1"),
        ("Client host [192.0.2.5] blocked: 554 5.7.1 Service unavailable", "5.7.1"),
    ],
)
def test_best_status(text: str, status: str) -> None:
    assert smtp.best_status(text, smtp.best_reply(text)) == status
