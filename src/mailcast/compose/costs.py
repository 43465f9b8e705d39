"""What a template's operation would cost, told before it runs where its operands tell it.

One big C-level operation (`9**(9**8)`, `'x' * 10**8`) cannot be interrupted and holds the
GIL, freezing every thread of the process: so it must never start. These checks refuse it
from the sizes of its operands; compose/bounds.py calls them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sized
from string import Formatter
from typing import Any

from mailcast.compose.budget import Budget, LimitExceeded

# --- Operators ------------------------------------------------------------------------------


def _check_power(budget: Budget, base: Any, exponent: Any) -> None:
    if not (_is_int(base) and _is_int(exponent)) or exponent <= 1 or abs(base) <= 1:
        return
    bits = exponent * math.log2(abs(base))
    if bits > budget.limits.max_number_bits:
        raise LimitExceeded(
            "templates.max_number_bits", f"'**' would make a number of {bits:,.0f} bits"
        )


def _check_product(budget: Budget, left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        bits = abs(left).bit_length() + abs(right).bit_length()
        if bits > budget.limits.max_number_bits:
            raise LimitExceeded(
                "templates.max_number_bits", f"'*' would make a number of {bits:,} bits"
            )
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, Sized) and _is_int(times):
            budget.check_length(len(sequence) * max(times, 0), "'*' (repetition)")


def _check_sum(budget: Budget, left: Any, right: Any) -> None:
    if isinstance(left, Sized) and isinstance(right, Sized):
        budget.check_length(len(left) + len(right), "'+'")


def _check_modulo(budget: Budget, left: Any, _right: Any) -> None:
    if isinstance(left, str):
        check_printf_widths(budget, left)


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")
_NUMBER = re.compile(r"\d+")


def check_printf_widths(budget: Budget, text: str) -> None:
    """`%9999999s` pads in C: its widths and precisions count as lengths."""
    for width, precision in _PRINTF_FIELD.findall(text):
        for number in (width, precision):
            if number == "*":
                _refuse_argument_widths()
            if number:
                budget.check_length(int(number), "a % format width")


def _check_format_widths(budget: Budget, text: str) -> None:
    """The same for str.format's specs ('{:>9999999}'); a width given as an argument is refused."""
    for _literal, name, spec, _conversion in Formatter().parse(text):
        if name is None or not spec:
            continue
        if "{" in spec:
            _refuse_argument_widths()
        for number in _NUMBER.findall(spec):
            budget.check_length(int(number), "a format width")


def _refuse_argument_widths() -> None:
    raise LimitExceeded("templates.max_value_length", "a width given as an argument is refused")


OPERATOR_CHECKS: dict[str, Callable[[Budget, Any, Any], None]] = {
    "**": _check_power,
    "*": _check_product,
    "+": _check_sum,
    "%": _check_modulo,
}


# --- Calls and filters whose result grows past their inputs ---------------------------------


def _padded(value: Any, width: Any = 0, *_: Any, **__: Any) -> int:
    return max(_len(value), width if _is_int(width) else 0)


def _replaced(value: Any, old: Any = "", new: Any = "", count: Any = -1, **_: Any) -> int:
    if not (isinstance(value, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    times = value.count(old) if old else len(value) + 1
    if _is_int(count) and count >= 0:
        times = min(times, count)
    return len(value) + times * max(len(new) - len(old), 0)


def _joined(items: Any, separator: Any = "") -> int:
    if not isinstance(items, list | tuple):
        return 0
    parts = sum(len(item) for item in items if isinstance(item, str))
    return parts + _len(separator) * max(len(items) - 1, 0)


def _tabs_expanded(value: Any, tabsize: Any = 8) -> int:
    size = tabsize if _is_int(tabsize) else 8
    return _len(value) + (value.count("\t") if isinstance(value, str) else 0) * max(size, 0)


def _translated(value: Any, table: Any = None) -> int:
    if not isinstance(table, dict):
        return 0
    longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
    return _len(value) * longest


def _indented(value: Any, width: Any = 4, *_: Any, **__: Any) -> int:
    step = width if _is_int(width) else _len(width)
    lines = value.count("\n") + 1 if isinstance(value, str) else 1
    return _len(value) + lines * max(step, 0)


def _counted(_value: Any, *args: Any, **kwargs: Any) -> int:
    """batch(linecount), slice(slices), tojson(indent): at least that long (or that many)."""
    named = [kwargs.get(name) for name in ("linecount", "slices", "indent")]
    count = args[0] if args else next((n for n in named if n is not None), 0)
    return count if _is_int(count) else 0


def _summed(value: Any, *args: Any, **kwargs: Any) -> int:
    """sum(start=[]) copies what it has so far at each item: quadratic, in C."""
    start = kwargs.get("start", args[1] if len(args) > 1 else 0)
    if not isinstance(start, Sized) or not isinstance(value, list | tuple):
        return 0
    return len(value) * sum(_len(item) for item in value)


# The size of what a call would build, told from its arguments, for the calls that can build
# more than they are given. Keys: str methods, then filters (their first argument the value).
_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "replace": _replaced,
    "expandtabs": _tabs_expanded,
    "translate": _translated,
    "join": lambda separator, items=(), *_, **__: _joined(items, separator),
}
FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": _padded,
    "replace": _replaced,
    "join": lambda items, d="", *_, **__: _joined(items, d),
    "indent": _indented,
    "batch": _counted,
    "slice": _counted,
    "sum": _summed,
    "tojson": _counted,
}


def check_str_method(
    budget: Budget, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    # The sandbox hands out str.format wrapped; the wrapper keeps the method in __wrapped__.
    method = getattr(method, "__wrapped__", method)
    owner, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in ("format", "format_map"):
        _check_format_widths(budget, owner)
    size = _METHOD_SIZES.get(name)
    if size is not None:
        budget.check_length(size(owner, *args, **kwargs), f"str.{name}()")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _len(value: Any) -> int:
    return len(value) if isinstance(value, Sized) else 0
