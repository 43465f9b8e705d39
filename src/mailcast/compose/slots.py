"""The templates most deliveries have, rendered without Jinja's generated code: text with
`{{ name }}` outputs and the tracked links' `{{ _mc_link(n) }}`, the same output as Jinja's.

Anything else (filters, tags, attributes, a name the context lacks) renders through Jinja.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateError, nodes
from markupsafe import Markup, escape

from mailcast.compose.budget import Budget, LimitExceeded

_LINK_CALL = "_mc_link"  # tracking/links.py: the tracked URL of the n-th link

# The context name an output writes and, for the link call, its argument.
_Output = tuple[str, int | None]


@dataclass(frozen=True)
class Slots:
    """The template's literal texts and distinct outputs, and the order they are written in.

    An output written many times (`{{ first_name }}` in every paragraph) is looked up, called
    and escaped once a render, and the pieces are picked and joined in C: `pick` takes them in
    the template's order from the literals followed by the outputs' texts.
    """

    literals: tuple[str, ...]
    outputs: tuple[_Output, ...]  # each distinct output once
    counts: tuple[int, ...]  # how many times each output is written
    pick: Callable[[tuple[str, ...]], Sequence[str]]  # the pieces in order, from them all
    to_text: Callable[[Any], str]  # escape for HTML, str for text: as Jinja's autoescape does

    @classmethod
    def of(cls, env: Environment, source: str) -> Slots | None:
        """The template's pieces, or None when it holds anything but text and plain outputs."""
        try:
            tree = env.parse(source)
        except TemplateError:
            return None
        pieces: list[str | _Output] = []
        for node in tree.body:
            if not isinstance(node, nodes.Output):
                return None
            for child in node.nodes:
                piece = _piece(child)
                if piece is None:
                    return None
                pieces.append(piece)
        return cls.of_pieces(pieces, escape if env.autoescape else str)

    @classmethod
    def of_pieces(cls, pieces: list[str | _Output], to_text: Callable[[Any], str]) -> Slots:
        """From the template's pieces in order: literal texts and outputs."""
        literals = [p for p in pieces if isinstance(p, str)]
        outputs = list(dict.fromkeys(p for p in pieces if not isinstance(p, str)))
        output_at = {output: len(literals) + n for n, output in enumerate(outputs)}
        literal_at = iter(range(len(literals)))
        order = [next(literal_at) if isinstance(p, str) else output_at[p] for p in pieces]
        counts = tuple(pieces.count(output) for output in outputs)
        return cls(tuple(literals), tuple(outputs), counts, _picker(order), to_text)

    def render(self, context: dict[str, Any], budget: Budget) -> str | None:
        """The output, counted in the budget as Jinja's render is; None: render with Jinja."""
        texts: list[str] = []
        emitted = 0
        for (name, argument), count in zip(self.outputs, self.counts, strict=True):
            if name not in context:
                return None  # Jinja names what is missing
            value = context[name] if argument is None else context[name](argument)
            if isinstance(value, str):
                emitted += len(value) * count
            # Markup is its own text either way (escape would only copy it): the tracked links.
            texts.append(value if type(value) is Markup else self.to_text(value))
        budget.emitted += emitted
        if budget.emitted > budget.limits.max_output_chars:
            raise LimitExceeded("templates.max_output_chars", "the template outputs too much")
        rendered = "".join(self.pick((*self.literals, *texts)))
        budget.add_output(len(rendered))
        return rendered


def _picker(order: list[int]) -> Callable[[tuple[str, ...]], Sequence[str]]:
    # itemgetter takes every piece in one call, in C; with one index it gives the piece alone.
    if len(order) < 2:
        return lambda pieces: [pieces[n] for n in order]
    return operator.itemgetter(*order)


def _piece(node: nodes.Node) -> str | _Output | None:
    if isinstance(node, nodes.TemplateData):
        return str(node.data)
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return (node.name, None)
    if _is_link_call(node):
        assert isinstance(node, nodes.Call)
        return (_LINK_CALL, node.args[0].value)  # type: ignore[attr-defined]
    return None


def _is_link_call(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == _LINK_CALL
        and len(node.args) == 1
        and isinstance(node.args[0], nodes.Const)
        and type(node.args[0].value) is int
        and not (node.kwargs or node.dyn_args or node.dyn_kwargs)
    )
