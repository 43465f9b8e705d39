"""The bytes a recipient receives: well-formed MIME, personalised, with no injected headers."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from conftest import Scenario
from mailcast.compose.composer import ComposedMessage, Composer, DeliveryContent, Recipient
from mailcast.compose.mime import HeaderInjectionError
from mailcast.compose.verp import EnvelopeSigner
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle

NOW = dt.datetime(2024, 5, 17, 9, 30, tzinfo=dt.UTC)
SIGNER = EnvelopeSigner("compose-test-secret", "bounces.example.com", "mid.example.com")


def _content(**fields: Any) -> DeliveryContent:
    values: dict[str, Any] = {
        "delivery_id": 12,
        "subject": "{{ first_name }}, les nouvelles de {{ attributes.city }} — été ☀",
        "from_addr": "Équipe Mailcast <news@example.com>",
        "reply_to": "Support <help@example.com>",
        "html": "<p>Hé {{ first_name }}, crème brûlée à {{ attributes.city }}</p>",
        "text": "Hé {{ first_name }},\ncrème brûlée à {{ attributes.city }}",
    } | fields
    return DeliveryContent(**values)


def _zoe(message_id: int = 501, **fields: Any) -> Recipient:
    values: dict[str, Any] = {
        "message_id": message_id,
        "address": "zoe@example.org",
        "first_name": "Zoë",
        "last_name": "Ünal",
        "attributes": {"city": "Łódź"},
    } | fields
    return Recipient(**values)


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _parts(message: EmailMessage) -> dict[str, str]:
    """Decoded body of each leaf part by content type, line ends as the author wrote them."""
    return {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in message.walk()
        if not part.is_multipart()
    }


def _compose(content: DeliveryContent, recipient: Recipient) -> ComposedMessage:
    return Composer(content, SIGNER).compose(recipient, NOW)


def test_the_message_is_multipart_alternative_with_personalised_text_and_html() -> None:
    composed = _compose(_content(), _zoe())
    message = _parse(composed.data)

    assert message.get_content_type() == "multipart/alternative"
    leaves = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in leaves] == ["text/plain", "text/html"]
    for part in leaves:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert _parts(message) == {
        "text/plain": "Hé Zoë,\ncrème brûlée à Łódź",
        "text/html": "<p>Hé Zoë, crème brûlée à Łódź</p>",
    }


def test_non_ascii_headers_travel_as_encoded_words_and_decode_to_the_personal_values() -> None:
    composed = _compose(_content(), _zoe())
    message = _parse(composed.data)

    assert composed.data.isascii()
    raw_subject = composed.data.split(b"\r\nSubject: ", 1)[1].split(b"\r\n", 1)[0]
    assert raw_subject.startswith(b"=?utf-8?")
    assert message["Subject"] == "Zoë, les nouvelles de Łódź — été ☀"
    assert message["From"].addresses[0].display_name == "Équipe Mailcast"
    assert message["From"].addresses[0].addr_spec == "news@example.com"
    assert message["Reply-To"].addresses[0].addr_spec == "help@example.com"
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zoë Ünal", "zoe@example.org")
    assert message["Date"].datetime == NOW
    assert message["MIME-Version"] == "1.0"


def test_every_line_keeps_within_the_smtp_limits_and_ends_in_crlf() -> None:
    long_html = "<p>{{ first_name }} " + "très long paragraphe " * 300 + "</p>"
    composed = _compose(_content(html=long_html), _zoe())

    lines = composed.data.split(b"\r\n")
    assert b"\n" not in composed.data.replace(b"\r\n", b"")
    assert b"\r" not in composed.data.replace(b"\r\n", b"")
    assert max(len(line) for line in lines) <= 78
    assert _parts(_parse(composed.data))["text/html"].startswith("<p>Zoë très long")


def test_profile_data_that_looks_like_mime_or_smtp_syntax_stays_inside_its_part() -> None:
    tricky = {"city": "x\n--=_mc_0\nContent-Type: text/evil\n.\nQUIT\n=41 "}
    composed = _compose(_content(subject="News"), _zoe(attributes=tricky))
    message = _parse(composed.data)

    parts = _parts(message)
    assert list(parts) == ["text/plain", "text/html"]
    assert parts["text/plain"] == f"Hé Zoë,\ncrème brûlée à {tricky['city']}"
    assert b"\r\n.\r\n" not in composed.data


@pytest.mark.parametrize(
    ("html", "text", "only"),
    [("", "Hi {{ first_name }}", "text/plain"), ("<b>{{ first_name }}</b>", "", "text/html")],
)
def test_a_delivery_with_one_body_sends_a_single_part(html: str, text: str, only: str) -> None:
    message = _parse(_compose(_content(html=html, text=text), _zoe()).data)

    assert message.get_content_type() == only
    assert "Zoë" in message.get_content()


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_a_profile_value_with_a_line_break_cannot_add_a_header_through_the_subject(
    line_break: str,
) -> None:
    composer = Composer(
        _content(subject="Hello {{ first_name }} from {{ attributes.city }}"), SIGNER
    )
    evil_name = _zoe(first_name=f"Zoë{line_break}Bcc: x@evil.example")
    evil_city = _zoe(attributes={"city": f"Łódź{line_break}Bcc: x@evil.example"})

    with pytest.raises(HeaderInjectionError, match="may not contain a line break"):
        composer.compose(evil_name, NOW)
    with pytest.raises(HeaderInjectionError, match="Subject header may not contain a line break"):
        composer.compose(evil_city, NOW)
    with pytest.raises(HeaderInjectionError, match="Subject header"):
        composer.render(evil_city)


def test_a_profile_name_with_a_line_break_cannot_add_a_header_through_to() -> None:
    evil = _zoe(last_name="Ünal\r\nBcc: x@evil.example")
    composer = Composer(_content(subject="Hello"), SIGNER)

    with pytest.raises(HeaderInjectionError, match="To header may not contain a line break"):
        composer.compose(evil, NOW)
    # Caught when the recipient is rendered, so preparation already leaves them out.
    with pytest.raises(HeaderInjectionError, match="To header"):
        composer.render(evil)


@pytest.mark.parametrize(
    "fields",
    [
        {"from_addr": "News <news@example.com>\r\nBcc: x@evil.example"},
        {"reply_to": "help@example.com\nBcc: x@evil.example"},
    ],
)
def test_delivery_headers_with_a_line_break_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(HeaderInjectionError, match="may not contain a line break"):
        Composer(_content(**fields), SIGNER)


def test_the_message_id_is_unique_per_message_and_stable_for_the_same_message() -> None:
    first = _compose(_content(), _zoe(501))
    again = Composer(_content(), SIGNER).compose(_zoe(501), NOW + dt.timedelta(hours=1))
    other = _compose(_content(), _zoe(502, address="ann@example.org"))

    assert first.message_id_header == again.message_id_header
    assert first.message_id_header != other.message_id_header
    assert _parse(first.data)["Message-ID"] == first.message_id_header
    assert first.message_id_header.startswith("<") and first.message_id_header.endswith(
        "@mid.example.com>"
    )
    many = {_compose(_content(), _zoe(n)).message_id_header for n in range(1, 301)}
    assert len(many) == 300


def test_what_the_relay_received_parses_back_to_the_personalised_message(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience(["zoe@example.org", "ann@example.org"])
    scenario.sending(
        subject="Bonjour {{ first_name }} — été ☀",
        text="Hé {{ first_name }}, unsubscribe: https://example.com/u",
    )
    send_until_idle(ctx)

    received = {r.recipients[0]: r for r in mta.received()}
    zoe = _parse(received["zoe@example.org"].data or b"")
    assert zoe["Subject"] == "Bonjour P0 — été ☀"
    assert _parts(zoe)["text/plain"] == "Hé P0, unsubscribe: https://example.com/u"
    message_ids = {_parse(r.data or b"")["Message-ID"] for r in received.values()}
    assert len(message_ids) == 2


@pytest.mark.parametrize(
    ("html", "encoding"),
    [
        ("<p>Hi {{ first_name }}</p>\n<p>plain ASCII, short lines</p>", "7bit"),
        ("<p>" + "x" * 1200 + "</p>", "quoted-printable"),  # a line past 998 characters
        ("<p>Hé {{ first_name }}</p>", "quoted-printable"),  # not ASCII
        ("<p>a=3D b</p>\r\n<p>.dot at a line start</p>", "7bit"),
    ],
)
def test_an_ascii_part_in_short_lines_goes_as_written_else_quoted_printable(
    html: str, encoding: str
) -> None:
    content = _content(subject="Hi", html=html, text="Hi {{ first_name }}")
    composed = _compose(content, _zoe(first_name="Zoe", attributes={}))
    message = _parse(composed.data)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/html"]
    assert part["Content-Transfer-Encoding"] == encoding
    expected = html.replace("{{ first_name }}", "Zoe").replace("\r\n", "\n")
    assert _parts(message)["text/html"] == expected
    assert all(len(line) <= 998 for line in composed.data.split(b"\r\n"))


def test_a_part_holding_the_boundary_goes_quoted_printable() -> None:
    composer = Composer(_content(subject="Hi", html="<p>{{ first_name }}</p>", text="x"), SIGNER)
    boundary = composer.skeleton._boundary.decode()
    composed = composer.compose(_zoe(first_name=f"--{boundary}", attributes={}), NOW)
    message = _parse(composed.data)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/html"]
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert _parts(message)["text/html"] == f"<p>--{boundary}</p>"
