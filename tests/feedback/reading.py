"""What the parser makes of a generated notice, as the family tests compare it."""

from __future__ import annotations

import notices as n

from mailcast.feedback.parse import parse_report

Outcome = tuple[str, str, bool]  # address, reason, hard


def outcomes(raw: bytes) -> list[Outcome]:
    return [(r.address, r.reason, r.hard) for r in parse_report(raw).recipients]


def family_and_outcomes(raw: bytes) -> tuple[str, list[Outcome]]:
    report = parse_report(raw)
    return report.family, [(r.address, r.reason, r.hard) for r in report.recipients]


def expected(failures: list[n.Failure]) -> list[Outcome]:
    return [(f.address, f.reason, f.hard) for f in failures]
