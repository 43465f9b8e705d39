"""The bounded Jinja sandbox: what one render may cost in numbers, sizes, output and time.

Every render carries a `Budget` (compose/budget.py) in its context, under a key no template
can name. The environment checks it where a template can make work: its operators (`**`,
`*`, `+`, `%`, `~`), its calls and filters, each loop iteration and each piece of output.
A check runs *before* an operation whose cost its operands tell (compose/costs.py), and
after the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from mailcast.compose.budget import BUDGET_KEY, Budget, Deadline, LimitExceeded, budget_of
from mailcast.compose.costs import (
    FILTER_SIZES,
    OPERATOR_CHECKS,
    check_printf_widths,
    check_str_method,
)

__all__ = ["BUDGET_KEY", "BoundedEnvironment", "Budget", "Deadline", "LimitExceeded"]


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, its cost checked; it takes the context, so it is never run at compile time."""
    lead = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    size = FILTER_SIZES.get(name)
    what = f"the '{name}' filter"

    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = budget_of(context)
        budget.check_time()
        if size is not None:
            budget.check_length(size(value, *args, **kwargs), what)
        if name == "format" and isinstance(value, str):
            check_printf_widths(budget, value)
        result = func(*_leading(lead, context), value, *args, **kwargs)
        return budget.checked(result, what)

    return guarded


def _leading(lead: str | None, context: Context) -> tuple[Any, ...]:
    """What the filter takes before its value (jinja2's pass_context and the like)."""
    if lead == "context":
        return (context,)
    if lead == "eval_context":
        return (context.eval_ctx,)
    if lead == "environment":
        return (context.environment,)
    return ()


# --- The environment ------------------------------------------------------------------------


class _BoundedCodeGenerator(CodeGenerator):
    """Every loop iterates through the budget; every `~` result is measured."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not _is_guarded(node.iter):
            guard = nodes.EnvironmentAttribute("guarded_loop", lineno=node.lineno)
            node.iter = nodes.Call(guard, [node.iter], [], None, None, lineno=node.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.measured(context, ")
        super().visit_Concat(node, frame)
        self.write(")")


def _is_guarded(expression: nodes.Node) -> bool:
    node = getattr(expression, "node", None)
    return isinstance(node, nodes.EnvironmentAttribute) and node.name == "guarded_loop"


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the checks above; StrictUndefined, no loader."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset(OPERATOR_CHECKS)

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=autoescape, finalize=_finalize)
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _bounded_lipsum
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = budget_of(context)
        budget.check_time()
        OPERATOR_CHECKS[operator](budget, left, right)
        return budget.checked(self.binop_table[operator](left, right), f"'{operator}'")

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = budget_of(context)
        budget.check_time()
        check_str_method(budget, obj, args, kwargs)
        return budget.checked(super().call(context, obj, *args, **kwargs))

    @staticmethod
    @pass_context
    def guarded_loop(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
        budget = budget_of(context)
        for item in iterable:
            budget.check_time()
            yield item

    @staticmethod
    @pass_context
    def measured(context: Context, value: Any) -> Any:
        budget = budget_of(context)
        budget.check_time()
        return budget.checked(value, "'~'")


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every {{ }} output, also one captured by {% set %} or a macro, counts toward the cap."""
    budget = budget_of(context)
    budget.emitted += len(value) if isinstance(value, str) else 0
    if budget.emitted > budget.limits.max_output_chars:
        raise LimitExceeded("templates.max_output_chars", "the template outputs too much")
    budget.check_time()
    return value


@pass_context
def _bounded_range(context: Context, *args: int) -> range:
    limit = budget_of(context).limits.max_range
    numbers = range(*args)
    if len(numbers) > limit:
        raise LimitExceeded("templates.max_range", f"range() would give {len(numbers):,} items")
    return numbers


@pass_context
def _bounded_lipsum(
    context: Context,
    n: int = 5,
    html: bool = True,
    min: int = 20,  # jinja2's names for them: templates pass them by name
    max: int = 100,
) -> Any:
    """lipsum() loops in Python inside one call, where no check runs: its size comes first."""
    budget = budget_of(context)
    budget.check_length(n * max * 12, "lipsum()")  # words of up to 12 characters with spaces
    return generate_lorem_ipsum(n, html, min, max)
