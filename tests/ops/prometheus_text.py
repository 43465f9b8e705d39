"""A strict reader of the Prometheus text format 0.0.4, as the ops tests scrape /metrics.

Every line must be a `# HELP`, a `# TYPE` or a sample of a family declared before it; anything
else fails the test, so a scrape that Prometheus would reject cannot pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
VALUE = r"[+-]?(?:Inf|NaN|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"

HELP_LINE = re.compile(rf"# HELP ({NAME}) (.*)")
TYPE_LINE = re.compile(rf"# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)")
SAMPLE_LINE = re.compile(rf"({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? ({VALUE})")
ONE_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')

SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}

Labels = frozenset[tuple[str, str]]


@dataclass
class Scrape:
    helps: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def by_label(self, name: str, label: str) -> dict[str, float]:
        """Every sample of `name`, keyed by the value of its one label."""
        return {
            dict(key)[label]: value
            for (sample, key), value in self.samples.items()
            if sample == name
        }

    def buckets(self, name: str) -> list[tuple[float, float]]:
        """(upper bound, cumulative count) of a histogram, in the order of the bounds."""
        found = [
            (float(dict(key)["le"]), value)
            for (sample, key), value in self.samples.items()
            if sample == f"{name}_bucket"
        ]
        return sorted(found)


def parse(text: str) -> Scrape:
    assert text.endswith("\n"), "the exposition ends with a line feed"
    scrape = Scrape()
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        _read_line(scrape, line, number)
    return scrape


def _read_line(scrape: Scrape, line: str, number: int) -> None:
    if help_line := HELP_LINE.fullmatch(line):
        name, text = help_line.groups()
        assert name not in scrape.helps, f"line {number}: a second HELP for {name}"
        scrape.helps[name] = text
    elif type_line := TYPE_LINE.fullmatch(line):
        name, kind = type_line.groups()
        assert name not in scrape.types, f"line {number}: a second TYPE for {name}"
        scrape.types[name] = kind
    elif sample := SAMPLE_LINE.fullmatch(line):
        name, labels, value = sample.groups()
        assert _family(scrape, name), f"line {number}: {name} has no TYPE before it"
        key = (name, frozenset(ONE_LABEL.findall(labels or "")))
        assert key not in scrape.samples, f"line {number}: the same series twice"
        scrape.samples[key] = math.inf if value == "+Inf" else float(value)
    else:
        raise AssertionError(f"line {number} is not in the text format: {line!r}")


def _family(scrape: Scrape, name: str) -> str | None:
    for family, kind in scrape.types.items():
        if any(name == family + suffix for suffix in SUFFIXES.get(kind, ("",))):
            return family
    return None
