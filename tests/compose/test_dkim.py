"""DKIM signatures as receivers check them: dkimpy verifies, a resolver serves the public key."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError
from typer.testing import CliRunner

from dkim_keys import (
    Algorithm,
    AnyKey,
    Resolver,
    Spec,
    private_key,
    signature_tags,
    txt_record,
    verify,
    weak_rsa_key,
    write_pem,
)
from mailcast.cli import app
from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.dkim import DkimKeys, DkimSigner, load_private_key
from mailcast.compose.verp import EnvelopeSigner
from mailcast.config import DkimKey, DkimSettings
from mailcast.tracking.links import LinkTracker
from mailcast.tracking.tokens import TokenSigner

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
ENVELOPE = EnvelopeSigner("secret", "bounces.example.com", "example.com")
TRACKER = LinkTracker(TokenSigner([("k1", "dkim test key")]), "https://t.example.net/", "bottom")
ZOE = Recipient(41, "zoe@example.org", "Zoé", "Müller", {})
HTML = '<p>Bonjour {{ first_name }}, <a href="https://example.com/x">voir</a>\t  ok  </p>'


def _keys(*specs: Spec) -> DkimKeys:
    return DkimKeys(DkimSigner(d, s, private_key(a, s)) for d, s, a in specs)


def _resolver(*specs: Spec) -> Resolver:
    resolver = Resolver()
    for domain, selector, algorithm in specs:
        resolver.publish(selector, domain, txt_record(private_key(algorithm, selector)))
    return resolver


def _composer(keys: DkimKeys | None, from_addr: str = "Équipe Café <news@example.com>") -> Composer:
    subject = "Café für {{ first_name }} — déjà"
    content = DeliveryContent(7, subject, from_addr, None, HTML, "Hi")
    return Composer(content, ENVELOPE, TRACKER, dkim=keys)


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_a_message_signed_with_either_algorithm_verifies(algorithm: Algorithm) -> None:
    spec: Spec = ("example.com", "s1", algorithm)
    data = _composer(_keys(spec)).compose(ZOE, NOW).data

    assert verify(data, _resolver(spec))
    tags = signature_tags(data)
    assert tags["a"] == f"{algorithm}-sha256"
    assert (tags["d"], tags["s"], tags["c"]) == ("example.com", "s1", "relaxed/relaxed")
    assert tags["t"] == str(int(NOW.timestamp()))
    signed = tags["h"].split(":")
    for name in (
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "mime-version",
        "content-type",
    ):
        assert name in signed
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "Café für Zoé — déjà"
    assert message["To"] == "Zoé Müller <zoe@example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_signing_only_adds_the_signature_and_the_size_counts_it() -> None:
    spec: Spec = ("example.com", "s1", "rsa")
    unsigned = _composer(None)
    signed = _composer(_keys(spec))
    signed.skeleton = unsigned.skeleton  # the same MIME boundary, so the bytes compare
    plain = unsigned.compose(ZOE, NOW).data
    data = signed.compose(ZOE, NOW).data

    assert data.endswith(plain)
    assert data[: -len(plain)].startswith(b"DKIM-Signature: ")
    assert data.count(b"DKIM-Signature:") == 1
    # Preparation's size limit (counted before anything is signed) counts the signature too.
    size = signed.message_size(ZOE, signed.render(ZOE))
    assert size - unsigned.message_size(ZOE, unsigned.render(ZOE)) == len(data) - len(plain)


def test_a_single_part_message_with_a_reply_to_verifies() -> None:
    spec: Spec = ("example.com", "s1", "ed25519")
    content = DeliveryContent(8, "Plain", "news@example.com", "Desk <desk@example.com>", "", "Hi")
    data = Composer(content, ENVELOPE, None, dkim=_keys(spec)).compose(ZOE, NOW).data

    assert verify(data, _resolver(spec))
    signed = signature_tags(data)["h"].split(":")
    assert "reply-to" in signed
    assert "content-transfer-encoding" in signed
    assert "list-unsubscribe" not in signed  # not in this message: nothing to sign


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda m: m.replace(b"Bonjour Zo", b"Bonsoir Zo"), id="body"),
        pytest.param(lambda m: m.replace(b"\r\n\r\n", b"\r\n\r\nP.S. hi\r\n", 1), id="body-top"),
        pytest.param(lambda m: m.replace(b"Subject: ", b"Subject: RE: "), id="subject"),
        # Above ours: a verifier takes the lowest Subject first, only oversigning catches it.
        pytest.param(lambda m: b"Subject: Urgent: pay now\r\n" + m, id="second-subject-on-top"),
        pytest.param(
            lambda m: m.replace(b"MIME-Version", b"Reply-To: x@evil.example\r\nMIME-Version"),
            id="added-reply-to",
        ),
    ],
)
def test_a_changed_message_fails_verification(tamper: Callable[[bytes], bytes]) -> None:
    spec: Spec = ("example.com", "s1", "rsa")
    data = _composer(_keys(spec)).compose(ZOE, NOW).data
    assert verify(data, _resolver(spec))

    changed = tamper(data)
    assert changed != data
    assert not verify(changed, _resolver(spec))


def test_folding_and_whitespace_on_the_way_do_not_break_a_relaxed_signature() -> None:
    spec: Spec = ("example.com", "s1", "rsa")
    data = _composer(_keys(spec)).compose(ZOE, NOW).data
    head, body = data.split(b"\r\n\r\n", 1)
    # What relaxed canonicalisation forgives: refolded headers, more or less whitespace where
    # there was some, whitespace at line ends, and empty lines added at the end of the body.
    assert b"\t  ok  " in body
    body = body.replace(b"\t  ok  ", b" ok\t", 1).replace(b"\r\n", b" \t\r\n", 1)
    moved = head.replace(b"Subject: ", b"Subject:\r\n   ") + b"\r\n\r\n" + body + b"\r\n\r\n"
    assert moved != data

    assert verify(moved, _resolver(spec))


def test_a_from_domain_without_a_key_is_sent_unsigned() -> None:
    keys = _keys(("example.com", "s1", "rsa"))
    data = _composer(keys, from_addr="news@other.example").compose(ZOE, NOW).data

    assert b"DKIM-Signature" not in data


def test_a_subdomain_is_signed_by_its_parent_domains_key() -> None:
    spec: Spec = ("example.com", "s1", "rsa")
    data = _composer(_keys(spec), from_addr="news@mail.Example.com").compose(ZOE, NOW).data

    assert signature_tags(data)["d"] == "example.com"
    assert verify(data, _resolver(spec))


def test_an_rsa_and_an_ed25519_key_of_one_domain_both_sign() -> None:
    specs: tuple[Spec, ...] = (("example.com", "r1", "rsa"), ("example.com", "e1", "ed25519"))
    data = _composer(_keys(*specs)).compose(ZOE, NOW).data

    assert data.count(b"DKIM-Signature:") == 2
    algorithms = {signature_tags(data, i)["a"] for i in (0, 1)}
    assert algorithms == {"rsa-sha256", "ed25519-sha256"}
    assert verify(data, _resolver(*specs), 0)
    assert verify(data, _resolver(*specs), 1)


# --- settings and keys ------------------------------------------------------------------------


def test_keys_in_the_settings_sign_for_their_domain(tmp_path: Path) -> None:
    pem = write_pem(private_key("ed25519", "s1"), tmp_path / "example.com.s1.pem")
    settings = DkimSettings.model_validate(
        {"keys": [{"domain": "example.com", "selector": "s1", "private_key_file": str(pem)}]}
    )
    [key] = settings.keys
    keys = DkimKeys([DkimSigner(key.domain, key.selector, load_private_key(key.private_key_file))])
    data = _composer(keys).compose(ZOE, NOW).data

    assert verify(data, _resolver(("example.com", "s1", "ed25519")))


def test_a_missing_key_file_is_refused_with_the_settings_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(ValidationError) as refused:
        DkimKey(domain="example.com", selector="s1", private_key_file=missing)

    [error] = refused.value.errors()
    assert error["loc"] == ("private_key_file",)
    assert f"cannot read the DKIM key file {missing}" in error["msg"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"not a key\n", "is not a PEM private key", id="not-pem"),
        pytest.param(weak_rsa_key(768), "neither RSA (1024 to 4096 bits", id="rsa-768"),
        pytest.param(
            ec.generate_private_key(ec.SECP256R1()), "neither RSA (1024 to 4096 bits", id="ec"
        ),
    ],
)
def test_a_key_dkim_cannot_use_is_refused(
    tmp_path: Path, content: bytes | AnyKey, expected: str
) -> None:
    path = tmp_path / "key.pem"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_pem(content, path)
    with pytest.raises(ValidationError, match=re.escape(expected)):
        DkimKey(domain="example.com", selector="s1", private_key_file=path)


def test_the_worker_stops_at_its_start_on_an_unreadable_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setenv("MAILCAST_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    # A directory is unreadable as a file, even for root (who reads a file of mode 000).
    keys = f'[{{"domain": "example.com", "selector": "s1", "private_key_file": "{tmp_path}"}}]'
    monkeypatch.setenv("MAILCAST_DKIM__KEYS", keys)

    result = CliRunner().invoke(app, ["worker", "--until-idle"])

    assert result.exit_code == 1
    assert "invalid setting dkim.keys.0.private_key_file" in result.output
    assert f"cannot read the DKIM key file {tmp_path}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "unused.db").exists()  # stopped before anything else


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_keygen_writes_a_private_key_and_prints_what_to_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, algorithm: str
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    argv = ["dkim", "keygen", "--domain", "Example.com", "--selector", "mc2026"]
    result = CliRunner().invoke(app, [*argv, "--algorithm", algorithm, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output

    path = tmp_path / "example.com.mc2026.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    zone = re.search(r"^mc2026\._domainkey\.example\.com\. IN TXT \( (.*) \)$", result.output, re.M)
    assert zone, result.output
    record = "".join(re.findall(r'"([^"]*)"', zone[1])).encode()
    settings = tomllib.loads(result.output[result.output.index("[[dkim.keys]]") :])
    [key] = DkimSettings.model_validate(settings["dkim"]).keys
    assert (key.domain, key.selector, key.private_key_file) == ("example.com", "mc2026", path)
    signer = DkimSigner(key.domain, key.selector, load_private_key(key.private_key_file))
    data = _composer(DkimKeys([signer])).compose(ZOE, NOW).data
    resolver = Resolver({"mc2026._domainkey.example.com.": record})

    assert verify(data, resolver)
    assert resolver.asked == ["mc2026._domainkey.example.com."]

    again = CliRunner().invoke(app, [*argv, "--out", str(tmp_path)])
    assert again.exit_code == 1  # a selector names one key: never overwritten
