"""A header read without decoding (no encoded word in it) reads as the decoding reads it."""

from __future__ import annotations

import contextlib
from email.header import decode_header, make_header
from email.message import Message

from hypothesis import given, settings
from hypothesis import strategies as st

from mailcast.feedback import mime

_ASCII = st.lists(
    st.sampled_from([*"abcXYZ019 <>@.\\\"'?=_-:;,()", "\r\n\t", "\t", "  "]), max_size=40
).map("".join)


def _decoded(text: str) -> str:
    with contextlib.suppress(Exception):
        text = str(make_header(decode_header(text)))
    return " ".join(text[: mime.MAX_HEADER].split())


@settings(max_examples=500, deadline=None)
@given(_ASCII)
def test_a_plain_header_reads_as_the_decoded_one(value: str) -> None:
    message = Message()
    message["Subject"] = value
    assert mime.header(message, "subject") == _decoded(value)


def test_encoded_words_are_still_decoded() -> None:
    message = Message()
    message["Subject"] = "=?utf-8?q?J=C3=B6rg?= =?iso-8859-1?q?M=FCller?="
    assert mime.header(message, "subject") == "JörgMüller"
