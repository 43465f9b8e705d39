"""Receiving domains grouped by provider, each group held to its own sessions and rate, against
a relay on loopback that records when and how many messages of each domain it took."""

from __future__ import annotations

from scripted_relay import ScriptedRelay

from conftest import Scenario
from mailcast.config import DomainGroup, Settings
from mailcast.context import Context
from mailcast.send.domain_groups import DomainGroups
from mailcast.send.engine import send_until_idle


def test_the_shipped_table_groups_a_providers_domains() -> None:
    groups = DomainGroups(Settings().domain_groups)
    assert {groups.group_of(d) for d in ("gmail.com", "GoogleMail.com")} == {"google"}
    assert {groups.group_of(d) for d in ("hotmail.fr", "outlook.com", "live.co.uk")} == {
        "microsoft"
    }
    assert groups.group_of("yahoo.co.jp") == "yahoo"
    assert groups.group_of("example.org") == "example.org"  # its own group, no limits
    assert groups.limits("example.org") is None


def _audience(scenario: Scenario, domains: dict[str, int]) -> list[str]:
    addresses = [f"r{n}@{d}" for d, count in domains.items() for n in range(count)]
    scenario.audience(addresses)
    return addresses


def test_a_group_never_has_more_sessions_than_its_limit(ctx: Context, scenario: Scenario) -> None:
    google = ["gmail.com", "googlemail.com"]
    ctx.settings.domain_groups = {"google": DomainGroup(patterns=google, concurrency=2)}
    addresses = _audience(scenario, {"gmail.com": 20, "googlemail.com": 20, "example.org": 40})
    with ScriptedRelay({}, hold=0.05, counted_as=dict.fromkeys(google, "google")) as relay:
        ctx.settings.relay.port = relay.port
        scenario.sending()
        send_until_idle(ctx)
    assert relay.accepted() == dict.fromkeys(addresses, 1)
    assert relay.most_in_data["google"] == 2
    assert relay.most_in_data["example.org"] > 2  # the others at the engine's concurrency


def test_a_groups_rate_holds_within_five_percent(ctx: Context, scenario: Scenario) -> None:
    rate = 20.0
    ctx.settings.domain_groups = {
        "google": DomainGroup(patterns=["gmail.com"], rate_per_second=rate)
    }
    _audience(scenario, {"gmail.com": 60, "example.org": 60})
    with ScriptedRelay({}) as relay:
        ctx.settings.relay.port = relay.port
        scenario.sending()
        send_until_idle(ctx)
    times = sorted(t for d, t in relay.accepted_at if d == "gmail.com")
    assert len(times) == 60
    # The first goes at once; each later one waits its turn: 59 turns at 20/s take 2.95 s.
    took = times[-1] - times[0]
    assert took >= 59 / rate * 0.95
    others = sorted(t for d, t in relay.accepted_at if d == "example.org")
    assert others[-1] - others[0] < took  # the other domains were not held back by it


def test_deliveries_sending_at_once_share_the_worker(ctx: Context, scenario: Scenario) -> None:
    ctx.settings.send.batch_size = 10
    older = [f"old{n}@old.example" for n in range(100)]
    newer = [f"new{n}@new.example" for n in range(100)]
    scenario.audience(older, list_name="older")
    scenario.audience(newer, list_name="newer")
    with ScriptedRelay({}) as relay:
        ctx.settings.relay.port = relay.port
        scenario.sending(list_name="older")
        scenario.sending(list_name="newer")
        send_until_idle(ctx)
    order = [d for d, _ in sorted(relay.accepted_at, key=lambda hit: hit[1])]
    assert len(order) == 200
    # The newer one does not wait for the older one to end: both go from the first batches.
    first_half = order[:100]
    assert 30 <= first_half.count("new.example") <= 70
