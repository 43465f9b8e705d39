"""Prometheus /metrics: figures from the database, and this process's relay latency.

Every figure but the latency is read from the database, so any web process of a scaled-out
installation answers the same. The text is the exposition format 0.0.4, written here: it is
a few lines of `# HELP`, `# TYPE` and `name{label="value"} number`.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from fastapi import APIRouter, Request, Response

from mailcast.context import Context
from mailcast.send.metrics import RELAY_LATENCY, HistogramSnapshot
from mailcast.store import metrics as metrics_store
from mailcast.web.problems import problem
from mailcast.web.requests import context_of

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Label = TypeVar("Label", bound=StrEnum)

router = APIRouter(tags=["operations"])


@dataclass(frozen=True, slots=True)
class Sample:
    suffix: str  # "", "_bucket", "_sum", "_count"
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: its name, type, help text and samples."""

    name: str
    kind: str  # counter, gauge or histogram
    help: str
    samples: list[Sample] = field(default_factory=list)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format 0.0.4)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        401: {
            "description": "web.metrics_token is set and the request does not bear it",
            "content": {"application/problem+json": {"schema": {"type": "object"}}},
        },
    },
)
def metrics(request: Request) -> Response:
    ctx = context_of(request)
    if not _authorized(ctx, request.headers.get("authorization")):
        return problem(
            401,
            "Unauthorized",
            "/metrics asks for the bearer token set in web.metrics_token",
            headers={"WWW-Authenticate": 'Bearer realm="mailcast metrics"'},
        )
    return Response(render(collect(ctx)), media_type=CONTENT_TYPE)


def _authorized(ctx: Context, authorization: str | None) -> bool:
    token = ctx.settings.web.metrics_token
    if token is None:
        return True
    return hmac.compare_digest(f"Bearer {token}".encode(), (authorization or "").encode())


def collect(ctx: Context) -> list[Family]:
    """Every family, the database's figures read in one transaction."""
    with ctx.db.read() as conn:
        relayed = metrics_store.relayed_by_mode(conn)
        bounces = metrics_store.bounces_by_type(conn)
        queue = metrics_store.queue_depth(conn)
        states = metrics_store.deliveries_by_state(conn)
        paused = metrics_store.paused_by_cause(conn)
        reports = metrics_store.reports_by_outcome(conn)
    return [
        _labelled(
            "mailcast_messages_relayed_total",
            "counter",
            "Messages the relay accepted, by the feedback mode of their delivery "
            "(a message sent again after a soft bounce counts again when accepted).",
            "mode",
            relayed,
        ),
        _labelled(
            "mailcast_bounces_total",
            "counter",
            "Bounces reported by the relay's replies, DSNs and webhooks, by failure type "
            "(a deferral is soft; an auto-reply or an ignored error is ignored).",
            "type",
            bounces,
        ),
        _labelled(
            "mailcast_queue_depth",
            "gauge",
            "Messages waiting for a hand-off (due now or at a later retry), and in flight.",
            "state",
            queue,
        ),
        _labelled("mailcast_deliveries", "gauge", "Deliveries by state.", "state", states),
        _labelled(
            "mailcast_deliveries_paused",
            "gauge",
            "Paused deliveries by cause: an operator, or relay faults (those resume by "
            "themselves once the relay takes mail again).",
            "cause",
            paused,
        ),
        _labelled(
            "mailcast_bounce_reports",
            "gauge",
            "Messages stored by the bounce receiver, by what became of them.",
            "outcome",
            reports,
        ),
        _histogram(
            "mailcast_relay_latency_seconds",
            "Time of each SMTP hand-off to the relay, connecting included when needed. "
            "Per process: only the hand-offs of the send worker running in this process.",
            RELAY_LATENCY.snapshot(),
        ),
    ]


def _labelled(
    name: str, kind: str, help_text: str, label: str, values: Mapping[Label, int]
) -> Family:
    samples = [Sample("", {label: key.value}, n) for key, n in values.items()]
    return Family(name, kind, help_text, samples)


def _histogram(name: str, help_text: str, snapshot: HistogramSnapshot) -> Family:
    buckets = [
        Sample("_bucket", {"le": _number(bound)}, n)
        for bound, n in zip(snapshot.bounds, snapshot.cumulative, strict=True)
    ]
    totals = [Sample("_sum", {}, snapshot.total), Sample("_count", {}, snapshot.count)]
    return Family(name, "histogram", help_text, buckets + totals)


# --- the text exposition format 0.0.4 -------------------------------------------------------


def render(families: list[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        lines.extend(_sample_line(family.name, sample) for sample in family.samples)
    return "\n".join(lines) + "\n"


def _sample_line(name: str, sample: Sample) -> str:
    labels = ",".join(
        f'{key}="{_escape(value, quote=True)}"' for key, value in sample.labels.items()
    )
    braces = f"{{{labels}}}" if labels else ""
    return f"{name}{sample.suffix}{braces} {_number(sample.value)}"


def _escape(text: str, *, quote: bool = False) -> str:
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n")
    return escaped.replace('"', '\\"') if quote else escaped


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(value) if isinstance(value, int) else repr(value)
