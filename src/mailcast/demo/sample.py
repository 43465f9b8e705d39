"""The demo's sample: a user per role, an audience with its flaws, a newsletter to send."""

from __future__ import annotations

import csv
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from mailcast import console as render
from mailcast.audience.csv_import import add_profile, import_profiles
from mailcast.audience.target import Target
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryDraft, confirm_send, create_delivery
from mailcast.domain import AddressStatus, Role
from mailcast.prepare.preparation import prepare_delivery
from mailcast.store import addresses as address_store
from mailcast.store import profiles as profile_store
from mailcast.users.service import PermissionDenied, User, add_user

LIST = "newsletter"
DOMAINS = ("example.com", "example.org", "example.net")
CITIES = ("Lyon", "Seoul", "Lisbon", "Osaka", "Chengdu")

# The sample audience's flaws: what preparation and the sandbox MTA will show.
INVALID_ROWS = ["not-an-address", "jane@", "@example.com", "two@@example.com", "a b@example.com"]
NO_ADDRESS = 3
CASE_DUPLICATES = 5
QUARANTINED = 7
DENYLISTED = 4
# What the sandbox MTA plays back (SandboxSettings): they start with these words or live there.
UNKNOWN_USERS = 5  # hard bounce: a failure DSN, 5.1.1 user unknown
MAILBOX_FULL = 3  # soft bounce: a failure DSN, 4.2.2 mailbox full; room again later
SLOW = 4  # a delay DSN, then delivered
UNKNOWN_PREFIX, FULL_PREFIX, SLOW_DOMAIN = "unknown", "full", "slow.example"

HTML = """<html><body style="font-family: sans-serif">
<h1>Hello {{ first_name }}!</h1>
<p>Here is what's new in {{ attributes.city }} this month.</p>
{% for n in range(1, 8) %}
<h2>Story {{ n }}</h2>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt
ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco
laboris nisi ut aliquip ex ea commodo consequat. <a href="https://example.com/stories/{{ n }}">
Read more</a></p>
{% endfor %}
<p><a href="mailto:unsubscribe@example.com?subject=unsubscribe">Unsubscribe</a></p>
</body></html>"""

TEXT = """Hello {{ first_name }}!

Here is what's new in {{ attributes.city }} this month: https://example.com/stories

Unsubscribe: mailto:unsubscribe@example.com?subject=unsubscribe
"""


# The demo's users, one per role: marie and sam act in the story, all of them can log in.
CAST = (("marie", Role.PREPARE), ("sam", Role.START), ("avery", Role.APPROVE), ("ada", Role.ADMIN))
PASSWORD_LETTERS = string.ascii_letters + string.digits  # nothing a shell or a form mangles


@dataclass(frozen=True)
class Login:
    """A demo user and the dashboard password made for this run."""

    user: User
    password: str

    @property
    def role(self) -> Role:
        return next(iter(self.user.roles))


def users(ctx: Context, console: Console) -> dict[str, Login]:
    """A user per role, each with a password of this run (the dashboard is on loopback)."""
    logins = {}
    for name, role in CAST:
        password = "".join(secrets.choice(PASSWORD_LETTERS) for _ in range(12))
        logins[name] = Login(add_user(ctx.db, name, [role], password, ctx.clock), password)
    console.print("users: " + ", ".join(f"{name} ({role})" for name, role in CAST))
    return logins


def audience(ctx: Context, console: Console, workdir: Path, size: int) -> None:
    """`size` profiles in the list, from a CSV with invalid and repeated rows, and a few flaws."""
    path = workdir / "audience.csv"
    rows = sample_addresses(size - NO_ADDRESS)
    _write_csv(path, rows)
    report = import_profiles(ctx.db, path, LIST, ctx.clock)
    console.print(
        f"imported {path.name}: {report.rows_read:,} rows, {report.imported:,} profiles, "
        f"{report.duplicates_in_file} repeated rows merged, {report.error_count} rows rejected"
    )
    for error in report.errors:
        console.print(f"  [yellow]line {error.line}[/yellow]: {error.reason}")
    for n in range(NO_ADDRESS):
        add_profile(ctx.db, ctx.clock, None, first_name=f"Nomail{n}", lists=(LIST,))
    _flag_addresses(ctx, rows)


def sample_addresses(count: int) -> list[str]:
    plain = count - CASE_DUPLICATES - UNKNOWN_USERS - MAILBOX_FULL - SLOW
    found = [f"reader{n:05d}@{DOMAINS[n % len(DOMAINS)]}" for n in range(plain)]
    # The same mailboxes written with capitals: distinct profiles, one address.
    found += [f"Reader{n:05d}@{DOMAINS[n % len(DOMAINS)]}" for n in range(CASE_DUPLICATES)]
    found += [f"{UNKNOWN_PREFIX}{n}@example.org" for n in range(UNKNOWN_USERS)]
    found += [f"{FULL_PREFIX}{n}@example.net" for n in range(MAILBOX_FULL)]
    found += [f"reader{n}@{SLOW_DOMAIN}" for n in range(SLOW)]
    return found


def _write_csv(path: Path, rows: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "last_name", "city"])
        for n, address in enumerate(rows):
            writer.writerow([address, f"Reader{n}", "Sample", CITIES[n % len(CITIES)]])
            if n < len(INVALID_ROWS):
                writer.writerow([INVALID_ROWS[n], "Broken", "Row", "Nowhere"])
            if n % 250 == 1:
                writer.writerow([address, f"Reader{n}", "Again", CITIES[n % len(CITIES)]])


def _flag_addresses(ctx: Context, rows: list[str]) -> None:
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        for address in rows[100 : 100 + QUARANTINED]:
            address_store.set_address_status(
                conn, address.casefold(), AddressStatus.QUARANTINE, now
            )
        for address in rows[200 : 200 + DENYLISTED]:
            profile = profile_store.get_profile_by_email(conn, address)
            assert profile is not None
            profile_store.set_email_subscribed(conn, profile["id"], False, now)


def delivery(ctx: Context, author: User) -> int:
    draft = DeliveryDraft(
        name="Monthly newsletter",
        subject="{{ first_name }}, your news from {{ attributes.city }}",
        from_addr="Mailcast Demo <news@example.com>",
        target=Target((LIST,)),
        html=HTML,
        text=TEXT,
    )
    return create_delivery(ctx, author, draft)


def prepare(ctx: Context, console: Console, user: User, delivery_id: int) -> None:
    result = prepare_delivery(ctx, user, delivery_id)
    for finding in result.findings:
        console.print(f"{finding.level}: {finding.message}")
    console.print(render.exclusions_table(result.exclusions))
    console.print(f"prepared: {render.state_label(result.state)}, {result.to_deliver:,} to deliver")


def confirm(ctx: Context, console: Console, marie: User, sam: User, delivery_id: int) -> None:
    try:
        confirm_send(ctx, marie, delivery_id)
    except PermissionDenied as refusal:
        console.print(f"marie clicks Confirm send: [red]refused[/red] — {refusal}")
    console.print("sam clicks Confirm send, then OK")
    state = confirm_send(ctx, sam, delivery_id)
    console.print(f"delivery {delivery_id}: {render.state_label(state)}")
