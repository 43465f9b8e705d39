"""The sample settings file of the docs is one mailcast reads as it says it does."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from dkim_keys import private_key
from mailcast.config import Settings
from mailcast.deliveries.relays import relays_for
from mailcast.send.shared_limits import engine_limits

SAMPLE = Path(__file__).parent.parent / "docs" / "mailcast.example.toml"


def _read(path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("MAILCAST_DATABASE_URL", "MAILCAST_RELAY__PORT", "MAILCAST_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAILCAST_CONFIG", str(path))
    return Settings()


def test_the_sample_names_two_relays_with_their_own_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _read(SAMPLE, monkeypatch)
    assert list(settings.named_relays) == ["eu", "backup"]
    eu, backup = settings.relays["eu"], settings.relays["backup"]
    assert (eu.tls, eu.weight, eu.concurrency, eu.rate_per_second) == ("starttls", 3, 20, 200)
    assert (backup.tls, str(backup.ca_file)) == ("implicit", "/etc/mailcast/internal-ca.pem")
    assert list(relays_for(settings, ["backup"])) == ["backup"]
    limits = {limit.name for scope in engine_limits(settings).values() for limit in scope}
    assert limits == {"rate", "relay:eu:rate", "relay:eu:day", "relay:backup:hour"} | {
        "group:google:rate"
    }
    assert settings.domain_groups["google"].concurrency == 20
    assert "apple" not in settings.domain_groups  # the table replaces the shipped one


def test_its_dkim_keys_once_uncommented_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = SAMPLE.read_text()
    keys = text[text.index("# [[dkim.keys]]") :]
    for selector, algorithm in (("mc2026", "rsa"), ("mc2026e", "ed25519")):
        pem = private_key(algorithm, selector).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (tmp_path / f"{selector}.pem").write_bytes(pem)
        keys = keys.replace(
            f"/etc/mailcast/dkim/example.com.{selector}.pem", str(tmp_path / f"{selector}.pem")
        )
    uncommented = "\n".join(line.removeprefix("# ") for line in keys.splitlines())
    copy = tmp_path / "mailcast.toml"
    copy.write_text(text[: text.index("# [[dkim.keys]]")] + uncommented)
    settings = _read(copy, monkeypatch)
    assert [(k.domain, k.selector) for k in settings.dkim.keys] == [
        ("example.com", "mc2026"),
        ("example.com", "mc2026e"),
    ]
