"""The tables of mailcast (SQLAlchemy Core); migrations are generated from them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
    true,
)

from mailcast.store.types import BigId, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ADDRESS = String(320)

profiles = Table(
    "profiles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # Local part as given, domain lower-cased; None when the profile has no address.
    Column("email", ADDRESS, unique=True),
    # The whole address case-folded: what preparation compares to find duplicates.
    Column("email_key", ADDRESS, index=True),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("attributes", JSON, nullable=False, default=dict),
    # Unsubscribed from email = on the email denylist (SPEC §1).
    Column("email_subscribed", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

lists = Table(
    "lists",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

list_members = Table(
    "list_members",
    metadata,
    Column("list_id", ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True),
    Column("profile_id", ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_list_members_profile", "profile_id"),
)

address_states = Table(
    "address_states",
    metadata,
    Column("address", ADDRESS, primary_key=True),  # the case-folded address
    Column("status", String(20), nullable=False),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error_at", UTCDateTime),
    Column("failure_reason", String(40)),
    Column("detail", Text),
    Column("status_changed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(200)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(40), primary_key=True),
)

# Dashboard login sessions; the cookie holds a random token, the table only its hash.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("peer", String(100)),
    Column("user_agent", String(300)),
)

# Failed logins, for rate limiting across processes (by user name and by client address).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False),
    Column("peer", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_login_failures_username_at", "username", "at"),
    Index("ix_login_failures_peer_at", "peer", "at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("state", String(30), nullable=False, index=True),
    Column("subject", Text, nullable=False),
    Column("from_addr", String(400), nullable=False),
    Column("reply_to", String(400)),
    Column("html_template", Text, nullable=False, default=""),
    Column("text_template", Text, nullable=False, default=""),
    # Inline the <style> rules into style attributes (compose/inline_css.py).
    Column("inline_css", Boolean, nullable=False, default=False, server_default=false()),
    # Tracking options: the open pixel, and clicks through tracked links (unsubscribe and
    # mirror links work either way).
    Column("track_opens", Boolean, nullable=False, default=True, server_default=true()),
    Column("track_clicks", Boolean, nullable=False, default=True, server_default=true()),
    # Approval after preparation: null follows the settings' approval_required.
    Column("approval_required", Boolean),
    # {"lists": [names], "filter": "expression or null"}
    Column("target", JSON, nullable=False),
    Column("target_limit", Integer),
    Column("feedback_mode", String(10), nullable=False),
    Column("send_at", UTCDateTime),
    Column("validity_hours", Integer, nullable=False),
    Column("validity_ends_at", UTCDateTime),
    # Bumped by every edit; approval and preparation are valid for one version only.
    Column("version", Integer, nullable=False, default=1),
    Column("prepared_version", Integer),
    Column("preparation_log", JSON),
    Column("approved_version", Integer),
    Column("approved_by", ForeignKey("users.id")),
    Column("confirmed_by", ForeignKey("users.id")),
    Column("created_by", ForeignKey("users.id")),
    Column("parent_id", ForeignKey("deliveries.id")),
    # The IANA time zone the send date was given in (send_at itself is stored in UTC).
    Column("send_timezone", String(64)),
    # A copy (copy-and-retry) and whether it leaves out who the original delivered to.
    Column("copied_from_id", ForeignKey("deliveries.id")),
    Column("leave_out_delivered", Boolean, nullable=False, default=False, server_default=false()),
    # Where proofs go (at most 100, a control rule); proofs never count in the KPIs.
    Column("proof_addresses", JSON),
    # The relays it may use, by name (README, "Relays"); NULL: every relay of the settings.
    Column("relays", JSON),
    # A child of a recurring delivery: the occurrence it was created for, or the period
    # ("2026-11", "2026-W47", "2026-11-23") whose occurrences all report into it.
    Column("recurring_id", ForeignKey("recurring_deliveries.id", ondelete="SET NULL")),
    Column("occurrence_at", UTCDateTime),
    Column("aggregate_period", String(20)),
    Column("error_reason", Text),
    # Who paused the send (PauseCause) and why: one paused by relay faults resumes by itself.
    Column("pause_reason", Text),
    Column("paused_by", String(16)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
)

# A delivery template plus a recurrence; each occurrence creates or feeds a child delivery.
recurring_deliveries = Table(
    "recurring_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    # The fields of the child deliveries: subject, from, bodies, target, limits, mode, ...
    Column("template", JSON, nullable=False),
    # A cron expression ("0 9 * * MON") or an RFC 5545 RRULE ("FREQ=WEEKLY;BYDAY=MO").
    Column("recurrence", String(500), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("aggregation", String(10), nullable=False),  # none, day, week, month
    Column("confirm_before_send", Boolean, nullable=False, default=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("next_occurrence_at", UTCDateTime, index=True),
    Column("last_occurrence_at", UTCDateTime),
    Column("created_by", ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Every occurrence that came due, once (unique): what became of it.
occurrences = Table(
    "occurrences",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "recurring_id",
        ForeignKey("recurring_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("due_at", UTCDateTime, nullable=False),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="SET NULL")),
    Column("outcome", String(20), nullable=False),
    Column("detail", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_occurrences_recurring_due", "recurring_id", "due_at", unique=True),
)

# Proofs sent for a delivery: kept apart from the sending log, so never in the KPIs.
proofs = Table(
    "proofs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("address", ADDRESS, nullable=False),
    Column("version", Integer, nullable=False),  # the delivery version the proof showed
    Column("sent_by", ForeignKey("users.id")),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("smtp_code", Integer),
    Column("smtp_response", Text),
    Column("message_id_header", String(250)),
    Index("ix_proofs_delivery", "delivery_id"),
)

# Live KPI counters, one row per delivery, moved once per recorded batch.
delivery_counters = Table(
    "delivery_counters",
    metadata,
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("to_deliver", Integer, nullable=False, default=0),
    Column("excluded", Integer, nullable=False, default=0),
    Column("queued", Integer, nullable=False, default=0),
    Column("pending", Integer, nullable=False, default=0),
    Column("sent", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("not_sent", Integer, nullable=False, default=0),
    # Opens and clicks by people (machine events are kept in the log but not counted here).
    Column("unique_opens", Integer, nullable=False, default=0),
    Column("unique_clicks", Integer, nullable=False, default=0),
    Column("total_opens", Integer, nullable=False, default=0, server_default="0"),
    Column("total_clicks", Integer, nullable=False, default=0, server_default="0"),
    Column("unsubscribed", Integer, nullable=False, default=0, server_default="0"),
    # The rates the Deployment block shows, refreshed on a schedule and by Compute stats (ACS).
    Column("shown_unique_opens", Integer, nullable=False, default=0, server_default="0"),
    Column("shown_unique_clicks", Integer, nullable=False, default=0, server_default="0"),
    Column("rates_refreshed_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The sending log: one row per delivery x recipient.
messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("profile_id", ForeignKey("profiles.id", ondelete="SET NULL")),
    Column("address", ADDRESS, nullable=False),
    Column("status", String(20), nullable=False),
    Column("send_state", String(20), nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Column("claimed_by", String(64)),
    Column("attempts", Integer, nullable=False, default=0),  # hand-offs whose reply was recorded
    # Hand-offs begun, each counted before its DATA: one more than `attempts` when a worker
    # died after beginning one, before recording it.
    Column("relay_attempts", Integer, nullable=False, default=0, server_default="0"),
    # Hand-offs begun again after such an unrecorded one: the message may have left twice.
    Column("resends", Integer, nullable=False, default=0, server_default="0"),
    Column("first_failure_at", UTCDateTime),
    Column("failure_type", String(10)),
    Column("failure_reason", String(40)),
    Column("smtp_code", Integer),
    Column("smtp_response", Text),
    Column("mta_queue_id", String(100)),
    Column("message_id_header", String(250), unique=True),
    Column("relayed_at", UTCDateTime),
    Column("relayed_by", String(64)),  # the worker that handed it over
    Column("delivered_at", UTCDateTime),
    # Tracking, by people; machine opens and clicks are counted apart.
    Column("opens", Integer, nullable=False, default=0, server_default="0"),
    Column("clicks", Integer, nullable=False, default=0, server_default="0"),
    Column("machine_opens", Integer, nullable=False, default=0, server_default="0"),
    Column("machine_clicks", Integer, nullable=False, default=0, server_default="0"),
    Column("first_opened_at", UTCDateTime),
    Column("last_opened_at", UTCDateTime),
    Column("first_clicked_at", UTCDateTime),
    Column("last_clicked_at", UTCDateTime),
    Column("unsubscribed_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_messages_claim", "send_state", "delivery_id", "id"),
    Index("ix_messages_delivery_status", "delivery_id", "status"),
    Index("ix_messages_profile", "profile_id"),
)
# The few messages relayed more than once, counted per delivery without reading the others.
Index(
    "ix_messages_resent",
    messages.c.delivery_id,
    sqlite_where=messages.c.resends > 0,
    postgresql_where=messages.c.resends > 0,
)

# The exclusion log: recipients left out at preparation, with the rule that left them out.
exclusions = Table(
    "exclusions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("profile_id", ForeignKey("profiles.id", ondelete="SET NULL")),
    Column("address", ADDRESS),
    Column("reason", String(30), nullable=False),
    Column("detail", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_exclusions_delivery_reason", "delivery_id", "reason"),
)

# Everything that happened to a message, append-only.
events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE")),
    Column("profile_id", ForeignKey("profiles.id", ondelete="SET NULL")),
    Column("kind", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("failure_type", String(10)),
    Column("failure_reason", String(40)),
    Column("detail", JSON),
    # The feedback (report x recipient) the event records: the same report twice is one event.
    Column("source_key", String(200)),
    # An open or click most likely made by a machine (privacy proxy, link scanner).
    Column("machine", Boolean, nullable=False, default=False, server_default=false()),
    # Hits of the same open or click that came within tracking.repeat_window_seconds of this
    # one: counted here instead of a row each (tracking/recorder.py).
    Column("repeats", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_events_message", "message_id"),
    Index("ix_events_delivery_kind_at", "delivery_id", "kind", "at"),
    Index("ix_events_profile_at", "profile_id", "at"),
    Index("ix_events_source_key", "source_key", unique=True),
)

# Every message that reached the bounce receiver, stored before its 250 reply.
inbound_reports = Table(
    "inbound_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("mail_from", String(400), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("peer", String(100)),
    Column("size", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("kind", String(20)),  # what the parser made of it: dsn, arf, autoreply, ...
    Column("subject", Text),
    Column("processed_at", UTCDateTime),
    Column("applied", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("unmatched", Integer, nullable=False, default=0),
    Column("deferred", Integer, nullable=False, default=0),
    Column("error", Text),
    # Until then the consumer that claimed it is applying it; past it, another one may.
    Column("claimed_until", UTCDateTime),
    Index("ix_inbound_reports_outcome_received", "outcome", "received_at"),
)

# Generated secrets (signing keys) when the settings give none.
secrets = Table(
    "secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)

# The send rate and quotas shared by every worker: what each window of time has granted.
send_windows = Table(
    "send_windows",
    metadata,
    # "rate", "hour", "day"; a relay's and a domain group's: "relay:eu:rate", "group:google:rate"
    Column("name", String(200), primary_key=True),
    Column("window_index", BigId, primary_key=True, autoincrement=False),  # index since the epoch
    Column("used", Integer, nullable=False),
)

# An operator's unsubscribe or resubscribe of a profile, with the reason given (events need a
# delivery; this change has none). Recipients' own unsubscribes stay events of their message.
subscription_changes = Table(
    "subscription_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
    Column("subscribed", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", String(100), nullable=False),  # the user's name, kept if removed
    Column("at", UTCDateTime, nullable=False),
    Index("ix_subscription_changes_profile_at", "profile_id", "at"),
)
