"""How much of the parser's accuracy rests on wording seen in only one sample or one family.

    python bench/bounce_leave_out.py [CORPUS_DIR] [--families]

The labelled corpus is all we can measure on, and the phrase tables were written while
looking at it. To estimate accuracy on bounces *not* in the corpus, every phrase (each
top-level alternative of patterns.PHRASES) is traced to the samples it matched. Then:

- leave one file out: a sample is scored with every phrase that matched only that sample
  switched off, as if its wording had never been seen;
- leave one family out: the samples of a family (lhost-postfix, rhost-google...) are scored
  with every phrase only that family matched switched off.

Both are pessimistic: a phrase written from general knowledge that happens to match one
sample is switched off too. Structural rules (status codes, SMTP steps, formats) stay on.
The table that follows gives each family's own figures, all phrases on and its own off,
so the families whose reading rests on their own wording stand out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from mailcast.feedback import patterns
from mailcast.feedback.parse import parse_report

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/bounces"
Phrase = tuple[str, int]  # (reason, index of the alternative)


class Tracer:
    """Stands in for patterns.matches: tries each alternative alone and records who matched."""

    def __init__(self) -> None:
        self.alternatives = {
            reason: [re.compile(a) for p in phrases for a in top_level_alternatives(p)]
            for reason, phrases in patterns.PHRASES.items()
        }
        self.matched_by: dict[Phrase, set[str]] = defaultdict(set)
        self.disabled: set[Phrase] = set()
        self.sample = ""

    def matches(self, reason: str, text: str) -> bool:
        hit = False
        for index, pattern in enumerate(self.alternatives.get(reason, [])):
            if (reason, index) not in self.disabled and text and pattern.search(text):
                self.matched_by[(reason, index)].add(self.sample)
                hit = True
        return hit

    def only_within(self, samples: set[str]) -> set[Phrase]:
        return {key for key, seen in self.matched_by.items() if seen and seen <= samples}


def top_level_alternatives(pattern: str) -> list[str]:
    """Split a pattern at its top-level `|` (outside groups and character classes)."""
    parts, current, depth, in_class, i = [], "", 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            current += pattern[i : i + 2]
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            parts.append(current)
            current, i = "", i + 1
            continue
        current += char
        i += 1
    return [*parts, current]


def score(
    corpus: Path, labels: list[dict], tracer: Tracer, files: Iterable[str]
) -> tuple[int, int, int]:
    """(recipients, reason right, hard/soft right) over the given files."""
    wanted = set(files)
    count = reason_right = hard_right = 0
    for sample in labels:
        if sample["file"] not in wanted:
            continue
        tracer.sample = sample["file"]
        report = parse_report((corpus / sample["file"]).read_bytes())
        for label in sample["recipients"]:
            index = int(label["index"]) - 1
            got = report.recipients[index] if index < len(report.recipients) else None
            count += 1
            reason_right += got is not None and got.reason == label["reason"]
            hard_right += got is not None and got.hard == bool(label["hard"])
    return count, reason_right, hard_right


Score = tuple[int, int, int]  # (recipients, reason right, hard/soft right)


def left_out(
    corpus: Path, labels: list[dict], tracer: Tracer, groups: dict[str, set[str]]
) -> tuple[Score, dict[str, Score]]:
    """Score each group with the phrases only it matched switched off; totals and per group."""
    totals = [0, 0, 0]
    per_group: dict[str, Score] = {}
    for name, files in groups.items():
        tracer.disabled = tracer.only_within(files)
        per_group[name] = score(corpus, labels, tracer, files)
        for i, value in enumerate(per_group[name]):
            totals[i] += value
    tracer.disabled = set()
    return (totals[0], totals[1], totals[2]), per_group


def family_table(seen: dict[str, Score], unseen: dict[str, Score]) -> list[str]:
    """One line per family: recipients, reason and hard/soft right with and without its phrases."""
    rows = [
        f"{'family':<24} {'n':>4}  {'reason':>6} {'left out':>8}  {'hard/soft':>9} {'left out':>8}"
    ]
    for name in sorted(seen):
        count, reason, hard = seen[name]
        _, reason_out, hard_out = unseen[name]
        rows.append(
            f"{name:<24} {count:4d}  {reason / count:6.2f} {reason_out / count:8.2f}"
            f"  {hard / count:9.2f} {hard_out / count:8.2f}"
        )
    return rows


def line(name: str, result: tuple[int, int, int]) -> str:
    count, reason, hard = result
    return f"{name:<24} reason {reason / count:.3f}  hard/soft {hard / count:.3f}  ({count})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--families", action="store_true", help="one line per family")
    args = parser.parse_args(argv)
    labels = json.loads((args.corpus / "labels.json").read_text())
    tracer = Tracer()
    patterns.matches = tracer.matches
    files = [sample["file"] for sample in labels]
    print(line("all phrases", score(args.corpus, labels, tracer, files)))
    by_file = {name: {name} for name in files}
    by_family: dict[str, set[str]] = defaultdict(set)
    for sample in labels:
        by_family[sample["group"]].add(sample["file"])
    print(line("leave one file out", left_out(args.corpus, labels, tracer, by_file)[0]))
    family_total, unseen = left_out(args.corpus, labels, tracer, by_family)
    print(line("leave one family out", family_total))
    if args.families:
        seen = {
            name: score(args.corpus, labels, tracer, files) for name, files in by_family.items()
        }
        print("\n".join(family_table(seen, unseen)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
