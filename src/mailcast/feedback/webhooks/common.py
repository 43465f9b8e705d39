"""What every provider's webhook shares: refusals, JSON reading, classification, keys, times."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from mailcast.domain import FailureReason, FailureType
from mailcast.feedback import classify, smtp
from mailcast.feedback.model import Finding
from mailcast.feedback.observation import MessageRef, Observation, Seen

MAX_DIAGNOSTIC = 1000


class WebhookError(Exception):
    """A request that is not applied; the message says why, in words a sender can act on."""


class Unauthenticated(WebhookError):
    """No credentials at all (HTTP 401); `challenge` says what to send (WWW-Authenticate)."""

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge


class Refused(WebhookError):
    """Credentials or signature present but wrong, or the provider is not configured (403)."""


class Malformed(WebhookError):
    """The body is not the JSON the provider sends (HTTP 400)."""


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"the body is not valid JSON: {exc}") from exc


def same_secret(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time comparison, so a wrong secret reveals nothing by its timing."""
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


def key_of(*parts: Any) -> str:
    """A stable digest of a report's identifying parts, when the provider gives no event id."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def text(value: Any) -> str:
    """A field as text: providers put numbers where strings are expected and nulls anywhere."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of a list; anything else in it is skipped."""
    return [v for v in items(value) if isinstance(v, dict)]


def address(value: Any) -> str:
    return smtp.normalize(text(value)) if text(value) else ""


def timestamp(value: Any, default: dt.datetime) -> dt.datetime:
    """ISO 8601 text or Unix seconds, as an aware UTC time; the default when absent or odd."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, str) and value.strip():
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return default


@dataclass(frozen=True, slots=True)
class Verdict:
    """A failure classified in mailcast's terms."""

    reason: str  # sisimai's vocabulary
    failure_type: FailureType
    failure_reason: FailureReason | None
    status: str
    diagnostic: str


def classify_failure(
    status: str = "",
    diagnostic: str = "",
    *,
    hint: str = "",
    failure_type: FailureType | None = None,
    action: str = "failed",
) -> Verdict:
    """Classify a provider-reported failure with the same rules as the bounce parser.

    The provider's own hard/soft verdict, when it gives one, wins over the classifier's.
    """
    kind, _, diagnostic = _split_type(diagnostic)
    reply = smtp.best_reply(diagnostic)
    status = status if _enhanced(status) else smtp.best_status(diagnostic, reply) or status
    finding = Finding(
        action=action,
        status=status if _enhanced(status) else "",
        reply_code=reply or (status if status.isdigit() else ""),
        diagnostic=diagnostic,
        diagnostic_type=kind,
        command=smtp.command(diagnostic),
        hint=hint,
        provider_verdict=True,
    )
    reason = classify.reason(finding)
    if reason == "delivered":  # a failure said in success words is still a failure
        reason = "undefined"
    hard = classify.is_hard(reason, finding.status, finding.reply_code)
    chosen = failure_type or classify.failure_type(reason, hard) or FailureType.SOFT
    return Verdict(
        reason=reason,
        failure_type=chosen,
        failure_reason=classify.failure_reason(reason),
        status=finding.status or finding.reply_code,
        diagnostic=" ".join(diagnostic.split())[:MAX_DIAGNOSTIC],
    )


def _enhanced(status: str) -> bool:
    return bool(smtp.status_codes(status)) and status.count(".") == 2


def _split_type(diagnostic: str) -> tuple[str, str, str]:
    """ "smtp; 550 5.1.1 user unknown" → ("smtp", ";", "550 5.1.1 user unknown")."""
    kind, sep, rest = diagnostic.partition(";")
    if sep and kind.strip().lower() in ("smtp", "x-postfix", "x-unix", "x-local"):
        return kind.strip().lower(), sep, rest.strip()
    return "", "", diagnostic.strip()


def observe(
    seen: Seen,
    ref: MessageRef,
    *,
    at: dt.datetime,
    source: str,
    source_key: str,
    verdict: Verdict | None = None,
) -> Observation:
    """One observation; a failure or a delay carries its classification."""
    if verdict is None:
        return Observation(ref=ref, seen=seen, at=at, source=source, source_key=source_key)
    return Observation(
        ref=ref,
        seen=seen,
        at=at,
        source=source,
        source_key=source_key,
        failure_type=verdict.failure_type,
        failure_reason=verdict.failure_reason,
        reason=verdict.reason,
        status=verdict.status,
        diagnostic=verdict.diagnostic,
    )
