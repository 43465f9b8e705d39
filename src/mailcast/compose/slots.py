"""The templates most deliveries have, rendered without Jinja's generated code: text with
`{{ name }}` outputs and the tracked links' `{{ _mc_link(n) }}`, the same output as Jinja's.

Anything else (filters, tags, attributes, a name the context lacks) renders through Jinja.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateError, nodes
from markupsafe import escape

from mailcast.compose.budget import Budget, LimitExceeded

_LINK_CALL = "_mc_link"  # tracking/links.py: the tracked URL of the n-th link

# Literal text, or the context name to output and, for the link call, its argument.
_Piece = str | tuple[str, int | None]


@dataclass(frozen=True)
class Slots:
    pieces: tuple[_Piece, ...]
    to_text: Callable[[Any], str]  # escape for HTML, str for text: as Jinja's autoescape does

    @classmethod
    def of(cls, env: Environment, source: str) -> Slots | None:
        """The template's pieces, or None when it holds anything but text and plain outputs."""
        try:
            tree = env.parse(source)
        except TemplateError:
            return None
        pieces: list[_Piece] = []
        for node in tree.body:
            if not isinstance(node, nodes.Output):
                return None
            for child in node.nodes:
                piece = _piece(child)
                if piece is None:
                    return None
                pieces.append(piece)
        return cls(tuple(pieces), escape if env.autoescape else str)

    def render(self, context: dict[str, Any], budget: Budget) -> str | None:
        """The output, counted in the budget as Jinja's render is; None: render with Jinja."""
        out = []
        written: dict[_Piece, tuple[str, int]] = {}  # a name output often is written once
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            if piece not in written:
                name, argument = piece
                if name not in context:
                    return None  # Jinja names what is missing
                value = context[name] if argument is None else context[name](argument)
                emitted = len(value) if isinstance(value, str) else 0
                written[piece] = (self.to_text(value), emitted)
            text, emitted = written[piece]
            budget.emitted += emitted
            out.append(text)
        if budget.emitted > budget.limits.max_output_chars:
            raise LimitExceeded("templates.max_output_chars", "the template outputs too much")
        rendered = "".join(out)
        budget.add_output(len(rendered))
        return rendered


def _piece(node: nodes.Node) -> _Piece | None:
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
