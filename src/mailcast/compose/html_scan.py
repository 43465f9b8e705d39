"""A small HTML tokeniser for templates: where a Jinja tag falls, and the sequence of tags.

It follows the HTML tokeniser only as far as CSS inlining needs (compose/inline_css.py):
text, comments, the raw text of `<style>`/`<script>` and `<title>`/`<textarea>`, tags and
their attributes. It is fed the HTML between Jinja tags piece by piece, so that `where`
tells, before each Jinja tag, what an HTML parser would take it for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Where(Enum):
    TEXT = "text"  # between tags: a comment put there survives any HTML parser as it is
    COMMENT = "comment"
    RCDATA = "rcdata"  # <title>, <textarea>: text only, no tags
    RAWTEXT = "rawtext"  # <style>, <script>...: not HTML at all
    VALUE = "value"  # inside a quoted attribute value
    MARKUP = "markup"  # in a tag outside any quoted value, or a cut `<`


@dataclass(frozen=True, slots=True)
class Tag:
    position: int
    name: str  # lower case
    end: bool


_RCDATA = frozenset({"title", "textarea"})
_RAWTEXT = frozenset({"style", "script", "xmp", "iframe", "noembed", "noframes", "plaintext"})
_NAME = re.compile(r"[^\s/>]*")
_ATTRIBUTE = re.compile(r"[^\s/>=]+")
_UNQUOTED = re.compile(r"[^\s>]*")
_WHERE = {"data": Where.TEXT, "comment": Where.COMMENT, "dq": Where.VALUE, "sq": Where.VALUE}


class Scanner:
    """Feed it HTML in pieces; `where` and `attribute` describe the end of what was fed."""

    def __init__(self) -> None:
        self.tags: list[Tag] = []
        self.attribute = ""  # the attribute whose value is being read
        self._state = "data"
        self._offset = 0
        self._tag = ""  # the tag being read
        self._closing = False
        self._raw_end: re.Pattern[str] | None = None

    @property
    def where(self) -> Where:
        if self._state == "raw":
            return Where.RCDATA if self._tag in _RCDATA else Where.RAWTEXT
        return _WHERE.get(self._state, Where.MARKUP)

    def feed(self, text: str) -> None:
        i, n = 0, len(text)
        while i < n:
            state = self._state
            if state == "data":
                i = self._data(text, i)
            elif state in ("comment", "bogus", "dq", "sq"):
                closing = {"comment": "-->", "bogus": ">", "dq": '"', "sq": "'"}[state]
                j = text.find(closing, i)
                if j < 0:
                    break
                i = j + len(closing)
                self._state = "tag" if state in ("dq", "sq") else "data"
            elif state == "raw":
                assert self._raw_end is not None
                found = self._raw_end.search(text, i)
                if found is None:
                    break
                self.tags.append(Tag(self._offset + found.start(), self._tag, True))
                self._state, self._closing = "tag", True
                i = found.end()
            elif state == "partial":
                break  # a `<` cut by a Jinja tag: what follows cannot be told apart
            else:
                i = self._markup(text, i)
        self._offset += n

    def _data(self, text: str, i: int) -> int:
        j = text.find("<", i)
        if j < 0:
            return len(text)
        if "<!--".startswith(text[j : j + 4]) and j + 4 > len(text):
            self._state = "partial"
            return len(text)
        following = text[j + 1]
        if text.startswith("<!--", j):
            self._state = "comment"
            return j + 4
        if following in "!?":
            self._state = "bogus"
            return j + 2
        closing = following == "/"
        first = text[j + 2 : j + 3] if closing else following
        if not first:
            self._state = "partial"
            return len(text)
        if not (first.isascii() and first.isalpha()):
            if closing:
                self._state = "bogus"
                return j + 2
            return j + 1  # a `<` that opens nothing is text
        name = _NAME.match(text, j + 2 if closing else j + 1)
        assert name is not None
        self._tag, self._closing = name[0].lower(), closing
        self.tags.append(Tag(self._offset + j, self._tag, closing))
        self._state = "tag"
        return name.end()

    def _markup(self, text: str, i: int) -> int:
        """Inside a tag: attribute names, `=`, values, up to its `>`."""
        n = len(text)
        while i < n:
            c, state = text[i], self._state
            if state in ("name", "uq"):
                pattern = _ATTRIBUTE if state == "name" else _UNQUOTED
                match = pattern.match(text, i)
                assert match is not None
                if state == "name":
                    self.attribute += match[0].lower()
                i = match.end()
                if i < n:
                    self._state = "after_name" if state == "name" else "tag"
                continue
            if c.isspace():
                i += 1
            elif c == ">":
                self._close_tag()
                return i + 1
            elif state == "before_value" and c in "\"'":
                self._state = "dq" if c == '"' else "sq"
                return i + 1
            elif state == "before_value":
                self._state = "uq"
            elif state == "after_name" and c == "=":
                self._state = "before_value"
                i += 1
            elif c == "/":
                self._state = "tag"
                i += 1
            else:
                self._state, self.attribute = "name", ""
        return i

    def _close_tag(self) -> None:
        self._state = "data"
        if not self._closing and self._tag in _RCDATA | _RAWTEXT:
            self._state = "raw"
            self._raw_end = re.compile(rf"</{re.escape(self._tag)}(?![^\s/>])", re.IGNORECASE)


# A whole comment, doctype or tag (quoted values may hold `>`), for `tags`.
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<[!?][^>]*>?|<(/?)([a-zA-Z][^\s/>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>?",
    re.DOTALL,
)


def tags(html: str) -> list[Tag]:
    """The tags of a whole document, in order: what a `Scanner` fed all of it finds, faster."""
    found: list[Tag] = []
    at = 0
    while (token := _TOKEN.search(html, at)) is not None:
        at = token.end()
        if token[2] is None:
            continue  # a comment or a declaration
        name, end = token[2].lower(), bool(token[1])
        found.append(Tag(token.start(), name, end))
        if not end and name in _RCDATA | _RAWTEXT:
            closing = re.compile(rf"</{re.escape(name)}(?![^\s/>])", re.IGNORECASE)
            raw_end = closing.search(html, at)
            if raw_end is None:
                break
            at = raw_end.start()
    return found
