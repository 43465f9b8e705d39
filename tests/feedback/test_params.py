"""Content-Type parameters read quickly give what the email package's own methods give."""

from __future__ import annotations

import email
from email.message import Message

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPUS, needs_corpus
from mailcast.feedback import params

VALUES = [
    "text/plain; charset=us-ascii",
    'text/plain; charset="UTF-8"',
    "text/plain; CHARSET = ISO-8859-1 ",
    "text/plain;charset=",
    "text/plain; charset",
    'text/plain; charset=""',
    "text/plain; charset=<utf-8>",
    "text/plain; charset=utf-8; charset=latin-1",
    "text/plain; charset=ütf-8",
    'multipart/report; report-type=delivery-status; boundary="abc; def"',
    'multipart/report; report-type="delivery-status";\r\n\tboundary="=_abc/def=?"',
    "multipart/mixed; boundary==_Part_1_2.3",
    'multipart/mixed; boundary="trailing space  "',
    'multipart/mixed; boundary="a"b"c"',
    'multipart/mixed; boundary="a\\"b"',
    "multipart/mixed; boundary*=us-ascii'en'abc%20def",
    "multipart/mixed; boundary*0=abc; boundary*1=def",
    "multipart/mixed (a comment); boundary=abc",
    'multipart/mixed; boundary="\r\n\tfolded"',
    "MULTIPART/Report; REPORT-TYPE=Delivery-Status; Boundary=X",
    "text/plain; charset*=utf-8''us-ascii",
    ";;;",
    "",
]


def _message(content_type: str | None) -> Message:
    message = Message()
    if content_type is not None:
        message["Content-Type"] = content_type
    return message


def _same(message: Message) -> None:
    for name in ("charset", "boundary", "report-type", "nothing"):
        assert params.param(message, name) == _email_param(message, name), name
    assert params.boundary(message) == message.get_boundary()
    assert params.charset(message) == message.get_content_charset()


def _email_param(message: Message, name: str) -> str | None:
    found = message.get_param(name)
    if isinstance(found, tuple):
        return email.utils.collapse_rfc2231_value(found)
    return found


@pytest.mark.parametrize("value", [*VALUES, None])
def test_parameters_as_the_email_package_reads_them(value: str | None) -> None:
    _same(_message(value))


# Pieces of parameter syntax and words, shuffled by hypothesis into any Content-Type value.
_SYNTAX = ["text/plain", ";", " ", "=", '"', "\\", "*", "(", ")", "\r\n\t", "<", ">", "ü"]
_WORDS = ["charset", "CharSet", "boundary", "report-type", "utf-8", "abc", "0", "'"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(_SYNTAX + _WORDS),
        max_size=14,
    )
)
def test_any_parameter_text_reads_as_the_email_package_reads_it(pieces: list[str]) -> None:
    _same(_message("".join(pieces)))


@needs_corpus
def test_every_part_of_the_corpus_reads_the_same() -> None:
    checked = 0
    for path in sorted((CORPUS / "bounces").glob("*.eml")):
        for part in email.message_from_bytes(path.read_bytes()).walk():
            _same(part)
            checked += 1
    assert checked > 500
