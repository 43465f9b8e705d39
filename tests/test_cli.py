"""The command line as operators use it: users, imports, confirm with roles, and the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mailcast.cli import EXIT_REFUSED, app
from mailcast.context import Context
from mailcast.domain import DeliveryState, Role
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import profiles as profile_store
from mailcast.store.db import Database
from mailcast.users.service import authenticate_token

TOKEN = re.compile(r"API token \(shown once\): (mc_\S+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def cli(ctx: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A runner whose commands reach the test database, as the operator's shell would."""
    monkeypatch.chdir(tmp_path)  # no stray mailcast.toml is read
    monkeypatch.setenv("MAILCAST_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("MAILCAST_SECRET_KEY", ctx.settings.secret_key or "")
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps long lines at the terminal width
    for name in ("MAILCAST_TOKEN", "MAILCAST_CONFIG", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _run(cli: CliRunner, *args: str, input: str | None = None) -> Result:
    return cli.invoke(app, list(args), input=input)


def _ok(cli: CliRunner, *args: str) -> str:
    result = _run(cli, *args)
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.output)


def _add_user(cli: CliRunner, name: str, role: Role) -> str:
    output = _ok(cli, "users", "add", name, "--role", role.value)
    assert f"user '{name}' with roles: {role.value}" in output
    match = TOKEN.search(output)
    assert match, output
    return match.group(1)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_users_add_prints_a_token_that_acts_as_that_user(cli: CliRunner, db: Database) -> None:
    token = _add_user(cli, "marie", Role.PREPARE)

    user = authenticate_token(db, token)
    assert user is not None
    assert (user.name, user.roles) == ("marie", frozenset({Role.PREPARE}))
    assert _add_user(cli, "sam", Role.START) != token


def test_users_add_refuses_an_unknown_role_and_a_taken_name(cli: CliRunner) -> None:
    _add_user(cli, "marie", Role.PREPARE)

    taken = _run(cli, "users", "add", "marie", "--role", "admin")
    assert taken.exit_code == 1
    assert "a user named 'marie' already exists" in taken.output
    assert _run(cli, "users", "add", "x", "--role", "superuser").exit_code == 2


def test_profiles_import_reports_each_bad_row_by_line_and_keeps_the_good_ones(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    csv_file = _write(
        tmp_path / "people.csv",
        "email,first_name,city\n"  # line 1
        "ann@example.com,Ann,Lyon\n"  # 2
        "not-an-address,Bob,Paris\n"  # 3
        'cat@example.com,"Cat\nMulti-line",Oslo\n'  # 4-5: one row on two lines
        "dan@,Dan,Rome\n"  # 6
        "eve@example.com,Eve\n"  # 7: a cell short
        "\n"  # 8: blank, skipped
        "Fay@EXAMPLE.com,Fay,Kyiv\n"  # 9
        ",Gus,Lima\n",  # 10
    )

    output = _ok(cli, "profiles", "import", str(csv_file), "--list", "news")

    reported = re.findall(r"^line (\d+): (.*)$", output, re.MULTILINE)
    assert [int(line) for line, _ in reported] == [3, 6, 7, 10]
    reasons = dict(reported)
    assert "invalid email 'not-an-address'" in reasons["3"]
    assert "invalid email 'dan@'" in reasons["6"]
    assert reasons["7"] == "expected 3 cells, found 2"
    assert reasons["10"] == "missing email"
    assert "7 rows read: 3 profiles created" in output
    assert "4 rows rejected; list 'news'" in output
    with db.read() as conn:
        news = profile_store.list_ids(conn, ["news"])["news"]
        members = profile_store.member_ids(conn, news)
        emails = {profile_store.get_profile(conn, pid)["email"] for pid in members}  # type: ignore[index]
        fay = profile_store.get_profile_by_email(conn, "Fay@example.com")
    assert emails == {"ann@example.com", "cat@example.com", "Fay@example.com"}
    assert fay is not None and fay["attributes"] == {"city": "Kyiv"}


def test_profiles_import_of_a_file_without_an_email_column_fails_clearly(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    csv_file = _write(tmp_path / "bad.csv", "name,city\nAnn,Lyon\n")

    result = _run(cli, "profiles", "import", str(csv_file), "--list", "news")

    assert result.exit_code != 0
    assert "no 'email' column" in str(result.exception) + result.output
    with db.read() as conn:
        assert profile_store.count_profiles(conn) == 0


def _prepared_delivery(cli: CliRunner, tmp_path: Path, author_token: str) -> int:
    audience = _write(tmp_path / "a.csv", "email,first_name\na@example.com,A\nb@example.com,B\n")
    _ok(cli, "profiles", "import", str(audience), "--list", "news")
    html = _write(
        tmp_path / "m.html", '<p>Hi {{ first_name }} <a href="https://x.org/u">unsubscribe</a>'
    )
    text = _write(tmp_path / "m.txt", "Hi {{ first_name }}, unsubscribe: https://x.org/u")
    created = _ok(
        cli,
        *("deliveries", "create", "--token", author_token, "--name", "June"),
        *("--subject", "News for {{ first_name }}", "--from", "News <news@example.com>"),
        *("--list", "news", "--html-file", str(html), "--text-file", str(text)),
    )
    match = re.search(r"delivery (\d+) created \(draft\)", created)
    assert match, created
    delivery_id = int(match.group(1))
    prepared = _ok(cli, "deliveries", "prepare", "--token", author_token, str(delivery_id))
    assert re.search(r"state: ready.*; to deliver: 2$", prepared, re.MULTILINE), prepared
    return delivery_id


@pytest.mark.parametrize("extra", [["--yes"], []])
def test_confirm_without_start_deliveries_exits_3_names_the_role_and_changes_nothing(
    cli: CliRunner, ctx: Context, tmp_path: Path, extra: list[str]
) -> None:
    marie = _add_user(cli, "marie", Role.PREPARE)
    delivery_id = _prepared_delivery(cli, tmp_path, marie)

    result = _run(cli, "deliveries", "confirm", "--token", marie, str(delivery_id), *extra)

    assert result.exit_code == EXIT_REFUSED == 3
    assert "refused" in result.output
    assert "'start_deliveries' is missing" in result.output
    assert "Send «" not in result.output  # refused before the confirmation question
    assert deployment(ctx, delivery_id).state is DeliveryState.READY
    assert deployment(ctx, delivery_id).counts.queued == 2


def test_confirm_by_a_start_deliveries_user_moves_the_delivery_to_sending(
    cli: CliRunner, ctx: Context, tmp_path: Path
) -> None:
    delivery_id = _prepared_delivery(cli, tmp_path, _add_user(cli, "marie", Role.PREPARE))
    sam = _add_user(cli, "sam", Role.START)

    declined = _run(cli, "deliveries", "confirm", "--token", sam, str(delivery_id), input="n\n")
    assert declined.exit_code == 1
    assert "Send «June» to 2 recipients?" in declined.output
    assert deployment(ctx, delivery_id).state is DeliveryState.READY

    output = _ok(cli, "deliveries", "confirm", "--token", sam, str(delivery_id), "--yes")

    assert f"delivery {delivery_id}: sending" in output
    assert deployment(ctx, delivery_id).state is DeliveryState.SENDING


def test_an_unknown_token_is_refused(cli: CliRunner, ctx: Context, tmp_path: Path) -> None:
    delivery_id = _prepared_delivery(cli, tmp_path, _add_user(cli, "marie", Role.PREPARE))

    result = _run(cli, "deliveries", "confirm", "--token", "mc_forged", str(delivery_id), "--yes")

    assert result.exit_code == EXIT_REFUSED
    assert "the API token is unknown or revoked" in result.output
    assert deployment(ctx, delivery_id).state is DeliveryState.READY


def test_creating_a_delivery_with_a_filter_that_injects_sql_fails_clearly(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    marie = _add_user(cli, "marie", Role.PREPARE)
    audience = _write(tmp_path / "a.csv", "email\na@example.com\n")
    _ok(cli, "profiles", "import", str(audience), "--list", "news")

    result = _run(
        cli,
        *("deliveries", "create", "--token", marie, "--name", "x", "--subject", "x"),
        *("--from", "news@example.com", "--list", "news"),
        *("--filter", "city = 'x'; DELETE FROM profiles"),
    )

    assert result.exit_code == 1
    assert "invalid filter: unexpected character ';' (column 11)" in result.output
    with db.read() as conn:
        assert profile_store.count_profiles(conn) == 1


# --- The demo, as `make demo` runs it ---------------------------------------------------


def _rows(output: str, title: str) -> dict[str, str]:
    """The label → value rows of the rich table printed under `title`."""
    block = output.split(title, 1)[1]
    rows: dict[str, str] = {}
    for line in block.splitlines()[1:]:
        if line.startswith(("└", "╰")):
            break
        cells = [c.strip() for c in line.split("│")[1:-1]]  # body rows; the header has ┃
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def _number(text: str) -> int:
    match = re.search(r"\(([\d,]+)\)", text) or re.fullmatch(r"([\d,]+)", text)
    assert match, text
    return int(match.group(1).replace(",", ""))


def test_the_demo_sends_to_everyone_left_after_the_exclusions_and_its_figures_add_up(
    tmp_path: Path,
) -> None:
    profiles = 1000
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCAST_")}
    env |= {"COLUMNS": "120", "NO_COLOR": "1", "TMPDIR": str(tmp_path)}
    env.pop("FORCE_COLOR", None)

    done = subprocess.run(
        [sys.executable, "-m", "mailcast", "demo", "--exit", "--profiles", str(profiles)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stderr
    output = ANSI.sub("", done.stdout)
    exclusions = {k: _number(v) for k, v in _rows(output, "Exclusions by reason").items()}
    total = exclusions.pop("total")
    assert set(exclusions) == {"address empty", "denylisted", "quarantined", "duplicate"}
    assert all(n > 0 for n in exclusions.values())
    assert sum(exclusions.values()) == total
    block = _rows(output, "Deployment — delivery")
    to_deliver = _number(block["Messages to deliver"])
    processed = _number(block["Messages sent (processed)"])
    delivered, failed = _number(block["Delivered"]), _number(block["Bounces + errors"])
    assert block["State"].startswith("sent")
    assert to_deliver == profiles - total
    assert _number(block["Excluded at preparation"]) == total
    assert processed == to_deliver
    assert delivered + failed == processed
    assert block["Delivered"].startswith(f"{100 * delivered / processed:.2f} %")
    assert f"prepared: ready, {to_deliver:,} to deliver" in output
    assert f"the sandbox MTA received {delivered:,} messages" in output
    assert "the role 'start_deliveries' is missing" in output
    # Readers opened and clicked; compute stats refreshed the rates the final block shows.
    title = "Deployment — delivery"
    final = _rows(title + output.rsplit(title, 1)[1], title)
    assert final["State"].startswith("finished")
    assert float(final["Open rate"].split()[0]) > 0
    assert float(final["Click-through rate"].split()[0]) > 0


def _one_profile_in_news(cli: CliRunner, tmp_path: Path) -> None:
    _ok(
        cli,
        "profiles",
        "import",
        str(_write(tmp_path / "a.csv", "email\na@x.org\n")),
        "--list",
        "news",
    )


def test_deliveries_create_names_its_relays_and_refuses_an_unknown_one(
    cli: CliRunner, ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILCAST_RELAYS", '{"eu": {"port": 2601}, "backup": {"port": 2602}}')
    marie = _add_user(cli, "marie", Role.PREPARE)
    _one_profile_in_news(cli, tmp_path)
    create = ["deliveries", "create", "--token", marie, "--name", "x", "--subject", "x"]
    create += ["--from", "n@example.com", "--list", "news"]
    output = _ok(cli, *create, "--relay", "backup", "--relay", "eu")
    match = re.search(r"delivery (\d+) created", output)
    assert match, output
    with ctx.db.read() as conn:
        assert delivery_store.get_delivery(conn, int(match[1]))["relays"] == ["backup", "eu"]
    refused = cli.invoke(app, [*create, "--relay", "us"])
    assert refused.exit_code != 0
    assert "unknown relay 'us': the relays are eu, backup" in refused.output


def test_deliveries_list_and_status_show_the_relays_all_when_it_names_none(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILCAST_RELAYS", '{"eu": {"port": 2601}, "backup": {"port": 2602}}')
    marie = _add_user(cli, "marie", Role.PREPARE)
    _one_profile_in_news(cli, tmp_path)
    create = ["deliveries", "create", "--token", marie, "--subject", "x"]
    create += ["--from", "n@example.com", "--list", "news"]
    _ok(cli, *create, "--name", "named", "--relay", "backup", "--relay", "eu")
    _ok(cli, *create, "--name", "unnamed")

    listed = {
        cells[3]: cells[5]  # name: relays
        for line in _ok(cli, "deliveries", "list").splitlines()
        if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 7
    }
    assert listed == {"named": "backup, eu", "unnamed": "all"}
    assert _rows(_ok(cli, "deliveries", "status", "1"), "Deployment")["Relays"] == "backup, eu"
    assert _rows(_ok(cli, "deliveries", "status", "2"), "Deployment")["Relays"] == "all"


def test_deliveries_create_inline_css_sets_the_option(
    cli: CliRunner, ctx: Context, tmp_path: Path
) -> None:
    marie = _add_user(cli, "marie", Role.PREPARE)
    _one_profile_in_news(cli, tmp_path)
    html = _write(tmp_path / "m.html", "<style>p { color: red }</style><p>Hi</p>")
    created = {}
    for extra in ([], ["--inline-css"]):
        output = _ok(
            cli,
            *("deliveries", "create", "--token", marie, "--name", "x", "--subject", "x"),
            *("--from", "n@example.com", "--list", "news", "--html-file", str(html), *extra),
        )
        match = re.search(r"delivery (\d+) created", output)
        assert match, output
        created[bool(extra)] = int(match[1])
    with ctx.db.read() as conn:
        shown = {k: delivery_store.get_delivery(conn, v)["inline_css"] for k, v in created.items()}
    assert shown == {False: False, True: True}


def test_deliveries_create_sets_the_tracking_options_and_approval(
    cli: CliRunner, ctx: Context, tmp_path: Path
) -> None:
    marie = _add_user(cli, "marie", Role.PREPARE)
    _one_profile_in_news(cli, tmp_path)
    output = _ok(
        cli,
        *("deliveries", "create", "--token", marie, "--name", "x", "--subject", "x"),
        *("--from", "n@example.com", "--list", "news"),
        *("--no-track-opens", "--no-track-clicks", "--approval"),
    )
    match = re.search(r"delivery (\d+) created", output)
    assert match, output
    with ctx.db.read() as conn:
        row = delivery_store.get_delivery(conn, int(match[1]))
    assert (row["track_opens"], row["track_clicks"], row["approval_required"]) == (
        False,
        False,
        True,
    )


def test_an_admin_unsubscribes_and_resubscribes_a_profile_with_a_reason(
    cli: CliRunner, ctx: Context, tmp_path: Path
) -> None:
    from mailcast.audience.subscriptions import subscription_changes
    from mailcast.store.history import profile_by_address

    _ok(
        cli,
        "profiles",
        "import",
        str(_write(tmp_path / "p.csv", "email\nann@example.com\n")),
        "--list",
        "news",
    )
    marie, ada = _add_user(cli, "marie", Role.PREPARE), _add_user(cli, "ada", Role.ADMIN)
    refused = _run(
        cli, "profiles", "unsubscribe", "--token", marie, "ann@example.com", "--reason", "x"
    )
    assert refused.exit_code == 3 and "the role 'admin' is missing" in refused.output
    done = _ok(
        cli, "profiles", "unsubscribe", "--token", ada, "ANN@example.com", "--reason", "phone"
    )
    assert "unsubscribed: phone" in done
    again = _run(cli, "profiles", "unsubscribe", "--token", ada, "ann@example.com", "--reason", "x")
    assert again.exit_code == 1 and "unsubscribed already" in again.output
    _ok(cli, "profiles", "resubscribe", "--token", ada, "ann@example.com", "--reason", "shop")
    with ctx.db.read() as conn:
        profile = profile_by_address(conn, "ann@example.com")
    assert profile is not None and profile["email_subscribed"]
    changes = subscription_changes(ctx, profile["id"])
    assert [(c.subscribed, c.reason) for c in changes] == [(True, "shop"), (False, "phone")]
