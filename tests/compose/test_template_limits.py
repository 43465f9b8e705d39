"""A template's cost is bounded: numbers, repetition, ranges, output, time; each refusal names
its limit, comes at once, and ordinary templates render as before."""

from __future__ import annotations

import time

import pytest

from mailcast.compose.templates import (
    CompiledContent,
    Deadline,
    RenderedContent,
    TemplateLimitError,
    recipient_context,
)
from mailcast.config import TemplateSettings

# Every refusal must come long before this: a check runs before the costly operation.
AT_ONCE = 1.0  # real seconds
# A loop of 10^10 iterations (100000 x 100000): only the time budget stops it.
ENDLESS = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"


def _render(html: str, limits: TemplateSettings | None = None) -> RenderedContent:
    context = recipient_context("ann@example.com", "Ann", "Lee", {"n": "100000000"})
    return CompiledContent("Hi", html, "", limits).render(context)


def _refused(html: str, limits: TemplateSettings | None = None) -> tuple[str, float]:
    """The setting the refusal names, and how long it took to come."""
    started = time.monotonic()
    with pytest.raises(TemplateLimitError) as refusal:
        _render(html, limits)
    assert str(refusal.value).startswith("HTML body: ")
    assert f"(limit: {refusal.value.setting})" in str(refusal.value)
    return refusal.value.setting, time.monotonic() - started


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("html", "setting"),
    [
        ("{{ 9**(9**8) }}", "templates.max_number_bits"),
        ("{{ 10 ** 5000 }}", "templates.max_number_bits"),
        (
            "{{ (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) }}",
            "templates.max_number_bits",
        ),
        ("{{ 'x' * 100000000 }}", "templates.max_value_length"),
        ("{{ 'x' * (attributes.n | int) }}", "templates.max_value_length"),
        ("{{ [0] * 100000000 }}", "templates.max_value_length"),
        ("{{ ('x' * 900000) + ('x' * 900000) }}", "templates.max_value_length"),
        ("{{ 'x'.ljust(10 ** 9) }}", "templates.max_value_length"),
        ("{{ 'x' | center(1000000000) }}", "templates.max_value_length"),
        ("{{ '%999999999s' % 'x' }}", "templates.max_value_length"),
        ("{{ '{:>999999999}'.format('x') }}", "templates.max_value_length"),
        ("{{ ('x' * 1000000) | replace('x', 'xx') }}", "templates.max_value_length"),
        ("{{ (['x' * 1000000] * 1000) | join }}", "templates.max_value_length"),
        (
            "{% set ns = namespace(s='0123456789') %}{% for i in range(60) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "templates.max_value_length",
        ),
        ("{% for i in range(100001) %}{% endfor %}", "templates.max_range"),
        (
            "{% set page %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}",
            "templates.max_output_chars",
        ),
    ],
)
def test_a_costly_template_is_refused_at_once_naming_its_limit(html: str, setting: str) -> None:
    named, took = _refused(html)

    assert named == setting
    assert took < AT_ONCE


@pytest.mark.timeout(60)
def test_a_template_that_runs_on_stops_at_its_time_budget() -> None:
    limits = TemplateSettings(recipient_seconds=0.3)

    named, took = _refused(ENDLESS, limits)

    assert named == "templates.recipient_seconds"
    assert 0.3 <= took < 0.3 + AT_ONCE


@pytest.mark.timeout(60)
def test_an_exponential_macro_stops_at_its_time_budget() -> None:
    limits = TemplateSettings(recipient_seconds=0.3)
    html = (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    )

    assert _refused(html, limits)[0] == "templates.recipient_seconds"


@pytest.mark.timeout(60)
def test_the_callers_deadline_stops_a_render_sooner_and_is_named() -> None:
    context = recipient_context("ann@example.com", "Ann", None, {})
    until = Deadline(time.monotonic() + 0.2, "templates.preparation_seconds")

    with pytest.raises(TemplateLimitError) as refusal:
        CompiledContent("Hi", ENDLESS, "").render(context, until)

    assert refusal.value.setting == "templates.preparation_seconds"


def test_the_output_of_all_parts_together_is_capped() -> None:
    limits = TemplateSettings(max_output_chars=5000)
    context = recipient_context("ann@example.com", "Ann", None, {})
    page = "{% for i in range(30) %}0123456789{% endfor %}"  # 300 characters, static text

    assert len(CompiledContent("Hi", page * 16, "", limits).render(context).html) == 4800
    with pytest.raises(TemplateLimitError, match=r"text body: .*max_output_chars"):
        CompiledContent("Hi", page * 16, page * 2, limits).render(context)


def test_deep_recursion_is_a_refusal_not_a_crash() -> None:
    setting, _ = _refused("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")

    assert setting == "recursion depth"


def test_limits_are_settings() -> None:
    limits = TemplateSettings(max_number_bits=100, max_value_length=1000, max_range=10)

    assert _render("{{ 2 ** 64 }}", limits).html == str(2**64)
    assert _refused("{{ 2 ** 101 }}", limits)[0] == "templates.max_number_bits"
    assert _refused("{{ 'ab' * 501 }}", limits)[0] == "templates.max_value_length"
    assert _refused("{{ range(11) | list }}", limits)[0] == "templates.max_range"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("{{ 2 ** 10 }} {{ 3 * 4 }} {{ '-' * 5 }} {{ 7 % 3 }} {{ 1 + 2 }}", "1024 12 ----- 1 3"),
        ("{{ '%.2f' % 3.14159 }} {{ '{:,}'.format(1234567) }}", "3.14 1,234,567"),
        ("{{ [1, 2] + [3] }} {{ 'a' ~ first_name }}", "[1, 2, 3] aAnn"),
        ("{% for i in range(3) %}{{ loop.index }}/{{ loop.length }} {% endfor %}", "1/3 2/3 3/3 "),
        ("{{ [3, 1, 2] | sort | join(',') }} {{ 'a-b'.replace('-', '+') }}", "1,2,3 a+b"),
        ("{{ 'x' | center(5) }}|{{ 'x'.rjust(3, '.') }}", "  x  |..x"),
        ("{{ ([[1], [2]]) | sum(start=[]) }} {{ [1, 2, 3] | sum }}", "[1, 2] 6"),
        ("{{ (range(5) | batch(2)) | list }}", "[[0, 1], [2, 3], [4]]"),
        ("{% macro hi(n) %}Hi {{ n }}{% endmacro %}{{ hi(first_name) }}", "Hi Ann"),
    ],
)
def test_ordinary_templates_render_as_before(html: str, expected: str) -> None:
    assert _render(html).html == expected


def test_lipsum_is_bounded_and_still_html() -> None:
    assert _render("{{ lipsum(1) }}").html.startswith("<p>")
    assert _refused("{{ lipsum(100000, max=1000) }}")[0] == "templates.max_value_length"
