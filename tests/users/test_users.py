"""Users: argon2 passwords, API tokens kept only as hashes, and the role checks of SPEC §2."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from mailcast.clock import ManualClock
from mailcast.domain import ALSO_ALLOWED, REQUIRED_ROLE, Action, Role, effective_roles
from mailcast.store.db import Database
from mailcast.store.tables import api_tokens, users
from mailcast.users.service import (
    PermissionDenied,
    UnknownUser,
    User,
    UserError,
    add_user,
    authenticate_token,
    authorize,
    create_token,
    get_user,
    list_tokens,
    list_users,
    may,
    revoke_token,
    revoke_token_id,
    set_disabled,
    set_password,
    set_roles,
    verify_password,
)

PASSWORD = "correct horse battery"


def _stored_hash(db: Database, name: str) -> str | None:
    with db.read() as conn:
        return conn.execute(select(users.c.password_hash).where(users.c.name == name)).scalar()


# --- Accounts -------------------------------------------------------------------------------


def test_add_user_stores_roles_and_an_argon2_hash(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [Role.START, "approve_deliveries"], PASSWORD, clock)

    assert alice.roles == {Role.START, Role.APPROVE}
    assert get_user(db, "alice") == alice
    stored = _stored_hash(db, "alice")
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_user_names_are_unique(db: Database, clock: ManualClock) -> None:
    add_user(db, "alice", [], PASSWORD, clock)
    with pytest.raises(UserError, match="'alice' already exists"):
        add_user(db, "alice", [Role.ADMIN], None, clock)
    assert [u.name for u in list_users(db)] == ["alice"]


@pytest.mark.parametrize("name", ["", "   ", "two words", "tab\there", "x" * 101])
def test_bad_names_are_refused(db: Database, clock: ManualClock, name: str) -> None:
    with pytest.raises(UserError):
        add_user(db, name, [], None, clock)


def test_unknown_roles_are_refused_naming_the_known_ones(db: Database, clock: ManualClock) -> None:
    with pytest.raises(UserError, match=r"unknown role 'boss'.*start_deliveries"):
        add_user(db, "alice", ["boss"], None, clock)
    assert get_user(db, "alice") is None


def test_short_passwords_are_refused(db: Database, clock: ManualClock) -> None:
    with pytest.raises(UserError, match="at least"):
        add_user(db, "alice", [], "short", clock)


def test_a_password_or_a_token_label_too_long_is_refused_for_every_caller(
    db: Database, clock: ManualClock
) -> None:
    with pytest.raises(UserError, match="a password has at most 1000 characters"):
        add_user(db, "alice", [], "x" * 1001, clock)
    alice = add_user(db, "alice", [], "x" * 1000, clock)
    with pytest.raises(UserError, match="a password has at most 1000 characters"):
        set_password(db, "alice", "y" * 1001)
    with pytest.raises(UserError, match="a token's label has at most 100 characters"):
        create_token(db, alice, "l" * 101, clock)
    create_token(db, alice, "l" * 100, clock)
    assert len(list_tokens(db, "alice")) == 1


def test_set_roles_replaces_them(db: Database, clock: ManualClock) -> None:
    add_user(db, "bob", [Role.PREPARE], None, clock)
    assert set_roles(db, "bob", [Role.ADMIN, Role.APPROVE]).roles == {Role.ADMIN, Role.APPROVE}
    user = get_user(db, "bob")
    assert user is not None and user.roles == {Role.ADMIN, Role.APPROVE}
    assert set_roles(db, "bob", []).roles == frozenset()


def test_changing_an_unknown_user_says_so(db: Database) -> None:
    with pytest.raises(UnknownUser, match="no user named 'ghost'"):
        set_roles(db, "ghost", [Role.ADMIN])
    with pytest.raises(UnknownUser):
        set_password(db, "ghost", PASSWORD)


def test_list_users_in_name_order_with_roles(db: Database, clock: ManualClock) -> None:
    add_user(db, "zoe", [Role.ADMIN], None, clock)
    add_user(db, "adam", [Role.PREPARE, Role.APPROVE], None, clock)
    assert [(u.name, u.roles) for u in list_users(db)] == [
        ("adam", {Role.PREPARE, Role.APPROVE}),
        ("zoe", {Role.ADMIN}),
    ]


# --- Passwords ------------------------------------------------------------------------------


def test_right_password_verifies_wrong_one_is_refused(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [Role.PREPARE], PASSWORD, clock)
    assert verify_password(db, "alice", PASSWORD) == alice
    assert verify_password(db, "alice", PASSWORD + "!") is None
    assert verify_password(db, "alice", "") is None
    assert verify_password(db, "nobody", PASSWORD) is None


def test_user_without_password_cannot_log_in(db: Database, clock: ManualClock) -> None:
    add_user(db, "robot", [Role.START], None, clock)
    assert _stored_hash(db, "robot") is None
    assert verify_password(db, "robot", "") is None
    assert verify_password(db, "robot", PASSWORD) is None


def test_set_password_replaces_the_old_one(db: Database, clock: ManualClock) -> None:
    add_user(db, "alice", [], PASSWORD, clock)
    set_password(db, "alice", "another secret")
    assert verify_password(db, "alice", PASSWORD) is None
    assert verify_password(db, "alice", "another secret") is not None
    set_password(db, "alice", None)
    assert verify_password(db, "alice", "another secret") is None


def test_outdated_hash_is_upgraded_at_login(db: Database, clock: ManualClock) -> None:
    from argon2 import PasswordHasher

    from mailcast.store.users import find_user, update_password_hash

    add_user(db, "alice", [], PASSWORD, clock)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with db.write() as conn:
        row = find_user(conn, "alice")
        assert row is not None
        update_password_hash(conn, row.id, weak)

    assert verify_password(db, "alice", PASSWORD) is not None
    upgraded = _stored_hash(db, "alice")
    assert upgraded is not None and upgraded != weak
    assert verify_password(db, "alice", PASSWORD) is not None


def test_disabled_user_can_neither_log_in_nor_use_a_token(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [Role.START], PASSWORD, clock)
    token = create_token(db, alice, "ci", clock)
    set_disabled(db, "alice")
    assert verify_password(db, "alice", PASSWORD) is None
    assert authenticate_token(db, token) is None
    set_disabled(db, "alice", False)
    assert authenticate_token(db, token) == alice


# --- API tokens -----------------------------------------------------------------------------


def test_token_authenticates_its_owner(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [Role.START], None, clock)
    token = create_token(db, alice, "laptop", clock)
    assert token.startswith("mc_") and len(token) > 40
    assert authenticate_token(db, token) == alice
    assert authenticate_token(db, token + "x") is None
    assert authenticate_token(db, "not-a-token") is None
    assert authenticate_token(db, "") is None


def test_token_is_not_stored_in_clear(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [], None, clock)
    token = create_token(db, alice, "laptop", clock)
    with db.read() as conn:
        rows = conn.execute(select(api_tokens)).mappings().all()
    assert len(rows) == 1
    for value in rows[0].values():
        assert token not in str(value)
        assert token[len("mc_") :] not in str(value)
    assert len(rows[0]["token_hash"]) == 64


def test_each_token_is_different(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [], None, clock)
    tokens = {create_token(db, alice, None, clock) for _ in range(5)}
    assert len(tokens) == 5
    assert all(authenticate_token(db, t) == alice for t in tokens)


def test_revoked_token_is_refused(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [Role.START], None, clock)
    kept = create_token(db, alice, "kept", clock)
    revoked = create_token(db, alice, "lost", clock)
    clock.advance(dt.timedelta(hours=1))

    assert revoke_token(db, revoked, clock) is True
    assert revoke_token(db, revoked, clock) is False
    assert authenticate_token(db, revoked) is None
    assert authenticate_token(db, kept) == alice
    infos = {t.label: t for t in list_tokens(db, "alice")}
    assert infos["lost"].revoked_at == clock.now()
    assert infos["kept"].revoked_at is None


def test_revoke_token_by_id_only_for_its_owner(db: Database, clock: ManualClock) -> None:
    alice = add_user(db, "alice", [], None, clock)
    add_user(db, "bob", [], None, clock)
    token = create_token(db, alice, "ci", clock)
    (info,) = list_tokens(db, "alice")

    assert revoke_token_id(db, "bob", info.id, clock) is False
    assert authenticate_token(db, token) == alice
    assert revoke_token_id(db, "alice", info.id, clock) is True
    assert authenticate_token(db, token) is None


# --- Authorization (SPEC §2) ----------------------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_refused_without_its_role(action: Action) -> None:
    needed = REQUIRED_ROLE[action]
    # Every role that grants the action neither directly, by implication, nor as an extra.
    granting = {needed} | ALSO_ALLOWED.get(action, frozenset())
    others = frozenset(r for r in Role if not granting & effective_roles({r}))
    bob = User(id=1, name="bob", roles=others)

    with pytest.raises(PermissionDenied) as refused:
        authorize(bob, action)

    assert refused.value.action == action
    assert refused.value.missing_role == needed
    assert str(refused.value) == f"user 'bob' may not {action}: the role '{needed}' is missing"
    assert not may(bob, action)


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_allowed_with_its_role(action: Action) -> None:
    alice = User(id=1, name="alice", roles=frozenset({REQUIRED_ROLE[action]}))
    authorize(alice, action)
    assert may(alice, action)


def test_confirm_send_refusal_names_start_deliveries() -> None:
    bob = User(id=2, name="bob", roles=frozenset({Role.PREPARE, Role.APPROVE}))
    with pytest.raises(PermissionDenied, match="the role 'start_deliveries' is missing"):
        authorize(bob, Action.CONFIRM_SEND)


@pytest.mark.parametrize("action", [a for a, role in REQUIRED_ROLE.items() if role == Role.PREPARE])
def test_start_deliveries_implies_prepare_deliveries(action: Action) -> None:
    starter = User(id=3, name="carol", roles=frozenset({Role.START}))
    authorize(starter, action)


def test_user_loaded_from_the_database_is_authorized(db: Database, clock: ManualClock) -> None:
    add_user(db, "carol", [Role.START], None, clock)
    carol = get_user(db, "carol")
    assert carol is not None
    authorize(carol, Action.CONFIRM_SEND)
    authorize(carol, Action.CREATE_DELIVERY)
    with pytest.raises(PermissionDenied, match="'approve_deliveries' is missing"):
        authorize(carol, Action.APPROVE_DELIVERY)
