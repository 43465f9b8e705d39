"""The envelope sender is a signed VERP address: ours verify, forged or altered ones do not."""

from __future__ import annotations

import datetime as dt

import pytest

from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.verp import EnvelopeSigner

SECRET = "verp-test-secret"
DOMAIN = "bounces.example.com"
SIGNER = EnvelopeSigner(SECRET, DOMAIN, "mid.example.com")


def _envelope_from(message_id: int) -> str:
    content = DeliveryContent(3, "Hi {{ first_name }}", "news@example.com", None, "", "Hi")
    recipient = Recipient(message_id, "ann@example.org", "Ann", None, {})
    return Composer(content, SIGNER).compose(recipient, dt.datetime(2024, 1, 1)).envelope_from


@pytest.mark.parametrize("message_id", [0, 1, 35, 36, 123_456, 2**40 + 7])
def test_the_envelope_sender_of_a_message_names_that_message(message_id: int) -> None:
    address = _envelope_from(message_id)

    assert address.endswith(f"@{DOMAIN}")
    assert SIGNER.message_from_return_path(address) == message_id


def test_each_message_gets_its_own_envelope_sender() -> None:
    assert len({_envelope_from(n) for n in range(1, 201)}) == 200


def test_a_return_path_signed_with_another_secret_is_rejected() -> None:
    forger = EnvelopeSigner("guessed-secret", DOMAIN, "mid.example.com")

    assert SIGNER.message_from_return_path(forger.return_path(42)) is None


def _parts(address: str) -> tuple[str, str, str, str]:
    local, domain = address.split("@")
    prefix, ident, signature = local.split("-")
    return prefix, ident, signature, domain


def test_a_return_path_whose_message_number_was_changed_is_rejected() -> None:
    prefix, _, signature, domain = _parts(SIGNER.return_path(42))
    other = _parts(SIGNER.return_path(43))[1]

    assert SIGNER.message_from_return_path(f"{prefix}-{other}-{signature}@{domain}") is None


@pytest.mark.parametrize("position", [0, 5, 11])
def test_a_return_path_with_an_altered_signature_is_rejected(position: int) -> None:
    prefix, ident, signature, domain = _parts(SIGNER.return_path(42))
    flipped = "0" if signature[position] != "0" else "1"
    altered = signature[:position] + flipped + signature[position + 1 :]

    assert SIGNER.message_from_return_path(f"{prefix}-{ident}-{altered}@{domain}") is None


def test_a_signature_copied_to_another_domain_or_prefix_is_rejected() -> None:
    prefix, ident, signature, _ = _parts(SIGNER.return_path(42))

    assert SIGNER.message_from_return_path(f"{prefix}-{ident}-{signature}@evil.example") is None
    assert SIGNER.message_from_return_path(f"x-{ident}-{signature}@{DOMAIN}") is None


@pytest.mark.parametrize(
    "address",
    ["", "postmaster@bounces.example.com", "b-1@bounces.example.com", "b--@", "not an address"],
)
def test_addresses_that_are_not_return_paths_are_rejected(address: str) -> None:
    assert SIGNER.message_from_return_path(address) is None


def test_the_message_id_does_not_verify_as_a_return_path() -> None:
    # The two are signed for different purposes, so one cannot be turned into the other.
    mid_signature = SIGNER.message_id_for(3, 42).strip("<>").split("@")[0].split(".")[2]
    prefix, ident, _, domain = _parts(SIGNER.return_path(42))
    as_return_path = f"{prefix}-{ident}-{mid_signature}@{domain}"

    assert SIGNER.message_from_return_path(as_return_path) is None
