"""`mailcast dkim keygen`: a new DKIM key, and the DNS record and settings that use it."""

from __future__ import annotations

import base64
import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailcast.cli._shared import err
from mailcast.compose.dkim import SELECTOR_PATTERN, PrivateKey, a_label_domain

dkim_app = typer.Typer(help="DKIM signing keys.", no_args_is_help=True)


class Algorithm(StrEnum):
    RSA = "rsa"
    ED25519 = "ed25519"


def dns_record(key: PrivateKey) -> str:
    """The TXT record to publish at `<selector>._domainkey.<domain>`."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


@dkim_app.command("keygen")
def keygen(
    domain: Annotated[str, typer.Option(help="The From domain the key signs for.")],
    selector: Annotated[str, typer.Option(help="Names the key in DNS: <selector>._domainkey.")],
    algorithm: Annotated[
        Algorithm, typer.Option(help="rsa (2048 bits, checked everywhere) or ed25519.")
    ] = Algorithm.RSA,
    out: Annotated[Path, typer.Option(help="Directory of the key file.")] = Path("."),
) -> None:
    """Write a private key (mode 0600, never overwritten); print its DNS record and settings."""
    try:
        d = a_label_domain(domain)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {domain!r} is not a domain name: {exc}")
        raise typer.Exit(1) from exc
    if not re.match(SELECTOR_PATTERN, selector):
        err.print(f"[red]error:[/red] {selector!r} is not a selector (DNS labels, dot-separated)")
        raise typer.Exit(1)
    key: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm is Algorithm.RSA
        else ed25519.Ed25519PrivateKey.generate()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    out.mkdir(parents=True, exist_ok=True)
    path = (out / f"{d}.{selector}.pem").resolve()
    try:
        # Created with its mode: the key is never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        err.print(f"[red]error:[/red] {path} exists: a selector names one key")
        raise typer.Exit(1) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    record = dns_record(key)
    # A TXT record's strings hold 255 characters each; an RSA-2048 record takes two.
    strings = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
    typer.echo(f"# Private key written to {path}")
    typer.echo("# Publish this TXT record (zone file syntax):")
    typer.echo(f"{selector}._domainkey.{d}. IN TXT ( {strings} )")
    typer.echo("# Then add to mailcast.toml:")
    typer.echo("[[dkim.keys]]")
    typer.echo(f'domain = "{d}"')
    typer.echo(f'selector = "{selector}"')
    typer.echo(f'private_key_file = "{path}"')
