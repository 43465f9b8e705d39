"""Bounce classification accuracy against the labelled corpus (sisimai's expected values).

    python bench/bounce_accuracy.py [CORPUS_DIR] [--show-errors] [--by-family]

Every labelled recipient counts once: recipients are matched in order (label index N is the
Nth recipient the parser returns) and a label with no recipient counts as wrong. Prints the
reason accuracy, the hard/soft accuracy, the count, and the most frequent confusions;
`--by-family` adds one line per source family (the sending MTA or receiving provider).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mailcast.feedback.parse import parse_report

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/bounces"


@dataclass
class Accuracy:
    count: int = 0
    reason_right: int = 0
    hard_right: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # family -> [count, reason right, hard/soft right]
    families: dict[str, list[int]] = field(default_factory=dict)

    @property
    def reason(self) -> float:
        return self.reason_right / self.count if self.count else 0.0

    @property
    def hard(self) -> float:
        return self.hard_right / self.count if self.count else 0.0


def evaluate(corpus: Path) -> Accuracy:
    """Parse every labelled sample and score each labelled recipient."""
    labels = json.loads((corpus / "labels.json").read_text())
    result = Accuracy()
    for sample in labels:
        report = parse_report((corpus / sample["file"]).read_bytes())
        for label in sample["recipients"]:
            index = int(label["index"]) - 1
            got = report.recipients[index] if index < len(report.recipients) else None
            reason = got.reason if got else "(missing)"
            hard = got.hard if got else None
            result.count += 1
            result.reason_right += reason == label["reason"]
            result.hard_right += hard == bool(label["hard"])
            family = result.families.setdefault(sample["group"], [0, 0, 0])
            family[0] += 1
            family[1] += reason == label["reason"]
            family[2] += hard == bool(label["hard"])
            if reason != label["reason"]:
                result.confusion[(label["reason"], reason)] += 1
                result.errors.append(
                    f"{sample['file']}#{label['index']}: want {label['reason']}, got {reason}"
                )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--show-errors", action="store_true", help="list every wrong recipient")
    parser.add_argument("--top", type=int, default=15, help="confusions to show")
    parser.add_argument("--by-family", action="store_true", help="accuracy per source family")
    args = parser.parse_args(argv)
    if not (args.corpus / "labels.json").is_file():
        print(f"no labels.json in {args.corpus}", file=sys.stderr)
        return 2
    result = evaluate(args.corpus)
    print(f"labelled recipients: {result.count}")
    print(f"reason accuracy:     {result.reason:.3f} ({result.reason_right}/{result.count})")
    print(f"hard/soft accuracy:  {result.hard:.3f} ({result.hard_right}/{result.count})")
    print("most frequent mistakes (expected -> got):")
    for (want, got), n in result.confusion.most_common(args.top):
        print(f"  {n:3d}  {want} -> {got}")
    if args.by_family:
        print("per family (recipients, reason right, hard/soft right):")
        for name, (count, reason, hard) in sorted(result.families.items()):
            print(f"  {name:<28} {count:4d} {reason:4d} {hard:4d}")
    if args.show_errors:
        print("\n".join(result.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
