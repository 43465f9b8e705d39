"""Tracking tokens: they name what they were signed for, survive key rotation, resist forgery."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from mailcast.clock import ManualClock
from mailcast.config import Settings, TrackingSettings
from mailcast.context import Context
from mailcast.store.db import Database
from mailcast.tracking.tokens import TokenKind, TokenSigner, TrackingToken

ISSUED = dt.datetime(2024, 5, 17, 9, 30, 12, tzinfo=dt.UTC)
OLD = ("k2024", "the old secret")
NEW = ("k2025", "the new secret")
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def _click(message_id: int = 42, url: str = "https://shop.example.com/a?b=1&c=2") -> TrackingToken:
    return TrackingToken(TokenKind.CLICK, message_id, ISSUED, 3, url)


@pytest.mark.parametrize("kind", list(TokenKind))
def test_a_token_verifies_to_exactly_what_was_signed(kind: TokenKind) -> None:
    signer = TokenSigner([NEW])
    token = (
        _click()
        if kind is TokenKind.CLICK
        else TrackingToken(kind, 987_654_321, ISSUED + dt.timedelta(microseconds=999))
    )

    verified = signer.verify(signer.sign(token))

    # Issued times are kept to the second: that is all an expiry check needs.
    assert verified == TrackingToken(token.kind, token.message_id, ISSUED, token.link, token.url)


def test_a_token_is_safe_in_a_url_path_as_it_is() -> None:
    signer = TokenSigner([NEW])
    text = signer.sign(_click(url="https://example.com/é?q=a b&x=<y>#frag"))

    assert set(text) <= set(TOKEN_ALPHABET)
    verified = signer.verify(text)
    assert verified is not None and verified.url == "https://example.com/é?q=a b&x=<y>#frag"


def test_after_rotation_old_tokens_still_verify_and_new_ones_use_the_new_key() -> None:
    before = TokenSigner([OLD])
    after = TokenSigner([NEW, OLD])
    old_token = before.sign(_click())

    assert after.verify(old_token) == before.verify(old_token) == _click()
    new_token = after.sign(_click())
    assert new_token.split(".")[1] == NEW[0]
    assert before.verify(new_token) is None  # the old deployment never knew the new key


def test_a_retired_or_unknown_key_id_fails() -> None:
    old_token = TokenSigner([OLD]).sign(_click())
    payload, _, signature = old_token.split(".")

    assert TokenSigner([NEW]).verify(old_token) is None
    assert TokenSigner([NEW, OLD]).verify(f"{payload}.k1999.{signature}") is None
    # Same key id, another secret: the signature gives it away.
    assert TokenSigner([(OLD[0], "a guessed secret")]).verify(old_token) is None


def test_any_one_character_change_of_a_token_fails() -> None:
    signer = TokenSigner([NEW, OLD])
    token = signer.sign(_click())
    assert signer.verify(token) is not None

    accepted = []
    for position, original in enumerate(token):
        for replacement in TOKEN_ALPHABET:
            if replacement == original:
                continue
            altered = token[:position] + replacement + token[position + 1 :]
            if signer.verify(altered) is not None:
                accepted.append(altered)
    assert accepted == []


def test_dropping_or_adding_characters_fails() -> None:
    signer = TokenSigner([NEW])
    token = signer.sign(_click())

    assert signer.verify(token[:-1]) is None
    assert signer.verify(token + "A") is None
    assert signer.verify("A" + token) is None


def _with_payload(token: str, fields: list[object]) -> str:
    """The token with another payload and its original key id and signature."""
    _, key_id, signature = token.split(".")
    raw = json.dumps(fields, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{payload}.{key_id}.{signature}"


def test_the_kind_is_signed_so_one_kind_cannot_be_used_as_another() -> None:
    signer = TokenSigner([NEW])
    issued = int(ISSUED.timestamp())
    pixel = signer.sign(TrackingToken(TokenKind.OPEN, 42, ISSUED))

    verified = signer.verify(pixel)
    assert verified is not None and verified.kind is TokenKind.OPEN
    # Re-labelling an open token as an unsubscribe or a click breaks the signature.
    assert signer.verify(_with_payload(pixel, ["u", 42, issued])) is None
    assert signer.verify(_with_payload(pixel, ["c", 42, issued, 1, "https://evil.example"])) is None
    assert signer.verify(_with_payload(pixel, ["o", 43, issued])) is None


def test_a_click_token_cannot_be_pointed_elsewhere() -> None:
    signer = TokenSigner([NEW])
    token = signer.sign(_click())
    issued = int(ISSUED.timestamp())

    forged = _with_payload(token, ["c", 42, issued, 3, "https://evil.example/"])

    assert signer.verify(forged) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "!!!.k2025.???",
        "e30.k2025.AAAA",
        "%00.k2025.x",
        "é.k.é",
        "e30.k2025.é",
    ],
)
def test_malformed_text_is_refused_without_an_error(text: str) -> None:
    assert TokenSigner([NEW]).verify(text) is None


@pytest.mark.parametrize("keys", [[], [("", "s")], [("a.b", "s")], [("a:b", "s")]])
def test_a_signer_needs_at_least_one_well_named_key(keys: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        TokenSigner(keys)


def test_rotation_is_configured_newest_key_first(db: Database, clock: ManualClock) -> None:
    settings = Settings(
        database_url="sqlite://",
        secret_key="test-secret",
        tracking=TrackingSettings(keys=["k2025:the new secret", "k2024:the old secret"]),
    )
    signer = Context(settings, db, clock).token_signer
    old_token = TokenSigner([OLD]).sign(_click())

    assert signer.verify(old_token) == _click()
    assert signer.sign(_click()).split(".")[1] == "k2025"


def test_without_configured_keys_a_key_is_derived_from_the_secret(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    first = Context(settings, db, clock).token_signer
    again = Context(settings, db, clock).token_signer
    other = Context(settings.model_copy(update={"secret_key": "another"}), db, clock).token_signer

    token = first.sign(_click())
    assert again.verify(token) == _click()
    assert other.verify(token) is None
