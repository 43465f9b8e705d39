"""The sandbox's SMTP dialogue: RFC 3461 parameters, rules at RCPT, recording at DATA."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcast.clock import Clock
from mailcast.sandbox.rules import Rules

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """One accepted message: the envelope, a few headers, and the bytes when kept."""

    mail_from: str
    recipients: tuple[str, ...]
    message_id: str | None
    mailcast_message: str | None  # the X-Mailcast-Message header
    queue_id: str
    received_at: dt.datetime
    size: int
    data: bytes | None
    # MAIL parameters (ENVID and RET xtext-decoded, BODY, SMTPUTF8, SIZE) by upper-case name.
    mail_params: Mapping[str, str] = field(default_factory=dict)
    # RCPT parameters (NOTIFY, ORCPT) per recipient, in the order of `recipients`.
    rcpt_params: tuple[Mapping[str, str], ...] = ()

    def params_for(self, recipient: str) -> Mapping[str, str]:
        return self.rcpt_params[self.recipients.index(recipient)]


@dataclass(frozen=True, slots=True)
class Refusal:
    mail_from: str | None
    recipient: str
    code: int
    text: str


# --- SMTP dialogue --------------------------------------------------------------------------

# RFC 3461 parameters: aiosmtpd refuses any MAIL/RCPT parameter it does not know with 555
# (and upper-cases values), so they are taken out of the command, as given, before it looks.
MAIL_DSN_PARAMS = frozenset({"ENVID", "RET"})
RCPT_DSN_PARAMS = frozenset({"NOTIFY", "ORCPT"})
EXTRA_EHLO_LINES = ("250-PIPELINING", "250-DSN")


class _SandboxEnvelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.dsn_mail: dict[str, str] = {}
        self.dsn_rcpt: list[dict[str, str]] = []


class SandboxSMTP(SMTP):
    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # The class keeps one dict for all connections; RFC 3461 makes room for ORCPT/ENVID.
        self.command_size_limits = defaultdict(lambda: 512, {"MAIL": 1024, "RCPT": 1024})

    def _create_envelope(self) -> Envelope:
        return _SandboxEnvelope()

    async def smtp_MAIL(self, arg: str | None) -> None:
        arg, dsn = self._take_params(arg, "FROM:", MAIL_DSN_PARAMS)
        if isinstance(dsn, str):
            await self.push(dsn)
            return
        envelope = self._sandbox_envelope()
        had_sender = bool(envelope.mail_from)
        await super().smtp_MAIL(arg)
        if not had_sender and envelope is self.envelope and envelope.mail_from:
            envelope.dsn_mail = dsn

    async def smtp_RCPT(self, arg: str | None) -> None:
        arg, dsn = self._take_params(arg, "TO:", RCPT_DSN_PARAMS)
        if isinstance(dsn, str):
            await self.push(dsn)
            return
        envelope = self._sandbox_envelope()
        before = len(envelope.rcpt_tos)
        await super().smtp_RCPT(arg)
        if len(envelope.rcpt_tos) > before:
            envelope.dsn_rcpt.append(dsn)

    def _sandbox_envelope(self) -> _SandboxEnvelope:
        assert isinstance(self.envelope, _SandboxEnvelope)
        return self.envelope

    def _take_params(
        self, arg: str | None, keyword: str, wanted: frozenset[str]
    ) -> tuple[str | None, dict[str, str] | str]:
        """The command without the wanted parameters, and those (or a 501 reply)."""
        if not arg or "=" not in arg:
            return arg, {}  # nothing to take: spare a second parse of the address
        rest = self._strip_command_keyword(keyword, arg)
        if rest is None or self.session is None or not self.session.extended_smtp:
            return arg, {}  # aiosmtpd gives the syntax error itself
        address, params = self._getaddr(rest)
        if not address or not params:
            return arg, {}
        kept: list[str] = []
        taken: dict[str, str] = {}
        for param in params.split():
            name, eq, value = param.partition("=")
            if name.upper() in wanted and eq:
                taken[name.upper()] = _xtext_decode(value)
            else:
                kept.append(param)
        error = _check_dsn_params(taken)
        if error:
            return arg, error
        address_part = rest[: len(rest) - len(params)].rstrip()
        return " ".join([keyword + address_part, *kept]), taken


def _check_dsn_params(params: Mapping[str, str]) -> str | None:
    notify = params.get("NOTIFY")
    if notify is not None:
        words = {w.upper() for w in notify.split(",")}
        if not words <= {"SUCCESS", "FAILURE", "DELAY"} and words != {"NEVER"}:
            return "501 5.5.4 Error: Bad NOTIFY parameter syntax"
    if params.get("RET", "FULL").upper() not in {"FULL", "HDRS"}:
        return "501 5.5.4 Error: Bad RET parameter syntax"
    if "ORCPT" in params and ";" not in params["ORCPT"]:
        return "501 5.5.4 Error: Bad ORCPT parameter syntax"
    return None


def _xtext_decode(value: str) -> str:
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)
_MAILCAST_MESSAGE = re.compile(rb"^X-Mailcast-Message:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def _header(pattern: re.Pattern[bytes], head: bytes) -> str | None:
    # A regex over the header block only: a full email parse would cost more than SMTP does.
    match = pattern.search(head)
    if match is None:
        return None
    return b" ".join(match.group(1).split()).decode("utf-8", "replace")


class SandboxHandler:
    """aiosmtpd hooks: rules at RCPT, recording at DATA; keeps what tests ask about."""

    def __init__(
        self,
        rules: Rules,
        keep_bodies: bool,
        clock: Clock,
        on_message: Callable[[Received], None] | None,
    ) -> None:
        self.rules = rules
        self.keep_bodies = keep_bodies
        self.clock = clock
        self.on_message = on_message
        self._changed = threading.Condition()
        self._queue_ids = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        with self._changed:
            self.count = 0
            self._received_log: list[Received] = []
            self._refusals: list[Refusal] = []
            self._recipients: Counter[str] = Counter()
            self._mailcast_messages: Counter[str] = Counter()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], *EXTRA_EHLO_LINES, responses[-1]]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.rules(address)
        if refusal is not None:
            code, text = refusal
            with self._changed:
                self._refusals.append(Refusal(envelope.mail_from, address, code, text))
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = self._received(envelope)
        self._record(message)
        if self.on_message is not None:
            try:
                self.on_message(message)
            except Exception:
                # The message is accepted and recorded; a failing listener must not undo that.
                log.exception("sandbox on_message listener failed")
        return f"250 2.0.0 Ok: queued as {message.queue_id}"

    def _received(self, envelope: Envelope) -> Received:
        assert isinstance(envelope, _SandboxEnvelope)
        data = envelope.original_content or b""
        head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
        mail_params = dict(envelope.dsn_mail)
        for option in envelope.mail_options:
            name, _, value = option.partition("=")
            mail_params[name] = value
        return Received(
            mail_from=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
            message_id=_header(_MESSAGE_ID, head),
            mailcast_message=_header(_MAILCAST_MESSAGE, head),
            queue_id=f"{next(self._queue_ids):010X}",
            received_at=self.clock.now(),
            size=len(data),
            data=data,
            mail_params=mail_params,
            rcpt_params=tuple(envelope.dsn_rcpt),
        )

    def _record(self, message: Received) -> None:
        with self._changed:
            self.count += 1
            self._recipients.update(message.recipients)
            if message.mailcast_message is not None:
                self._mailcast_messages[message.mailcast_message] += 1
            if self.keep_bodies:
                self._received_log.append(message)
            self._changed.notify_all()

    # Snapshots for other threads: the lists and counters move on the loop thread.

    def received(self) -> list[Received]:
        with self._changed:
            return list(self._received_log)

    def refusals(self) -> list[Refusal]:
        with self._changed:
            return list(self._refusals)

    def recipients_counter(self) -> Counter[str]:
        with self._changed:
            return Counter(self._recipients)

    def mailcast_messages_counter(self) -> Counter[str]:
        with self._changed:
            return Counter(self._mailcast_messages)

    def wait_for(self, n: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= n, timeout)
