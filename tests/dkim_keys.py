"""DKIM keys made by the tests, and dkimpy checking signatures with a resolver that serves them.

The DNS records are built here from the public keys, not by mailcast, so a verification
depends on nothing mailcast computes but the signature itself.
"""

from __future__ import annotations

import base64
import secrets
from functools import cache
from pathlib import Path
from typing import Literal

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

Algorithm = Literal["rsa", "ed25519"]
Spec = tuple[str, str, Algorithm]  # domain, selector, algorithm
DkimKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
AnyKey = DkimKey | ec.EllipticCurvePrivateKey


@cache
def private_key(algorithm: Algorithm, selector: str) -> DkimKey:
    """One key per algorithm and selector for the whole test session (RSA keys are slow to make)."""
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def weak_rsa_key(bits: int) -> rsa.RSAPrivateKey:
    """An RSA key shorter than `cryptography` agrees to generate, built from its primes."""
    p, q = _prime(bits // 2), _prime(bits - bits // 2)
    e, d = 65537, pow(65537, -1, (p - 1) * (q - 1))
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key()


def _prime(bits: int) -> int:
    while True:
        n = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        # Fermat's test does for a throwaway key; e must be invertible modulo n - 1.
        if (n - 1) % 65537 and all(pow(a, n - 1, n) == 1 for a in (2, 3, 5, 7, 11, 13)):
            return n


def write_pem(key: AnyKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def txt_record(key: AnyKey) -> bytes:
    public = key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


class Resolver:
    """dkimpy's `dnsfunc`: TXT records by name, no network; remembers what was asked."""

    def __init__(self, records: dict[str, bytes] | None = None) -> None:
        self.records = dict(records or {})
        self.asked: list[str] = []

    def publish(self, selector: str, domain: str, record: bytes) -> None:
        self.records[f"{selector}._domainkey.{domain}."] = record

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        self.asked.append(name.decode())
        return self.records.get(name.decode())


def verify(message: bytes, resolver: Resolver, index: int = 0) -> bool:
    """dkimpy's verdict on the message's `index`-th DKIM-Signature (the topmost is 0)."""
    try:
        return bool(dkim.DKIM(message).verify(idx=index, dnsfunc=resolver))
    except dkim.DKIMException:  # a body hash mismatch is raised, not returned
        return False


def signature_tags(message: bytes, index: int = 0) -> dict[str, str]:
    """The tags of the message's `index`-th DKIM-Signature, folding removed."""
    fields = [
        value for name, value in dkim.rfc822_parse(message)[0] if name.lower() == b"dkim-signature"
    ]
    if len(fields) <= index:
        return {}
    tags = dkim.util.parse_tag_value(b"".join(fields[index].split()))
    return {k.decode(): v.decode() for k, v in tags.items()}
