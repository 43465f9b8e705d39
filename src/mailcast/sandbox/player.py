"""The sandbox plays outcomes: plans each accepted recipient's DSNs and sends them when due."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import heapq
import itertools
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

import aiosmtplib

from mailcast.clock import Clock
from mailcast.config import SandboxSettings
from mailcast.sandbox import dsn
from mailcast.sandbox.dsn import Notice, Outcome
from mailcast.sandbox.handler import Received
from mailcast.sandbox.rules import FULL_REPLY, UNKNOWN_REPLY, Play, Playbook

log = logging.getLogger(__name__)

# A DSN the bounce receiver could not take (down, 4xx) is tried again this much later (scaled).
RETRY_SECONDS = 60.0
# Sessions at once towards the bounce receiver, each taking at least this many DSNs.
_SESSIONS = 8
_SESSION_SHARE = 50
NULL_SENDERS = frozenset({"", "<>"})


@dataclass(order=True)
class Planned:
    """A DSN to send at `due` about one recipient of an accepted message."""

    due: dt.datetime
    seq: int
    message: Received = field(compare=False)
    recipient: str = field(compare=False)
    outcome: Outcome = field(compare=False)


@dataclass(frozen=True, slots=True)
class SentNotice:
    """A DSN handed to the bounce receiver (code 250) or refused by it (5xx: dropped)."""

    notice: Notice
    recipient: str
    return_path: str
    status: str
    code: int
    at: dt.datetime


class OutcomePlayer:
    """Plans DSNs from the settings' rules and delays, on the injected clock; thread-safe.

    With `keep_records=False` (long runs) only the counts of what was sent are kept.
    """

    def __init__(
        self,
        settings: SandboxSettings,
        clock: Clock,
        dsn_host: str,
        dsn_port: int,
        hostname: str = "sandbox.mailcast.localhost",
        keep_records: bool = True,
    ) -> None:
        self.settings = settings
        self.keep_records = keep_records
        self.clock = clock
        self.dsn_host = dsn_host
        self.dsn_port = dsn_port
        self.hostname = hostname
        self.playbook = Playbook(settings, clock)
        self._plan: list[Planned] = []
        self._seq = itertools.count(1)
        self._changed = threading.Condition()
        self._sent: list[SentNotice] = []
        self._counts: Counter[Notice] = Counter()
        self._total = 0

    # --- planning (on DATA) ---------------------------------------------------------------

    def accepted(self, message: Received) -> None:
        """Plan the DSNs an accepted message will bring; never for a bounce (null sender)."""
        if message.mail_from in NULL_SENDERS:
            return
        planned = [
            Planned(due, next(self._seq), message, recipient, outcome)
            for recipient in message.recipients
            for due, outcome in self._outcomes(message, recipient)
            if _asked(message, recipient, outcome.notice)
        ]
        with self._changed:
            for item in planned:
                heapq.heappush(self._plan, item)

    def _outcomes(self, message: Received, recipient: str) -> list[tuple[dt.datetime, Outcome]]:
        s = self.settings
        play = self.playbook.play_for(recipient)
        if play is Play.FULL and not self.playbook.still_full(recipient):
            play = Play.DELIVER
        at = self._after(message, recipient)
        mx = f"mx.{recipient.rpartition('@')[2].lower()}"
        if play is Play.UNKNOWN:
            return [(at(s.bounce_after_seconds), _failed(UNKNOWN_REPLY, recipient, mx))]
        if play is Play.FULL:
            return [(at(s.bounce_after_seconds), _failed(FULL_REPLY, recipient, mx))]
        delivered = Outcome(Notice.DELIVERED, "2.0.0", "smtp", "250 2.0.0 Ok: delivered", mx)
        if play is Play.SLOW:
            notice_at = at(s.delay_after_seconds)
            delivered_at = max(at(s.slow_delivery_seconds), notice_at)
            return [(notice_at, _delayed(mx, delivered_at)), (delivered_at, delivered)]
        return [(at(s.success_after_seconds), delivered)]

    def _after(self, message: Received, recipient: str) -> _Delays:
        spread = self.settings.spread * _fraction(message.queue_id, recipient)
        return _Delays(message.received_at, self.settings.time_scale, 1.0 + spread)

    # --- sending (on the sandbox's event loop) --------------------------------------------

    def take_due(self) -> list[Planned]:
        now = self.clock.now()
        due: list[Planned] = []
        with self._changed:
            while self._plan and self._plan[0].due <= now:
                due.append(heapq.heappop(self._plan))
        return due

    async def send(self, due: list[Planned]) -> list[SentNotice]:
        """Send the DSNs, many at once over several SMTP sessions (as a relay's queue does);
        what cannot be delivered now is planned again."""
        if not due:
            return []
        size = max(_SESSION_SHARE, -(-len(due) // _SESSIONS))
        shares = [due[i : i + size] for i in range(0, len(due), size)]  # in order, each
        results = await asyncio.gather(*(self._send_over_one_session(s) for s in shares))
        sent = [notice for result in results for notice in result]
        self._record(sent)
        return sent

    async def _send_over_one_session(self, due: list[Planned]) -> list[SentNotice]:
        sent: list[SentNotice] = []
        remaining = list(due)
        try:
            async with aiosmtplib.SMTP(
                hostname=self.dsn_host, port=self.dsn_port, local_hostname=self.hostname
            ) as smtp:
                while remaining:
                    result = await self._send_one(smtp, remaining[0])
                    item = remaining.pop(0)
                    if result is None:
                        self._again([item])
                    else:
                        sent.append(result)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            log.warning("sandbox: bounce receiver %s:%s: %s", self.dsn_host, self.dsn_port, error)
            self._again(remaining)
        return sent

    async def _send_one(self, smtp: aiosmtplib.SMTP, item: Planned) -> SentNotice | None:
        now = self.clock.now()
        data = self._dsn(item, now)
        return_path = item.message.mail_from
        try:
            await smtp.sendmail("", [return_path], data)
            code = 250
        except aiosmtplib.SMTPRecipientsRefused as refused:
            code = refused.recipients[0].code
        except aiosmtplib.SMTPResponseException as refused:
            code = refused.code
        if 400 <= code < 500:
            return None
        if code >= 500:
            # A real MTA would tell its postmaster; the sandbox logs it and moves on.
            log.warning("sandbox: DSN to %s refused: %s", return_path, code)
        return SentNotice(
            item.outcome.notice, item.recipient, return_path, item.outcome.status, code, now
        )

    def _dsn(self, item: Planned, now: dt.datetime) -> bytes:
        queue_id = item.message.queue_id
        header = dsn.Header(
            reporting_mta=self.hostname,
            message_id=f"<{queue_id}.{item.seq}.{item.outcome.notice}@{self.hostname}>",
            boundary=f"{queue_id}.{item.seq}/{self.hostname}",
            at=now,
        )
        return dsn.build(item.message, item.recipient, item.outcome, header)

    def _again(self, items: list[Planned]) -> None:
        later = self.clock.now() + dt.timedelta(seconds=RETRY_SECONDS / self.settings.time_scale)
        with self._changed:
            for item in items:
                item.due = later
                heapq.heappush(self._plan, item)

    def _record(self, sent: list[SentNotice]) -> None:
        with self._changed:
            self._total += len(sent)
            self._counts.update(s.notice for s in sent if s.code < 300)
            if self.keep_records:
                self._sent.extend(sent)
            self._changed.notify_all()

    # --- what was played (any thread) -----------------------------------------------------

    def sent(self) -> list[SentNotice]:
        with self._changed:
            return list(self._sent)

    def counts(self) -> Counter[Notice]:
        """DSNs the bounce receiver took, by kind."""
        with self._changed:
            return Counter(self._counts)

    def planned(self) -> int:
        """DSNs still to come."""
        with self._changed:
            return len(self._plan)

    def next_due(self) -> dt.datetime | None:
        with self._changed:
            return self._plan[0].due if self._plan else None

    def wait_for(self, n: int, timeout: float) -> bool:
        """Wait until at least n DSNs were sent; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._total >= n, timeout)


@dataclass(frozen=True, slots=True)
class _Delays:
    """Turns a setting's delay into a due time: scaled, stretched, from the acceptance."""

    start: dt.datetime
    time_scale: float
    stretch: float

    def __call__(self, seconds: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=seconds * self.stretch / self.time_scale)


def _fraction(queue_id: str, recipient: str) -> float:
    """A stable number in [0, 1) per message and recipient: the same run plays the same way."""
    digest = hashlib.sha256(f"{queue_id}/{recipient}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _asked(message: Received, recipient: str, notice: Notice) -> bool:
    """RFC 3461: NOTIFY names the DSNs wanted; without it, failures and delays only."""
    params = message.params_for(recipient) if message.rcpt_params else {}
    notify = params.get("NOTIFY")
    if notify is None:
        return notice is not Notice.DELIVERED
    return notice.notify_word in {w.strip().upper() for w in notify.split(",")}


def _failed(reply: tuple[int, str], recipient: str, mx: str) -> Outcome:
    code, text = reply
    status = text.split(" ", 1)[0]
    return Outcome(Notice.FAILED, status, "smtp", f"{code} {text.format(address=recipient)}", mx)


def _delayed(mx: str, until: dt.datetime) -> Outcome:
    return Outcome(
        Notice.DELAYED,
        "4.4.1",
        "X-Sandbox",
        f"connect to {mx}[192.0.2.25]:25: Connection timed out",
        mx,
        retry_until=until,
    )
