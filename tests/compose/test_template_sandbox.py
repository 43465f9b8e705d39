"""Templates see the profile's data and nothing else; a missing field is an error, not a blank."""

from __future__ import annotations

import pytest

from mailcast.compose.templates import CompiledContent, RenderError, recipient_context


def _render_subject(source: str) -> str:
    context = recipient_context("ann@example.com", "Ann", "Lee", {"city": "Lyon", "age": "41"})
    return CompiledContent(source, "", "").render(context).subject


def _render_html(source: str, first_name: str) -> str:
    context = recipient_context("ann@example.com", first_name, None, {})
    return CompiledContent("s", source, "").render(context).html


def test_profile_fields_and_attributes_are_rendered() -> None:
    subject = _render_subject(
        "{{ first_name }} {{ profile.last_name }} of {{ attributes.city }}, "
        "{{ attributes.age | int + 1 }} {{ email | upper }}"
    )

    assert subject == "Ann Lee of Lyon, 42 ANN@EXAMPLE.COM"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ ''.__class__.__mro__ }}", "__class__"),
        ("{{ ().__class__.__base__.__subclasses__() }}", "__class__"),
        ("{{ profile.__class__ }}", "__class__"),
        ("{{ cycler.__init__.__globals__ }}", "__init__"),
        ("{{ joiner.__init__.__globals__.os }}", "__init__"),
        ("{{ lipsum.__globals__['os'] }}", "__globals__"),
        ("{{ '{0.__class__.__mro__}'.format(first_name) }}", "__class__"),
        ("{{ first_name.format.__globals__ }}", "__globals__"),
    ],
)
def test_reaching_past_the_profile_data_for_python_internals_is_refused(
    source: str, words: str
) -> None:
    with pytest.raises(RenderError, match=rf"subject: access to attribute '{words}'.*unsafe"):
        _render_subject(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ config }}",
        "{{ os }}",
        "{{ os.environ }}",
        "{{ request }}",
        "{{ settings.secret_key }}",
        "{{ open('/etc/passwd').read() }}",
        "{{ __import__('os').getcwd() }}",
    ],
)
def test_globals_outside_the_profile_data_do_not_exist(source: str) -> None:
    with pytest.raises(RenderError, match=r"subject: '\w+' is undefined"):
        _render_subject(source)


@pytest.mark.parametrize(
    "source",
    ["{% include '/etc/passwd' %}", "{% import '/etc/hostname' as h %}", "{% extends 'x' %}"],
)
def test_templates_cannot_read_files(source: str) -> None:
    with pytest.raises(RenderError, match="no loader"):
        _render_subject(source)


def test_the_profile_data_cannot_be_changed_by_a_template() -> None:
    with pytest.raises(RenderError, match=r"access to attribute 'update' of 'dict'.*unsafe"):
        _render_subject("{{ attributes.update({'city': 'Paris'}) }}{{ attributes.city }}")


@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("Hello {{ frist_name }}", "'frist_name' is undefined"),
        ("Hello {{ attributes.zip }}", "has no attribute 'zip'"),
        ("{% if nickname %}x{% endif %}", "'nickname' is undefined"),
        ("{{ attributes['favourite'] }}", "has no attribute 'favourite'"),
    ],
)
def test_a_missing_variable_is_an_error_not_an_empty_string(source: str, missing: str) -> None:
    with pytest.raises(RenderError, match=missing):
        _render_subject(source)


def test_a_template_that_does_not_compile_says_which_part_and_line() -> None:
    with pytest.raises(RenderError, match=r"HTML body: .*\(line 2\)"):
        CompiledContent("ok", "<p>\n{% for x in %}</p>", "")


def test_profile_data_is_escaped_in_html_and_left_as_is_in_text() -> None:
    context = recipient_context("a@example.com", '<script>alert("x")</script>', None, {})
    rendered = CompiledContent("s", "<p>{{ first_name }}</p>", "{{ first_name }}").render(context)

    assert rendered.html == "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>"
    assert rendered.text == '<script>alert("x")</script>'
    assert "<script>" not in _render_html("{{ first_name }}", "<script>")
