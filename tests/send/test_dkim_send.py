"""DKIM on the send path: what the MTA receives from the engine verifies with dkimpy."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from conftest import Scenario
from dkim_keys import (
    Algorithm,
    Resolver,
    private_key,
    signature_tags,
    txt_record,
    verify,
    write_pem,
)
from mailcast.audience.csv_import import add_profile
from mailcast.config import DkimKey, DkimSettings
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment

ADDRESSES = {
    "zoe@example.org": ("Zoé", "Müller"),
    "li@example.net": ("李", None),
    "josé@exemple.fr": ("José", None),  # a UTF-8 To header (RFC 6532), over SMTPUTF8
}


def _dkim(ctx: Context, tmp_path: Path, *specs: tuple[str, str, Algorithm]) -> Resolver:
    """Keys in the settings, as an operator configures them; the resolver that publishes them."""
    resolver = Resolver()
    keys = []
    for domain, selector, algorithm in specs:
        key = private_key(algorithm, selector)
        path = write_pem(key, tmp_path / f"{domain}.{selector}.pem")
        keys.append(DkimKey(domain=domain, selector=selector, private_key_file=path))
        resolver.publish(selector, domain, txt_record(key))
    ctx.settings.dkim = DkimSettings(keys=keys)
    return resolver


def _audience(ctx: Context) -> None:
    ctx.settings.relay.smtputf8 = True
    for address, (first, last) in ADDRESSES.items():
        add_profile(ctx.db, ctx.clock, address, first_name=first, last_name=last, lists=("news",))


@pytest.mark.parametrize("composers", [0, 1])  # composed on the loop, or ahead (a process)
@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_every_message_the_engine_relays_carries_a_signature_that_verifies(
    ctx: Context,
    scenario: Scenario,
    mta: SandboxMTA,
    tmp_path: Path,
    algorithm: Algorithm,
    composers: int,
) -> None:
    ctx.settings.send.compose_processes = composers
    resolver = _dkim(ctx, tmp_path, ("example.com", "mc1", algorithm))
    _audience(ctx)
    delivery_id = scenario.sending(
        from_addr="Équipe Café <news@example.com>",
        reply_to="Service client <aide@example.com>",
        subject="Café für {{ first_name }} — déjà vu",
    )

    send_until_idle(ctx)

    received = mta.received()
    assert deployment(ctx, delivery_id).counts.sent == len(ADDRESSES) == len(received)
    for message in received:
        data = message.data or b""
        assert verify(data, resolver), message.recipients
        tags = signature_tags(data)
        assert (tags["a"], tags["d"], tags["s"]) == (f"{algorithm}-sha256", "example.com", "mc1")
        signed = tags["h"].split(":")
        for name in ("from", "to", "subject", "reply-to", "list-unsubscribe", "content-type"):
            assert name in signed
        parsed = email.message_from_bytes(data, policy=policy.default)
        first, _ = ADDRESSES[message.recipients[0]]
        assert parsed["Subject"] == f"Café für {first} — déjà vu"
        assert "/t/u/" in parsed["List-Unsubscribe"]
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert set(resolver.asked) == {"mc1._domainkey.example.com."}

    # The test can fail: one character of a body changed on the way, and dkimpy says so.
    data = received[0].data or b""
    tampered = data.replace(b"Hi ", b"Hi! ", 1)
    assert tampered != data
    assert not verify(tampered, resolver)


def test_a_from_domain_without_a_key_goes_unsigned_beside_one_with_a_key(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, tmp_path: Path
) -> None:
    resolver = _dkim(ctx, tmp_path, ("example.com", "mc1", "rsa"))
    scenario.audience(["a@example.org", "b@example.org"])
    unsigned = scenario.sending(from_addr="News <news@unkeyed.example>")
    signed = scenario.sending(from_addr="News <news@example.com>")

    send_until_idle(ctx)

    for delivery_id in (unsigned, signed):
        assert deployment(ctx, delivery_id).counts.sent == 2
    by_sender: dict[str, list[bytes]] = {"unkeyed.example": [], "example.com": []}
    for message in mta.received():
        sender = email.message_from_bytes(message.data or b"")["From"]
        by_sender[sender.rpartition("@")[2].rstrip(">")].append(message.data or b"")
    assert len(by_sender["unkeyed.example"]) == len(by_sender["example.com"]) == 2
    assert all(b"DKIM-Signature" not in data for data in by_sender["unkeyed.example"])
    assert all(verify(data, resolver) for data in by_sender["example.com"])
