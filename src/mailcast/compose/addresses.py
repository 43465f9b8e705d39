"""Recipient addresses on the wire: domains as A-labels, and which addresses need SMTPUTF8."""

from __future__ import annotations

from email_validator import validate_email


def wire_address(address: str) -> str:
    """The address as the envelope and the To header carry it: the domain as A-labels.

    Profiles are stored so already (IDNA 2008, as email-validator gives it); a proof address
    may still name its domain in Unicode. The local part stays as written.
    """
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    # Raises EmailNotValidError (a ValueError) for a domain IDNA cannot encode.
    ascii_domain = validate_email(address, check_deliverability=False).ascii_domain
    return f"{local}@{ascii_domain}"


def needs_smtputf8(address: str) -> bool:
    """Only SMTPUTF8 (RFC 6531) carries a local part that is not ASCII; any domain has A-labels."""
    return not address.rpartition("@")[0].isascii()
