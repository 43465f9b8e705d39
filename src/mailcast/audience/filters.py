"""A small, safe filter language over profiles, compiled to a SQLAlchemy expression.

Grammar (keywords and field names are case-insensitive)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp | "(" expr ")"
    cmp     := field op value
             | field "in" "(" value ("," value)* ")"
             | field "is" ["not"] "null"
             | field "contains" string
             | field "startswith" string
    op      := "=" | "!=" | "<" | "<=" | ">" | ">="        ("==" and "<>" are accepted too)
    value   := string | number | "true" | "false"
    string  := 'single' or "double" quoted; a quote is escaped by doubling it or with \\
    number  := -?DIGITS[.DIGITS][e[+-]DIGITS]
    field   := "email" | "domain" | "first_name" | "last_name"
             | "attributes." NAME | NAME        (a bare NAME is a custom attribute)
    NAME    := [A-Za-z_][A-Za-z0-9_]*

Examples: ``domain = "example.com" and not city in ("Paris", "Lyon")``,
``age >= 30 or vip = true``, ``last_name startswith "Mc" and phone is not null``.

Meaning:

- `email` and `domain` ignore case (they compare the case-folded address); `domain` is the
  part after the @. The other `=`, `<`, ... compare exactly, by code point.
- `contains` and `startswith` ignore case (ASCII letters on SQLite; PostgreSQL folds all).
- A custom attribute is compared as a number when the value is a number (attributes whose
  text is not a number then never match), as text otherwise; `true`/`false` match the text
  true/false in any case. Attribute names are stored and looked up lower-cased.
- A comparison never matches a missing value, and `!=` / `not` match exactly what the
  positive form does not: `city != "Paris"` includes profiles without a city.

Safety: the text is parsed here and every value becomes a bound parameter; no part of the
user's text is ever pasted into SQL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import idna
from sqlalchemy import Float, and_, func, literal, not_, or_
from sqlalchemy.sql import ColumnElement

from mailcast.store.profiles import attribute_number, attribute_text, email_domain
from mailcast.store.tables import profiles

MAX_LENGTH = 10_000
MAX_DEPTH = 50

KEYWORDS = frozenset(
    {"and", "or", "not", "in", "is", "null", "contains", "startswith", "true", "false"}
)
BUILT_IN_FIELDS = ("email", "domain", "first_name", "last_name")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![A-Za-z0-9_.])
    | (?P<bad_number>[0-9-][A-Za-z0-9_.]*)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>!=|<>|<=|>=|==|=|<|>)
    | (?P<punct>[(),.])
    | (?P<quote>['"])
    """,
    re.VERBOSE,
)
_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_SAME_OP = {"==": "=", "<>": "!="}


class FilterError(ValueError):
    """The filter text is not valid; `position` is the 1-based column of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (column {position})")
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name, keyword, number, string, op, punct, end
    value: Any
    text: str  # as written, for messages
    position: int  # 1-based column


def compile_filter(text: str) -> ColumnElement[bool]:
    """The SQL condition on `profiles` that the filter text means (FilterError if invalid)."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"a filter may have at most {MAX_LENGTH} characters", MAX_LENGTH + 1)
    return _Parser(tokenize(text)).parse()


# --- Tokens ---------------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise FilterError(f"unexpected character {text[at]!r}", at + 1)
        kind = match.lastgroup
        assert kind is not None
        if kind == "quote":
            value, end = _read_string(text, at)
            tokens.append(Token("string", value, text[at:end], at + 1))
            at = end
            continue
        word = match.group()
        if kind == "bad_number":
            raise FilterError(f"{word!r} is not a number", at + 1)
        if kind == "number":
            tokens.append(Token("number", _number(word, at), word, at + 1))
        elif kind == "name":
            is_keyword = word.lower() in KEYWORDS
            tokens.append(Token("keyword" if is_keyword else "name", word.lower(), word, at + 1))
        elif kind in ("op", "punct"):
            tokens.append(Token(kind, _SAME_OP.get(word, word), word, at + 1))
        at = match.end()
    tokens.append(Token("end", None, "end of filter", len(text) + 1))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted string at `start` and the index just after it."""
    quote = text[start]
    chars: list[str] = []
    at = start + 1
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            chars.append(text[at + 1])
            at += 2
        elif char == quote and text.startswith(quote * 2, at):
            chars.append(quote)
            at += 2
        elif char == quote:
            return "".join(chars), at + 1
        else:
            chars.append(char)
            at += 1
    raise FilterError(f"string not closed: expected {quote} before the end", start + 1)


def _number(word: str, at: int) -> float:
    value = float(word)
    if not math.isfinite(value):
        raise FilterError(f"number {word} is too large", at + 1)
    return value


# --- Parser ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    label: str  # as written
    text: ColumnElement[str]  # the value as text, NULL when missing
    number: ColumnElement[float] | None  # attributes only: the value as a number
    normalise: Callable[[str], str]  # applied to string values before comparing


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def parse(self) -> ColumnElement[bool]:
        expr = self._or()
        end = self._peek()
        if end.kind != "end":
            raise self._expected("'and', 'or' or the end of the filter", end)
        return expr

    # Each level of the grammar, loosest first.

    def _or(self) -> ColumnElement[bool]:
        terms = [self._and()]
        while self._accept("keyword", "or"):
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else or_(*terms)

    def _and(self) -> ColumnElement[bool]:
        terms = [self._not()]
        while self._accept("keyword", "and"):
            terms.append(self._not())
        return terms[0] if len(terms) == 1 else and_(*terms)

    def _not(self) -> ColumnElement[bool]:
        token = self._peek()
        self._enter(token)
        try:
            if self._accept("keyword", "not"):
                return not_(self._not())
            if self._accept("punct", "("):
                expr = self._or()
                self._expect("punct", ")", f"')' to close the '(' of column {token.position}")
                return expr
            return self._comparison()
        finally:
            self.depth -= 1

    def _comparison(self) -> ColumnElement[bool]:
        field = self._field()
        token = self._next()
        if token.kind == "op":
            return self._compare(field, token.value, self._value())
        if token.kind == "keyword" and token.value == "in":
            return self._in(field)
        if token.kind == "keyword" and token.value == "is":
            negate = self._accept("keyword", "not")
            self._expect("keyword", "null", "'null' after 'is'" + (" not" if negate else ""))
            return field.text.is_not(None) if negate else field.text.is_(None)
        if token.kind == "keyword" and token.value in ("contains", "startswith"):
            return self._match(field, token.value, self._value())
        raise self._expected(
            f"an operator after '{field.label}' (=, !=, <, <=, >, >=, in, is, contains,"
            " startswith)",
            token,
        )

    def _field(self) -> _Field:
        token = self._next()
        if token.kind != "name":
            raise self._expected("a field name (email, domain, first_name, ...)", token)
        if token.value == "attributes" and self._accept("punct", "."):
            name = self._next()
            if name.kind not in ("name", "keyword"):
                raise self._expected("an attribute name after 'attributes.'", name)
            return _attribute_field(f"{token.text}.{name.text}", name.value)
        if self._peek().kind == "punct" and self._peek().value == ".":
            raise FilterError(
                f"unknown field '{token.text}.': only attributes.NAME has a dot",
                self._peek().position,
            )
        if token.value in BUILT_IN_FIELDS:
            return _built_in_field(token.text, token.value)
        return _attribute_field(token.text, token.value)

    def _value(self) -> Token:
        token = self._next()
        if token.kind in ("string", "number") or (
            token.kind == "keyword" and token.value in ("true", "false")
        ):
            return token
        if token.kind == "keyword" and token.value == "null":
            raise FilterError("compare with null using 'is null' or 'is not null'", token.position)
        raise self._expected("a value (a quoted string, a number, true or false)", token)

    # Compiling one comparison.

    def _compare(self, field: _Field, op: str, value: Token) -> ColumnElement[bool]:
        if op == "!=":
            return not_(self._compare(field, "=", value))
        compare = _OPERATORS[op]
        if value.kind == "keyword":  # true / false
            if op != "=" or field.number is None:
                raise FilterError(
                    "true and false can only be compared with = or != to a custom attribute",
                    value.position,
                )
            return _known(func.lower(field.text), lambda col: col == value.value)
        if value.kind == "number":
            number = self._numeric(field, value)
            return _known(number, lambda col: compare(col, literal(value.value, Float())))
        text = field.normalise(value.value)
        return _known(field.text, lambda col: compare(col, literal(text)))

    def _in(self, field: _Field) -> ColumnElement[bool]:
        self._expect("punct", "(", f"'(' and a list of values after '{field.label} in'")
        values = [self._value()]
        while self._accept("punct", ","):
            values.append(self._value())
        self._expect("punct", ")", "',' or ')' in the list of values")
        kinds = {value.kind for value in values}
        if kinds not in ({"string"}, {"number"}):
            raise FilterError(
                "the values of 'in' must be all quoted strings or all numbers",
                values[0].position,
            )
        if kinds == {"number"}:
            number = self._numeric(field, values[0])
            return _known(number, lambda col: col.in_([value.value for value in values]))
        texts = [field.normalise(value.value) for value in values]
        return _known(field.text, lambda col: col.in_(texts))

    def _match(self, field: _Field, how: str, value: Token) -> ColumnElement[bool]:
        if value.kind != "string":
            raise self._expected(f"a quoted string after '{how}'", value)
        # icontains/istartswith lower-case both sides, so the value needs no normalising.
        text = value.value
        if how == "contains":
            return _known(field.text, lambda col: col.icontains(text, autoescape=True))
        return _known(field.text, lambda col: col.istartswith(text, autoescape=True))

    def _numeric(self, field: _Field, value: Token) -> ColumnElement[float]:
        if field.number is None:
            raise FilterError(
                f"'{field.label}' holds text: put the value in quotes", value.position
            )
        return field.number

    # Token helpers.

    def _peek(self) -> Token:
        return self.tokens[self.at]

    def _next(self) -> Token:
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    def _accept(self, kind: str, value: str) -> bool:
        token = self._peek()
        if token.kind == kind and token.value == value:
            self.at += 1
            return True
        return False

    def _expect(self, kind: str, value: str, what: str) -> None:
        if not self._accept(kind, value):
            raise self._expected(what, self._peek())

    def _enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"the filter nests deeper than {MAX_DEPTH} levels", token.position)

    @staticmethod
    def _expected(what: str, found: Token) -> FilterError:
        shown = found.text if found.kind == "end" else repr(found.text)
        return FilterError(f"expected {what}, found {shown}", found.position)


def _known(
    column: ColumnElement[Any], predicate: Callable[[ColumnElement[Any]], ColumnElement[bool]]
) -> ColumnElement[bool]:
    # Two-valued logic: a missing value makes the comparison false, never NULL, so that
    # NOT and != select exactly the profiles the positive form leaves out.
    return and_(column.is_not(None), predicate(column))


def _built_in_field(label: str, name: str) -> _Field:
    if name == "email":
        return _Field(label, profiles.c.email_key, None, str.casefold)
    if name == "domain":
        return _Field(label, email_domain(), None, _ascii_domain)
    return _Field(label, profiles.c[name], None, _same)


def _attribute_field(label: str, name: str) -> _Field:
    return _Field(label, attribute_text(name), attribute_number(name), _same)


def _same(value: str) -> str:
    return value


def _ascii_domain(value: str) -> str:
    """Domains are stored in their ASCII (IDNA) form, lower-cased."""
    try:
        return idna.encode(value, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return value.lower()
