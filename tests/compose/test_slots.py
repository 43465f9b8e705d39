"""Templates of text and plain outputs render without Jinja's code, exactly as Jinja does."""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import Markup

from mailcast.compose import slots
from mailcast.compose.templates import CompiledContent, RenderError, TemplateLimitError
from mailcast.config import TemplateSettings

CONTEXT: dict[str, Any] = {
    "first_name": '<b>Zoë</b> & "co"',
    "last_name": None,
    "count": 42,
    "attributes": {"city": "Łódź", "tier": 2},
    "unsubscribe_url": "https://t.example/u?a=1&b=2",
    "_mc_pixel": Markup('<img src="https://t.example/o.gif">'),
    "_mc_link": lambda n: Markup(f"https://t.example/c/{n}?x=1&y=2"),
}
SIMPLE = [
    "<p>Hi {{ first_name }} {{ last_name }} ({{ count }}) {{ attributes }}</p>\n",
    'Hi {{ first_name }},\r\nsee <a href="{{ _mc_link(3) }}">this</a>{{ _mc_pixel }}\r\n\r\n',
    "{{ unsubscribe_url }}{{ unsubscribe_url }} {{ _mc_link(1) }} {{ _mc_link(2) }}",
    "no output at all, a trailing newline\n",
    "",
    "{{ first_name }}",
    "{{ _mc_pixel }}{{ first_name }}x{{ _mc_pixel }}{{ _mc_link(1) }}{{ first_name }}",
]


def _both(html: str, text: str, **limits: Any) -> tuple[CompiledContent, CompiledContent]:
    settings = TemplateSettings(**limits)
    fast = CompiledContent("Hello {{ first_name }}", html, text, settings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slots.Slots, "of", classmethod(lambda cls, env, source: None))
        slow = CompiledContent("Hello {{ first_name }}", html, text, settings)
    assert fast.html.slots is not None and slow.html.slots is None
    return fast, slow


@pytest.mark.parametrize("source", SIMPLE)
def test_a_simple_template_renders_as_jinja_renders_it(source: str) -> None:
    fast, slow = _both(source, source)
    assert fast.render(dict(CONTEXT)) == slow.render(dict(CONTEXT))


@pytest.mark.parametrize(
    "source",
    [
        "{{ first_name | upper }}",
        "{{ attributes.city }}",
        "{% if count %}x{% endif %}",
        "{{ 'literal' }}",
        "{{ _mc_link(n) }}",
        "{{ other(1) }}",
        "{% call _mc_track(1) %}https://x.example/{{ count }}{% endcall %}",
    ],
)
def test_anything_else_goes_through_jinja(source: str) -> None:
    assert CompiledContent("", source, "").html.slots is None


def test_a_name_the_context_lacks_fails_as_jinja_says() -> None:
    fast, slow = _both("Hi {{ nickname }}", "")
    for content in (fast, slow):
        with pytest.raises(RenderError, match="HTML body: 'nickname' is undefined"):
            content.render(dict(CONTEXT))


def test_the_output_cap_holds_on_the_fast_path() -> None:
    big = {**CONTEXT, "first_name": "x" * 600}
    fast, slow = _both("{{ first_name }}" * 2, "", max_output_chars=1000)
    for content in (fast, slow):
        with pytest.raises(TemplateLimitError) as refused:
            content.render(dict(big))
        assert refused.value.setting == "templates.max_output_chars"
