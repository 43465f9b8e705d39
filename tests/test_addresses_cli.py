"""`mailcast addresses list|search|release|deny|allow|remove`: the admin's address commands."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from address_people import ANGRY, FINE, GONE, people_with_a_past
from conftest import Scenario
from mailcast.cli import EXIT_REFUSED, app
from mailcast.context import Context
from mailcast.domain import AddressStatus, FailureReason, FailureType, Role
from mailcast.feedback.quarantine import note_complaint, note_failure
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import addresses as address_store
from mailcast.users.service import add_user, create_token

HARD, SOFT = FailureType.HARD, FailureType.SOFT


@pytest.fixture
def cli_env(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCAST_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("MAILCAST_SECRET_KEY", "test-secret")
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line


@pytest.fixture
def admin_token(ctx: Context) -> str:
    user = add_user(ctx.db, "ada", [Role.ADMIN], None, ctx.clock)
    return create_token(ctx.db, user, "cli", ctx.clock)


@pytest.fixture
def marie_token(ctx: Context) -> str:
    user = add_user(ctx.db, "marie", [Role.PREPARE, Role.APPROVE], None, ctx.clock)
    return create_token(ctx.db, user, "cli", ctx.clock)


@pytest.fixture
def states(ctx: Context) -> None:
    """Two domains with quarantined addresses, one erroneous, one on the denylist."""
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        for address in ("a@outage.example", "b@outage.example"):
            note_failure(conn, address, HARD, FailureReason.UNREACHABLE, now, "421 try later")
        note_failure(conn, "full@other.example", HARD, FailureReason.MAILBOX_FULL, now)
        note_failure(conn, "gone@other.example", HARD, FailureReason.USER_UNKNOWN, now)
        note_failure(conn, "soft@other.example", SOFT, FailureReason.UNREACHABLE, now)
        note_complaint(conn, "angry@other.example", now, "arf: abuse")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["addresses", *args])


def status_of(ctx: Context, address: str) -> str | None:
    with ctx.db.read() as conn:
        row = address_store.get_address_state(conn, address)
    return None if row is None else str(row["status"])


def listed(output: str) -> set[str]:
    return {word for line in output.splitlines() for word in line.split() if "@" in word}


@pytest.mark.usefixtures("cli_env", "states")
def test_list_shows_the_addresses_in_a_status_with_their_reason_and_release(
    admin_token: str,
) -> None:
    result = run("list", "--token", admin_token, "--status", "quarantine")

    assert result.exit_code == 0, result.output
    assert listed(result.stdout) == {
        "a@outage.example",
        "b@outage.example",
        "full@other.example",
        "gone@other.example",
    }
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if "@" in line}
    assert "mailbox_full" in rows["full@other.example"]
    assert "2026-02-04" in rows["full@other.example"]  # released 30 days after 2026-01-05
    assert "by an admin" in rows["gone@other.example"]
    assert "quarantine: 4" in result.stdout and "denylist: 1" in result.stdout

    everything = run("list", "--token", admin_token)
    assert len(listed(everything.stdout)) == 6


@pytest.mark.usefixtures("cli_env", "states")
def test_release_named_addresses(ctx: Context, admin_token: str) -> None:
    result = run("release", "--token", admin_token, "A@outage.example", "angry@other.example")

    assert result.exit_code == 0, result.output
    assert "2 address(es) released" in result.stdout
    assert status_of(ctx, "a@outage.example") == AddressStatus.VALID
    assert status_of(ctx, "angry@other.example") == AddressStatus.VALID
    assert status_of(ctx, "b@outage.example") == AddressStatus.QUARANTINE


@pytest.mark.usefixtures("cli_env", "states")
def test_release_in_bulk_by_domain_then_reason_then_all(ctx: Context, admin_token: str) -> None:
    by_domain = run("release", "--token", admin_token, "--domain", "outage.example")
    assert by_domain.exit_code == 0, by_domain.output
    assert listed(by_domain.stdout) == {"a@outage.example", "b@outage.example"}

    by_reason = run("release", "--token", admin_token, "--reason", "mailbox_full")
    assert listed(by_reason.stdout) == {"full@other.example"}

    everything = run("release", "--token", admin_token, "--all")
    assert listed(everything.stdout) == {"gone@other.example", "soft@other.example"}
    # A bulk release leaves the denylist alone.
    assert status_of(ctx, "angry@other.example") == AddressStatus.DENYLIST


@pytest.mark.usefixtures("cli_env", "states")
def test_release_of_everything_quarantined_since_a_date(ctx: Context, admin_token: str) -> None:
    assert listed(run("release", "--token", admin_token, "--since", "2026-01-06").stdout) == set()

    result = run("release", "--token", admin_token, "--since", "2026-01-05T08:00+00:00")

    assert "5 address(es) released" in result.stdout


@pytest.mark.usefixtures("cli_env", "states")
def test_a_user_without_admin_is_refused_with_exit_3_and_nothing_changes(
    ctx: Context, marie_token: str
) -> None:
    for args in (("release", "--all"), ("release", "a@outage.example"), ("list",)):
        result = run(args[0], "--token", marie_token, *args[1:])
        assert result.exit_code == EXIT_REFUSED, result.output
        assert "'admin' is missing" in result.stderr

    unknown_token = run("release", "--token", "mc_not-a-token", "--all")
    assert unknown_token.exit_code == EXIT_REFUSED
    assert status_of(ctx, "a@outage.example") == AddressStatus.QUARANTINE


@pytest.mark.usefixtures("cli_env", "states")
def test_bad_requests_get_a_clear_error_and_release_nothing(ctx: Context, admin_token: str) -> None:
    cases = {
        ("a@outage.example", "not an address"): "not email addresses",
        ("a@outage.example", "--domain", "outage.example"): "name addresses, or choose",
        ("--all", "--domain", "outage.example"): "takes no --domain",
        ("--since", "last tuesday"): "--since needs an ISO date",
        ("--domain", "no domain here"): "not a domain",
        (): "nothing to release",
    }
    for args, message in cases.items():
        result = run("release", "--token", admin_token, *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr, (args, result.stderr)

    assert status_of(ctx, "a@outage.example") == AddressStatus.QUARANTINE


# --- Denylist and allowlist by hand; search; unsubscribes and complaints --------------------


def detail_of(ctx: Context, address: str) -> str | None:
    with ctx.db.read() as conn:
        row = address_store.get_address_state(conn, address)
    return None if row is None else row["detail"]


@pytest.mark.usefixtures("cli_env", "states")
def test_an_admin_denies_allows_and_removes_addresses(ctx: Context, admin_token: str) -> None:
    denied = run(
        "deny", "--token", admin_token, "Spam@Trap.example", "a@outage.example", "--reason", "trap"
    )
    assert denied.exit_code == 0, denied.output
    assert "2 address(es) put on the denylist" in denied.stdout
    assert status_of(ctx, "spam@trap.example") == status_of(ctx, "a@outage.example") == "denylist"
    assert detail_of(ctx, "spam@trap.example") == "put on the denylist by ada: trap"

    again = run("deny", "--token", admin_token, "spam@trap.example")
    assert "already on the denylist: spam@trap.example" in again.stderr
    assert "0 address(es) put on the denylist" in again.stdout

    allowed = run("allow", "--token", admin_token, "a@outage.example", "vip@client.example")
    assert allowed.exit_code == 0, allowed.output
    assert status_of(ctx, "a@outage.example") == status_of(ctx, "vip@client.example") == "allowlist"

    removed = run("remove", "--token", admin_token, "--from", "allowlist", "vip@client.example")
    assert removed.exit_code == 0, removed.output
    assert "taken off the allowlist: vip@client.example" in removed.stdout
    assert status_of(ctx, "vip@client.example") == "valid"
    undenied = run("remove", "--token", admin_token, "--from", "denylist", "spam@trap.example")
    assert status_of(ctx, "spam@trap.example") == "valid", undenied.output
    not_on = run("remove", "--token", admin_token, "--from", "denylist", "b@outage.example")
    assert "not on the denylist: b@outage.example" in not_on.stderr
    assert status_of(ctx, "b@outage.example") == "quarantine"


@pytest.mark.usefixtures("cli_env", "states")
def test_list_changes_are_refused_without_admin_or_with_bad_input(
    ctx: Context, admin_token: str, marie_token: str
) -> None:
    for args in (
        ("deny", "x@example.com"),
        ("allow", "x@example.com"),
        ("remove", "--from", "denylist", "angry@other.example"),
        ("search", "example"),
    ):
        refused = run(args[0], "--token", marie_token, *args[1:])
        assert refused.exit_code == EXIT_REFUSED, refused.output
        assert "'admin' is missing" in refused.stderr
    assert status_of(ctx, "x@example.com") is None
    assert status_of(ctx, "angry@other.example") == "denylist"

    bad = run("deny", "--token", admin_token, "x@example.com", "not an address")
    assert bad.exit_code == 1 and "not email addresses: 'not an address'" in bad.stderr
    long_reason = run("allow", "--token", admin_token, "x@example.com", "--reason", "x" * 501)
    assert long_reason.exit_code == 1 and "at most 500 characters" in long_reason.stderr
    wrong_list = run("remove", "--token", admin_token, "--from", "quarantine", "a@outage.example")
    assert wrong_list.exit_code == 2
    assert status_of(ctx, "x@example.com") is None
    assert status_of(ctx, "a@outage.example") == "quarantine"


@pytest.mark.usefixtures("cli_env")
def test_search_and_list_show_who_unsubscribed_and_who_complained(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, admin_token: str
) -> None:
    people_with_a_past(ctx, scenario)

    everyone = run("search", "example", "--token", admin_token)
    assert everyone.exit_code == 0, everyone.output
    rows = {line.split()[1]: line for line in everyone.stdout.splitlines() if "@" in line}
    assert set(rows) == {ANGRY, GONE, FINE}
    assert "denylist" in rows[ANGRY] and "2026-01-05" in rows[ANGRY].split("│")[-2]
    assert "yes" in rows[GONE].split("│")[-3] and rows[GONE].split()[3] == "valid"
    assert "yes" not in rows[FINE] and "valid" in rows[FINE]

    assert listed(run("search", "@EXAMPLE.org", "--token", admin_token).stdout) == {GONE}
    # Without a search: the addresses with a state, and the people who opted out.
    assert listed(run("list", "--token", admin_token).stdout) == {ANGRY, GONE}
    assert listed(run("list", "--complained", "--token", admin_token).stdout) == {ANGRY}
    assert listed(run("list", "--unsubscribed", "--token", admin_token).stdout) == {GONE}
