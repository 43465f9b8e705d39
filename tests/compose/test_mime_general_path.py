"""The bytes built directly read as the `email` package's own message of the same content."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

import pytest

from mailcast.compose.mime import MessageSkeleton, encode_header, encode_mailbox

DATE = dt.datetime(2024, 5, 17, 9, 30, 12, 345678, tzinfo=dt.UTC)
MESSAGE_ID = "<12.501.0123456789ab@mid.example.com>"
UNSUBSCRIBE = (
    ("List-Unsubscribe", "<https://t.example.com/t/u/abc.k1.def>, <mailto:u+1-ab@example.com>"),
    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
)
LONG_LINE = "<p>" + "x" * 1200 + "</p>"
PARAGRAPHS = "<p>Lorem ipsum dolor sit amet, Reader7.</p>\n" * 40
CASES = {
    "ascii": (
        "Hello Reader7",
        "News <news@example.com>",
        "Reader7 Bench",
        "Hi Reader7",
        PARAGRAPHS,
    ),
    "non-ascii names": (
        "Zoë, les nouvelles de Łódź — été ☀",
        "Équipe Mailcast <news@example.com>",
        "Zoë Ünal",
        "Hé Zoë,\ncrème brûlée",
        "<p>Hé Zoë, crème brûlée</p>",
    ),
    "specials in names": (
        'Re: "quoted", (x) <y>',
        '"Doe, J." <j@example.com>',
        'O\'Brien, "Jr." \\ <x>',
        "text",
        "<b>html</b>",
    ),
    "long lines": ("ü" * 120, "news@example.com", "Łódź Wrocław Kraków", "t" * 1500, LONG_LINE),
    "html only": ("Hi", "news@example.com", "", "", PARAGRAPHS),
    "text only": ("Hi", "news@example.com", "Sam", "Hi Sam,\r\nread on.\r\n", ""),
    "line ends and dots": ("Hi", "news@example.com", "Sam", "a\r\n.\r\nb\rc \n", "x\r\n.\n=41"),
}


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _direct(subject: str, from_addr: str, to_name: str, text: str, html: str) -> bytes:
    skeleton = MessageSkeleton(
        from_addr, "Support <help@example.com>", has_html=bool(html), has_text=bool(text)
    )
    return skeleton.build(
        to_addr="zoe@example.org",
        to_name=to_name,
        subject=subject,
        text=text,
        html=html,
        message_id=MESSAGE_ID,
        date=DATE,
        extra_headers=UNSUBSCRIBE,
    )


def _general(subject: str, from_addr: str, to_name: str, text: str, html: str) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    display, address = parseaddr(from_addr)
    message["From"] = Address(display, addr_spec=address)
    message["Reply-To"] = "Support <help@example.com>"
    message["To"] = Address(to_name, addr_spec="zoe@example.org")
    message["Subject"] = subject
    message["Date"] = format_datetime(DATE.replace(microsecond=0))
    message["Message-ID"] = MESSAGE_ID
    message["MIME-Version"] = "1.0"
    for name, value in UNSUBSCRIBE:
        message[name] = value
    if text:
        message.set_content(text)
    if html and text:
        message.add_alternative(html, subtype="html")
    elif html:
        message.set_content(html, subtype="html")
    return message.as_bytes()


def _leaves(message: EmailMessage) -> list[tuple[str, str | None, str]]:
    """Each leaf part's type, charset and body (line ends as LF, no final line end)."""
    return [
        (part.get_content_type(), part.get_content_charset(), _body(part.get_content()))
        for part in message.walk()
        if not part.is_multipart()
    ]


def _body(content: str) -> str:
    return content.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_direct_bytes_read_as_the_email_packages_message(
    case: tuple[str, str, str, str, str],
) -> None:
    direct, general = _parse(_direct(*case)), _parse(_general(*case))

    assert direct.get_content_type() == general.get_content_type()
    for name in ("Subject", "Date", "Message-ID", "MIME-Version", *dict(UNSUBSCRIBE)):
        # Stripped: `email` folds a long List-Unsubscribe before its value, which unfolds
        # to a leading space.
        assert str(direct[name]).strip() == str(general[name]).strip(), name
    for name in ("From", "Reply-To", "To"):
        assert direct[name].addresses == general[name].addresses, name
    assert _leaves(direct) == _leaves(general)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_direct_bytes_keep_the_bodies_as_written_in_short_crlf_lines(
    case: tuple[str, str, str, str, str],
) -> None:
    data = _direct(*case)
    _, _, _, text, html = case

    assert data.isascii()
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    written = [_body(body) for body in (text, html) if body]
    assert [body for _, _, body in _leaves(_parse(data))] == written


# Values around the length where one encoded word no longer fits on the header's line.
NON_ASCII = [
    prefix + "é" * n
    for prefix in ("", "Hello ", "Re: a, b; (c) =?x?= _ ", "\t é ")
    for n in (1, 5, 10, 15, 20, 25, 30, 35, 40)
] + ["☀" * 20, "😀 " * 12, "a" * 60 + "ü", "ü" + "a" * 70]


@pytest.mark.parametrize("name", ["Subject", "To", "List-Unsubscribe", "X"])
def test_a_non_ascii_header_is_written_as_email_header_writes_it(name: str) -> None:
    for value in NON_ASCII:
        general = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
        assert encode_header(name, value) == f"{name}: {general}\r\n".encode(), value


@pytest.mark.parametrize(
    "display",
    ["", "Sam Lee", "O'Brien, Jr.", 'Say "hi"', "back\\slash", "a.b", "[x]", "Zoë Ünal"],
)
def test_a_mailbox_is_written_as_formataddr_writes_it(display: str) -> None:
    general = formataddr((display, "zoe@example.org"), charset="utf-8")
    assert encode_mailbox("To", display, "zoe@example.org") == f"To: {general}\r\n".encode()


def test_each_message_gets_the_date_it_was_composed_at() -> None:
    skeleton = MessageSkeleton("news@example.com", None, has_html=False, has_text=True)

    def date_of(date: dt.datetime) -> dt.datetime:
        data = skeleton.build(
            to_addr="a@example.org",
            to_name="",
            subject="Hi",
            text="x",
            html="",
            message_id=MESSAGE_ID,
            date=date,
        )
        return _parse(data)["Date"].datetime

    later = DATE + dt.timedelta(seconds=1)
    paris = dt.timezone(dt.timedelta(hours=2))
    for date in (DATE, DATE, later, DATE, later.astimezone(paris), DATE):
        assert date_of(date) == date.replace(microsecond=0)
