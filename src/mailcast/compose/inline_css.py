"""CSS inlining (css-inline): once on a delivery's template where that is exact, else per message.

css-inline parses HTML, so it cannot be given a Jinja template as it is: `{{ a > b }}` would
come out as `{{ a &gt; b }}`, a `{% for %}` between table rows would be moved out of the
table. Each Jinja tag is therefore swapped for a placeholder the HTML parser keeps in place (a
comment between tags, a word inside an attribute value or a `<title>`), the template is
inlined once, and the tags are put back. Inlining each rendered message instead costs about
0.4 ms for a 10 kB body, as much as the rest of composing it; once per delivery costs nothing
per message.

That is only the same as inlining each rendered message when the template's markup does not
depend on its Jinja tags in ways a selector could see. So a template is inlined per message
(`StyledTemplate.each_message`) when a Jinja tag sits inside a tag's markup, in a `<style>`,
or in a `class`, `id` or `style` value (or in any attribute when a rule selects attributes);
when it moves markup (macro, call, filter, a block `set`, `|safe`, a raw block holding tags);
when the stylesheet has sibling or positional selectors and the template has statements; and
when the parser had to repair the markup next to a statement, or an element opened in one
branch (of an `if`, a `for`) is closed in another.

Defaults of css-inline are kept: `<style>` blocks are removed once inlined (add
`data-css-inline="keep"` to keep one, e.g. for media queries). Remote stylesheets are never
fetched (a template would make the server fetch any URL); `<link>` tags are kept.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import css_inline
from jinja2 import Environment, TemplateSyntaxError

from mailcast.compose.html_scan import Scanner, Where, tags
from mailcast.compose.templates import RenderError

_SYNTAX = Environment()  # the delimiters of compose/templates.py
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_link_tags=True)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
# Whole Jinja tags, each up to its first closing mark; a raw block is one tag.
_JINJA = re.compile(
    r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}"
    r"|\{\{(?:[^}]|\}(?!\}))*\}\}|\{%(?:[^%]|%(?!\}))*%\}|\{#(?:[^#]|#(?!\}))*#\}",
    re.DOTALL,
)
_STATEMENT = re.compile(r"\{%[-+]?\s*(\w+)")
_OPENS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "trans"})
_MOVES_MARKUP = frozenset({"macro", "call", "filter", "autoescape"})
_SAFE = re.compile(r"\|\s*safe\b")
# Selectors whose match depends on an element's siblings (which loops and branches change).
_POSITIONAL = re.compile(r"[+~]|:(?:first|last|nth|only)-|:empty|:has\(", re.IGNORECASE)
_SELECTED_ATTRIBUTES = frozenset({"class", "id", "style"})
_DOCUMENT = re.compile(r"<(?:html|head|body)\b", re.IGNORECASE)
_IGNORED_TAGS = frozenset({"style"})  # css-inline removes them
_WRAPPERS = frozenset({"html", "head", "body"})
# Added by the parser around rows: inside a loop they repeat, which displays the same.
_TABLE_SECTIONS = frozenset({"tbody", "colgroup"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr", "keygen"}
)

Item = tuple[str, str | int]  # ("start" | "end", tag name) or ("jinja", its number)


@dataclass(frozen=True)
class StyledTemplate:
    """The HTML template to compile, and whether each rendered body must be inlined instead."""

    source: str
    each_message: bool = False


def styled_template(source: str) -> StyledTemplate:
    """The template with its `<style>` rules inlined, or as written with `each_message` set."""
    if not _STYLE_BLOCK.search(source):
        return StyledTemplate(source)  # nothing to inline
    inlined = _inline_template(source)
    return StyledTemplate(source, each_message=True) if inlined is None else StyledTemplate(inlined)


def inline_rendered(html: str) -> str:
    """One rendered HTML body with its CSS inlined."""
    try:
        return _INLINER.inline(html)
    except css_inline.InlineError as exc:
        raise RenderError(f"HTML body: the CSS cannot be inlined: {exc}") from exc


def _inline_template(source: str) -> str | None:
    """The template inlined once, its Jinja tags as they were; None when that is not exact."""
    marker = _marker(source)
    protected = _protect(source, marker)
    if protected is None:
        return None
    text, spans, in_attributes = protected
    if not _DOCUMENT.search(source):
        # A fragment: its body starts here, not wherever the parser would find it begins.
        text = f"<body>{text}"
    css = " ".join(block[1] for block in _STYLE_BLOCK.finditer(source))
    if not _selectors_allow(css, spans, in_attributes):
        return None
    try:
        output = _INLINER.inline(text)
    except css_inline.InlineError as exc:
        raise RenderError(f"HTML body: the CSS cannot be inlined: {exc}") from exc
    placeholders = re.compile(rf"<!--{marker}c(\d+)x-->|{marker}v(\d+)x")
    before, after = _items(text, placeholders), _items(output, placeholders)
    if not _well_nested(before, spans) or not _same_structure(before, after, spans):
        return None
    restored = placeholders.sub(lambda m: spans[int(m[1] or m[2])], output)
    try:
        _SYNTAX.parse(restored)
    except TemplateSyntaxError:
        return None
    return restored


def _marker(source: str) -> str:
    while True:
        marker = f"mcj{secrets.token_hex(4)}"
        if marker not in source.lower():
            return marker


def _protect(source: str, marker: str) -> tuple[str, list[str], bool] | None:
    """The template with each Jinja tag swapped for a placeholder, or None where none fits."""
    scanner = Scanner()
    pieces: list[str] = []
    spans: list[str] = []
    in_attributes, at = False, 0
    for match in _JINJA.finditer(source):
        html = source[at : match.start()]
        scanner.feed(html)
        pieces.append(html)
        where, number = scanner.where, len(spans)
        if where is Where.TEXT:
            placeholder = f"<!--{marker}c{number}x-->"
        elif where in (Where.COMMENT, Where.RCDATA) or (
            where is Where.VALUE and scanner.attribute not in _SELECTED_ATTRIBUTES
        ):
            placeholder = f"{marker}v{number}x"
            in_attributes = in_attributes or where is Where.VALUE
        else:
            return None
        scanner.feed(placeholder)
        pieces.append(placeholder)
        spans.append(match[0])
        at = match.end()
    pieces.append(source[at:])
    return "".join(pieces), spans, in_attributes


def _selectors_allow(css: str, spans: list[str], in_attributes: bool) -> bool:
    statements = [_statement(span) for span in spans if span.startswith("{%")]
    if any(_moves_markup(word, span) for word, span in statements):
        return False
    if any(_SAFE.search(span) for span in spans if span.startswith("{{")):
        return False
    if statements and _POSITIONAL.search(css):
        return False
    return not (in_attributes and "[" in css)


def _statement(span: str) -> tuple[str, str]:
    found = _STATEMENT.match(span)
    return (found[1] if found else "", span)


def _moves_markup(word: str, span: str) -> bool:
    """Markup the template outputs somewhere else than where it is written, or not as HTML."""
    if word == "raw":
        return "<" in span
    return word in _MOVES_MARKUP or (word == "set" and _block_set(span))


def _block_set(span: str) -> bool:
    """`{% set x %}...{% endset %}` captures markup; `{% set x = ... %}` does not."""
    return "=" not in span


def _branch(span: str) -> str:
    word, _ = _statement(span)
    if word in _OPENS or (word == "set" and _block_set(span)):
        return "open"
    if word in ("elif", "else", "pluralize"):
        return "next"
    return "close" if word.startswith("end") else ""


def _items(html: str, placeholders: re.Pattern[str]) -> list[Item]:
    """The tags and the Jinja placeholders of `html`, in order."""
    found: list[tuple[int, Item]] = [
        (tag.position, ("end" if tag.end else "start", tag.name))
        for tag in tags(html)
        if tag.name not in _IGNORED_TAGS
    ]
    found += [(m.start(), ("jinja", int(m[1] or m[2]))) for m in placeholders.finditer(html)]
    found.sort(key=lambda pair: pair[0])
    return [item for _, item in found]


def _well_nested(items: list[Item], spans: list[str]) -> bool:
    """Every element is opened and closed in the same branch of the template's statements."""
    branches: list[int] = []
    opened: list[tuple[str | int, tuple[int, ...]]] = []
    count = 0
    for kind, key in items:
        if kind == "jinja":
            branch = _branch(spans[int(key)])
            if branch in ("next", "close"):
                if not branches or (opened and opened[-1][1] == tuple(branches)):
                    return False  # an element opened in this branch outlives it
                branches.pop()
            if branch in ("open", "next"):
                count += 1
                branches.append(count)
        elif kind == "start" and key not in _VOID:
            opened.append((key, tuple(branches)))
        elif kind == "end":
            for index in range(len(opened) - 1, -1, -1):
                if opened[index][0] == key:
                    if opened[index][1] != tuple(branches):
                        return False
                    del opened[index:]
                    break
    return not branches


def _same_structure(before: list[Item], after: list[Item], spans: list[str]) -> bool:
    """The inlined template has the template's tags and Jinja tags in the same order.

    The parser may only have added table sections, and end tags or the document's
    `<html>`, `<head>`, `<body>` that the template left implied, none of them beside a
    statement (where the branch taken would decide whether they are there).
    """
    matched = 0
    for index, item in enumerate(after):
        if matched < len(before) and before[matched] == item:
            matched += 1
        elif item[1] in _TABLE_SECTIONS or (item[0] == "end" and matched == len(before)):
            continue  # or the end tags a document's end implies anyway
        elif (item[0] != "end" and item[1] not in _WRAPPERS) or _beside_statement(
            after, index, spans
        ):
            return False
    return matched == len(before)


def _beside_statement(items: list[Item], index: int, spans: list[str]) -> bool:
    for neighbour in items[max(index - 1, 0) : index + 2]:
        if neighbour[0] == "jinja" and spans[int(neighbour[1])].startswith("{%"):
            return True
    return False
