"""Every setting of mailcast, read from MAILCAST_* variables and an optional TOML file."""

from __future__ import annotations

import datetime as dt
import os
import ssl
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mailcast.compose.dkim import SELECTOR_PATTERN, a_label_domain, load_private_key
from mailcast.domain import FeedbackMode, QuarantinePolicy

DEFAULT_RELAY = "default"  # the name of `relay` when `relays` names none
# The embedded database: a file in the working folder, whose schema commands create themselves.
DEFAULT_DATABASE_URL = "sqlite:///mailcast.db"


class RelaySettings(BaseModel):
    """An MTA (or provider endpoint) that messages are handed to (README, "Relays")."""

    host: str = "127.0.0.1"
    port: int = 2525
    tls: Literal["none", "starttls", "implicit"] = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    # Ask for RFC 3461 DSNs (ENVID, ORCPT, NOTIFY) when the relay advertises DSN.
    request_dsn: bool = True
    # The relay takes SMTPUTF8 (RFC 6531): addresses whose local part is not ASCII are queued
    # at preparation, else left out there (smtputf8_required). Domains always go as A-labels.
    smtputf8: bool = False
    # PEM file of the certificate authorities trusted for this relay's TLS, instead of the
    # system's (a relay with a private CA).
    ca_file: Path | None = None
    # With several relays: each message goes to one in rotation, chosen by weight.
    weight: float = Field(default=1.0, gt=0)
    # Connections to this relay per worker; None: `send.concurrency`.
    concurrency: int | None = Field(default=None, ge=1)
    # This relay's own rate and quotas, held across all workers like those of `send`.
    rate_per_second: float = Field(default=0.0, ge=0.0, description="0 means no limit")
    hourly_quota: int = Field(default=0, ge=0, description="0 means no limit")
    daily_quota: int = Field(default=0, ge=0, description="0 means no limit")

    def tls_context(self) -> ssl.SSLContext | None:
        if self.tls == "none":
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


class SendSettings(BaseModel):
    """The send engine: how many connections, how fast, how much per claim."""

    concurrency: int = Field(default=10, ge=1)
    # The rate and quotas hold for all workers together (through the database).
    rate_per_second: float = Field(default=0.0, ge=0.0, description="0 means no limit")
    hourly_quota: int = Field(default=0, ge=0, description="0 means no limit")
    daily_quota: int = Field(default=0, ge=0, description="0 means no limit")
    batch_size: int = Field(default=200, ge=1)
    lease_seconds: float = Field(default=60.0, gt=0)
    poll_seconds: float = Field(default=0.5, gt=0)
    # Relay-level faults in a row (unreachable, 421 at connect, the same refusal of the sender
    # or of relaying for different recipients) that pause the deliveries being sent; they
    # resume by themselves once a probe of the relay succeeds.
    max_consecutive_errors: int = Field(default=20, ge=1)
    probe_first_seconds: float = Field(default=5.0, gt=0)
    probe_max_seconds: float = Field(default=300.0, gt=0)
    # A delivery whose first this-many messages all fail to render, none rendering, goes to
    # error: its template fails for every recipient.
    max_render_failures: int = Field(default=20, ge=1)
    # Processes that compose and sign messages ahead for each worker (send/compose_ahead.py):
    # rendering is pure CPU, so on a machine with cores to spare a worker sends faster with
    # one or two. 0: the worker composes each message itself as it goes.
    compose_processes: int = Field(default=0, ge=0)
    # Preparation blocks a delivery whose message, composed for a recipient, is larger (bytes).
    max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1)


class PacingSettings(BaseModel):
    """How the engine slows a receiving domain, or the relay, that asks it to (README, "Backoff").

    A slow-down reply holds the domain for the wait it names, else `wait_seconds`, and halves
    the rate it was getting; every `recover_every_seconds` without another slow-down the rate
    grows by `recover_factor`, until it is back to what it was.
    """

    wait_seconds: float = Field(default=60.0, ge=0)
    max_wait_seconds: float = Field(default=3600.0, ge=0)
    min_rate: float = Field(default=0.2, gt=0)
    recover_every_seconds: float = Field(default=10.0, gt=0)
    recover_factor: float = Field(default=1.5, gt=1)


class DomainGroup(BaseModel):
    """Receiving domains one provider serves, paced as one (shell-style patterns)."""

    patterns: list[str]
    rate_per_second: float = Field(default=0.0, ge=0.0, description="0 means no limit")
    concurrency: int = Field(default=0, ge=0, description="0 means no limit")


def _big_providers() -> dict[str, DomainGroup]:
    # Conservative defaults: the big providers throttle senders that open many sessions at
    # once, well before any stated rate.
    return {
        "google": DomainGroup(patterns=["gmail.com", "googlemail.com"], concurrency=20),
        "microsoft": DomainGroup(
            patterns=["outlook.*", "hotmail.*", "live.*", "msn.com"], concurrency=10
        ),
        "yahoo": DomainGroup(
            patterns=["yahoo.*", "ymail.com", "rocketmail.com", "aol.*"], concurrency=10
        ),
        "apple": DomainGroup(patterns=["icloud.com", "me.com", "mac.com"], concurrency=10),
    }


class SandboxSettings(BaseModel):
    """The built-in MTA on loopback (demo, tests) and the outcomes it plays back as DSNs.

    Delays are in the sandbox clock's time, divided by `time_scale`; each is stretched by up
    to `spread` of itself, per message, so that outcomes arrive spread out as in real life.
    """

    host: str = "127.0.0.1"
    port: int = 2525
    # Who gets which outcome: local parts starting with a prefix, domains (and subdomains).
    unknown_prefixes: list[str] = ["unknown"]  # hard bounce: 5.1.1 user unknown
    full_prefixes: list[str] = ["full"]  # soft bounce: 4.2.2 mailbox full, room again later
    slow_domains: list[str] = ["slow.example"]  # a delay DSN, then delivered
    # False: refuse at RCPT as the recipient's MX would; True: accept and bounce later by a
    # failure DSN, as a relay MTA does.
    async_bounces: bool = False
    # Where DSNs go: the SMTP server of the return path's domain; None: `bounces` settings.
    dsn_host: str | None = None
    dsn_port: int | None = None
    time_scale: float = Field(default=1.0, gt=0, description="60 plays an hour in a minute")
    success_after_seconds: float = Field(default=60.0, ge=0)
    bounce_after_seconds: float = Field(default=600.0, ge=0)
    delay_after_seconds: float = Field(default=1800.0, ge=0)
    slow_delivery_seconds: float = Field(default=10800.0, ge=0)
    full_for_seconds: float = Field(default=5400.0, ge=0, description="from the first refusal")
    spread: float = Field(default=0.5, ge=0)


class WebhookSettings(BaseModel):
    """Credentials of the providers' webhooks; a provider left unset refuses every request."""

    # Generic JSON: HMAC-SHA256 of the body with this key, hex, in X-Mailcast-Signature.
    generic_secret: str | None = None
    # Amazon SES via SNS: PEM file of the trusted SNS signing certificate(s); never downloaded.
    ses_certificates: Path | None = None
    # Optional: only these SNS topics are accepted (empty: any topic signed by a trusted cert).
    ses_topic_arns: list[str] = []
    # SendGrid signed event webhook: the verification key (PEM, or base64 DER as SendGrid shows).
    sendgrid_public_key: str | None = None
    # Postmark: HTTP basic auth credentials set in the webhook URL, and/or a custom header secret.
    postmark_username: str | None = None
    postmark_password: str | None = None
    postmark_secret: str | None = None


class WebSettings(BaseModel):
    """The HTTP app that `mailcast serve` runs: API, webhooks, and the scheduler's tick."""

    host: str = "127.0.0.1"
    port: int = 8025
    # Request bodies past these caps are refused (413) before anything reads or parses them:
    # JSON and forms; a provider's webhook post (SendGrid sends up to 1000 events at once);
    # a CSV import, streamed to a temporary file.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_webhook_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    tick_seconds: float = Field(default=15.0, gt=0, description="how often due jobs run")
    webhooks: WebhookSettings = WebhookSettings()
    # /metrics asks for `Authorization: Bearer <token>` when set; None leaves it open.
    metrics_token: str | None = None


class SessionSettings(BaseModel):
    """Dashboard logins: how long a session lasts, its cookie, and the login rate limit."""

    lifetime_hours: float = Field(default=12.0, gt=0)
    # None: Secure unless tracking.base_url is plain http on 127.0.0.1 or localhost.
    secure_cookie: bool | None = None
    # After this many failed logins within the window, per user name or per client address,
    # logins are refused until the window has passed.
    login_attempts: int = Field(default=5, ge=1)
    login_window_minutes: float = Field(default=15.0, gt=0)


class QuarantineSettings(BaseModel):
    """Address quarantine (ACS defaults): error counting and automatic releases."""

    error_gap_hours: float = Field(default=24.0, ge=0, description="soft errors closer count once")
    errors_to_quarantine: int = Field(default=5, ge=1)
    counter_reset_days: float = Field(default=10.0, gt=0, description="also releases erroneous")
    mailbox_full_release_days: float = Field(default=30.0, gt=0)

    @property
    def policy(self) -> QuarantinePolicy:
        return QuarantinePolicy(
            error_gap=dt.timedelta(hours=self.error_gap_hours),
            errors_to_quarantine=self.errors_to_quarantine,
            counter_reset_after=dt.timedelta(days=self.counter_reset_days),
            mailbox_full_release_after=dt.timedelta(days=self.mailbox_full_release_days),
        )


class BounceSettings(BaseModel):
    """mailcast's own SMTP server for bounces, complaints and auto-replies."""

    host: str = "127.0.0.1"
    port: int = 2526
    max_message_bytes: int = Field(default=10_000_000, ge=1024)
    # A group commit holds at most one message per connection: on PostgreSQL a group is one
    # statement of 7 parameters a message, within the protocol's 65,535.
    max_connections: int = Field(default=100, ge=1, le=5000)
    timeout_seconds: float = Field(default=60.0, gt=0)
    # Accepted besides signed VERP addresses: a local part (at the bounce domain) or an address.
    feedback_addresses: list[str] = ["postmaster", "abuse", "feedback"]
    # A report left partly applied (its message was on the wire) is tried again after this:
    # a worker records its hand-offs a batch at a time, so a fast relay's DSN can overtake it.
    retry_after_seconds: float = Field(default=5.0, gt=0)
    # Processes that read and apply what the receiver kept; 0: a thread of the receiver's
    # process (slower: reading holds its interpreter lock). Two: one reads while the other
    # applies, and reading is most of the work.
    consumer_processes: int = Field(default=2, ge=0, le=16)
    # Woken by a kept report, a consumer waits this long for others to apply them together.
    gather_seconds: float = Field(default=0.2, ge=0, le=5)


class TrackingSettings(BaseModel):
    """Opens, clicks, mirror pages and unsubscribe links."""

    # Public address of `mailcast serve`'s HTTP app, as recipients reach it.
    base_url: str = "http://127.0.0.1:8025"
    # "id:secret" signing keys, newest first: it signs, all verify (rotation). Empty: one key
    # derived from the secret key.
    keys: list[str] = []
    pixel_position: Literal["top", "bottom"] = "bottom"
    # Tracking and mirror links expire after this (ACS resource validity); then a substitute
    # page is shown.
    resource_validity_days: float = Field(default=60.0, gt=0)
    # Opens this soon after delivery, and clicks this soon after the open or delivery, are
    # most likely a privacy proxy or a link scanner.
    machine_open_seconds: float = Field(default=3.0, ge=0)
    machine_click_seconds: float = Field(default=2.0, ge=0)
    # An open (a click on the same link) of the same message less than this after the event
    # row it would repeat adds to that row's `repeats` instead of a row of its own; 0: a
    # row per hit. The counters count every hit either way.
    repeat_window_seconds: float = Field(default=60.0, ge=0)
    # Keep machine events out of the rates (they are always kept in the log).
    exclude_machine_events: bool = True
    # The Deployment block's open and click rates are refreshed this often (ACS: hourly).
    rates_refresh_minutes: float = Field(default=60.0, gt=0)


class TypologySettings(BaseModel):
    """Typology rules of preparation (ACS): the fatigue rule and the unsubscribe-link rule."""

    # Fatigue rule for the email channel (the only one): at most `fatigue_max` messages per
    # profile in the last `fatigue_days`; None turns the rule off (ACS: optional).
    fatigue_max: int | None = Field(default=None, ge=1)
    fatigue_days: float = Field(default=15.0, gt=0)
    # A body without an unsubscribe link blocks the delivery; False makes it a warning.
    unsubscribe_link_required: bool = True


class TemplateSettings(BaseModel):
    """What rendering one template may cost (README, "Template limits").

    A template that passes a limit fails to render, naming the setting; at preparation this
    is a blocking finding and the preparation stops there.
    """

    # The largest number `**` or `*` may make, in bits (4096 bits: about 1233 digits).
    max_number_bits: int = Field(default=4096, ge=64)
    # The longest string or list one expression may build (`*`, `+`, `~`, padding, join...).
    max_value_length: int = Field(default=1_000_000, ge=1000)
    # The most items `range()` may give.
    max_range: int = Field(default=100_000, ge=1)
    # The most characters a recipient's subject, HTML and text bodies may render together.
    max_output_chars: int = Field(default=10_000_000, ge=1000)
    # Real seconds of rendering for one recipient, and for a whole preparation's renders.
    recipient_seconds: float = Field(default=2.0, gt=0)
    preparation_seconds: float = Field(default=1800.0, gt=0)


class DkimKey(BaseModel):
    """A DKIM key: mail From `domain`, or from a subdomain without keys of its own, is signed.

    The algorithm is the key's: RSA (1024 to 4096 bits, 2048 advised) or Ed25519. Two keys of
    one domain (RSA and Ed25519) both sign: not every receiver checks Ed25519 signatures yet.
    """

    domain: str
    selector: str = Field(pattern=SELECTOR_PATTERN)
    private_key_file: Path  # PEM, without a passphrase

    # Checked when the settings are read: a bad key stops a process as it starts, not mid-send.
    @field_validator("domain")
    @classmethod
    def _encodable(cls, domain: str) -> str:
        a_label_domain(domain)
        return domain

    @field_validator("private_key_file")
    @classmethod
    def _usable(cls, path: Path) -> Path:
        load_private_key(path)
        return path


class DkimSettings(BaseModel):
    """DKIM signing (README, "DKIM"): mail From a domain with no key leaves unsigned."""

    keys: list[DkimKey] = []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MAILCAST_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = DEFAULT_DATABASE_URL
    # Signs VERP return paths and tracking tokens; kept in the database when not set here.
    secret_key: str | None = None
    feedback_mode: FeedbackMode = FeedbackMode.LEGACY
    validity_hours: float = 84.0  # 3.5 days (ACS)
    approval_required: bool = False
    bounce_domain: str = "bounces.mailcast.localhost"
    message_id_domain: str = "mailcast.localhost"
    max_proof_addresses: int = 100
    # The relay, when there is one; `relays` names several instead (README, "Relays").
    relay: RelaySettings = RelaySettings()
    relays: dict[str, RelaySettings] = {}
    send: SendSettings = SendSettings()
    pacing: PacingSettings = PacingSettings()
    # Receiving domains grouped by provider, each group with its own limits (README,
    # "Domain groups"); a domain in no group is its own group, without limits.
    domain_groups: dict[str, DomainGroup] = Field(default_factory=_big_providers)
    sandbox: SandboxSettings = SandboxSettings()
    bounces: BounceSettings = BounceSettings()
    quarantine: QuarantineSettings = QuarantineSettings()
    web: WebSettings = WebSettings()
    tracking: TrackingSettings = TrackingSettings()
    typology: TypologySettings = TypologySettings()
    templates: TemplateSettings = TemplateSettings()
    sessions: SessionSettings = SessionSettings()
    dkim: DkimSettings = DkimSettings()

    @property
    def named_relays(self) -> dict[str, RelaySettings]:
        """Every relay by name: `relays`, or else `relay` alone, named "default"."""
        return self.relays or {DEFAULT_RELAY: self.relay}

    @property
    def validity_period(self) -> dt.timedelta:
        return dt.timedelta(hours=self.validity_hours)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("MAILCAST_CONFIG", "mailcast.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )
