"""DKIM signatures (RFC 6376, relaxed/relaxed) with RSA-SHA256 or Ed25519-SHA256 (RFC 8463)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.utils import parseaddr
from functools import cache
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from mailcast.compose.addresses import wire_address

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

# Signed when present: what a reader is shown and what decides how the body is read.
SIGNED_HEADERS = (
    *("from", "reply-to", "to", "subject", "date", "message-id"),
    *("list-unsubscribe", "list-unsubscribe-post"),
    *("mime-version", "content-type", "content-transfer-encoding"),
)
# Named once more than present (RFC 6376 §8.15): one more of these added on the way, which a
# mail client could show instead of ours, breaks the signature.
OVERSIGNED = frozenset({"from", "reply-to", "to", "subject", "date", "message-id"})

# A selector is one or more DNS labels (RFC 6376 §3.1).
SELECTOR_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
_WSP = re.compile(rb"[ \t]+")
_FOLD = b"\r\n\t"
_NOW_DIGITS = 10  # t= until the year 2286; for the size, which is counted before signing


class DkimKeyError(ValueError):
    """A DKIM key file that cannot be used: unreadable, not PEM, or not a key DKIM accepts."""


def load_private_key(path: Path) -> PrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"cannot read the DKIM key file {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DkimKeyError(
            f"the DKIM key file {path} is not a PEM private key without a passphrase"
        ) from exc
    # RFC 8301: signers use at least 1024 bits, and verifiers need not take more than 4096.
    if isinstance(key, ed25519.Ed25519PrivateKey) or (
        isinstance(key, rsa.RSAPrivateKey) and 1024 <= key.key_size <= 4096
    ):
        return key
    raise DkimKeyError(
        f"the DKIM key in {path} is neither RSA (1024 to 4096 bits, 2048 advised) nor Ed25519"
    )


def a_label_domain(domain: str) -> str:
    """A domain as DKIM's d= names it: IDNA A-labels, lowercase."""
    return wire_address(f"x@{domain.strip().rstrip('.')}").rpartition("@")[2].lower()


class DkimSigner:
    """One key of one domain."""

    def __init__(self, domain: str, selector: str, key: PrivateKey) -> None:
        self.domain = a_label_domain(domain)
        self.selector = selector
        self.key = key
        self.algorithm, signature_bytes = "ed25519-sha256", 64
        if isinstance(key, rsa.RSAPrivateKey):
            self.algorithm, signature_bytes = "rsa-sha256", (key.key_size + 7) // 8
        self._b_length = 4 * -(-signature_bytes // 3)

    def header(self, names: Sequence[str], body_hash: bytes, timestamp: int, b: bytes) -> bytes:
        """The DKIM-Signature field, folded so no line passes 78 characters."""
        lines = [f"DKIM-Signature: v=1; a={self.algorithm}; c=relaxed/relaxed; d={self.domain};"]
        lines.append(f"s={self.selector}; t={timestamp};")
        tag = "h="
        for n, name in enumerate(names):
            item = name + (":" if n < len(names) - 1 else ";")
            if len(tag) + len(item) > 70:
                lines.append(tag)
                tag = ""
            tag += item
        lines.append(tag)
        head = "\r\n\t".join(lines).encode("ascii") + _FOLD + b"bh=" + body_hash + b";" + _FOLD
        chunks = [b[i : i + 72] for i in range(0, len(b), 72)] or [b""]
        return head + b"b=" + _FOLD.join(chunks) + b"\r\n"

    def sign(self, signed: bytes, names: Sequence[str], body_hash: bytes, timestamp: int) -> bytes:
        unsigned = self.header(names, body_hash, timestamp, b"")
        data = signed + _relaxed_field(unsigned[: -len(b"\r\n")])
        if isinstance(self.key, rsa.RSAPrivateKey):
            signature = self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = self.key.sign(hashlib.sha256(data).digest())
        return self.header(names, body_hash, timestamp, base64.b64encode(signature))

    def size(self, names: Sequence[str]) -> int:
        return len(self.header(names, b"=" * 44, 10 ** (_NOW_DIGITS - 1), b"=" * self._b_length))


class DkimKeys:
    """Every configured key by domain; mail From a domain is signed by its keys, or else by
    the keys of its nearest parent domain that has some (DMARC's relaxed alignment)."""

    def __init__(self, signers: Iterable[DkimSigner]) -> None:
        self._by_domain: dict[str, tuple[DkimSigner, ...]] = {}
        for signer in signers:
            self._by_domain[signer.domain] = (*self._by_domain.get(signer.domain, ()), signer)

    def for_sender(self, from_addr: str) -> tuple[DkimSigner, ...]:
        domain = parseaddr(from_addr)[1].rpartition("@")[2]
        try:
            labels = a_label_domain(domain).split(".") if domain else []
        except ValueError:  # not a domain IDNA can encode: nobody could verify it
            return ()
        for n in range(len(labels)):
            if signers := self._by_domain.get(".".join(labels[n:])):
                return signers
        return ()


def sign(message: bytes, signers: Sequence[DkimSigner], now: dt.datetime) -> bytes:
    """The message with one DKIM-Signature per signer prepended; nothing else changes."""
    head, body = _split(message)
    fields = _fields(head)
    names = _names(fields)
    signed = b"".join(_selected(fields, names))
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
    timestamp = int(now.timestamp())
    return b"".join(s.sign(signed, names, body_hash, timestamp) for s in signers) + message


async def sign_in_thread(message: bytes, signers: Sequence[DkimSigner], now: dt.datetime) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(_threads(), sign, message, signers, now)


@cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="dkim")


def signed_size(message: bytes, signers: Sequence[DkimSigner]) -> int:
    """The size `sign` would give the message, without the cost of signing."""
    if not signers:
        return len(message)
    names = _names(_fields(_split(message)[0]))
    return len(message) + sum(s.size(names) for s in signers)


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4."""
    # Line by line, and the regex only where a run of whitespace is left: a regex over every
    # single space of a 5 kB body costs half an RSA signature.
    lines = body.split(b"\r\n")
    body = b"\r\n".join([line.rstrip(b" \t") for line in lines[:-1]] + lines[-1:])
    if b"\t" in body or b"  " in body:
        body = _WSP.sub(b" ", body)
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    return body[:end] + b"\r\n" if end else b""


def _relaxed_field(field: bytes) -> bytes:
    """RFC 6376 §3.4.2, without the closing CRLF."""
    name, _, value = field.partition(b":")
    value = _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" \t")
    return name.rstrip(b" \t").lower() + b":" + value


def _split(message: bytes) -> tuple[bytes, bytes]:
    head, blank_line, body = message.partition(b"\r\n\r\n")
    return (head + b"\r\n", body) if blank_line else (message, b"")


def _fields(head: bytes) -> list[tuple[str, bytes]]:
    """Each header field: its lowercase name and the field as written, folds included."""
    fields: list[tuple[str, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, field = fields[-1]
            fields[-1] = (name, field + b"\r\n" + line)
        elif line:
            name = line.partition(b":")[0].rstrip(b" \t").decode("ascii", "replace").lower()
            fields.append((name, line))
    return fields


def _names(fields: list[tuple[str, bytes]]) -> list[str]:
    """The h= list: each signed header once per instance, the oversigned ones once more."""
    counts = Counter(name for name, _ in fields)
    return [n for n in SIGNED_HEADERS for _ in range(counts[n] + (n in OVERSIGNED))]


def _selected(fields: list[tuple[str, bytes]], names: Sequence[str]) -> list[bytes]:
    """The canonical fields `names` lists: per mention the next instance up (§5.4.2); a
    mention with no instance left signs an absent field, so adding one breaks the signature."""
    by_name: dict[str, list[bytes]] = {}
    for name, field in fields:
        by_name.setdefault(name, []).append(field)
    selected = []
    for name in names:
        if instances := by_name.get(name):
            selected.append(_relaxed_field(instances.pop()) + b"\r\n")
    return selected
