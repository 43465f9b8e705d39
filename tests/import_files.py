"""CSV files for the import tests: 12,000 people, with faults on the lines asked for."""

from __future__ import annotations

from pathlib import Path

ROWS = 12_000
NUL_LINE = 7_002


def big_file(path: Path, faults: dict[int, bytes]) -> Path:
    """A header and ROWS rows (lines 2 to ROWS + 1); the lines in `faults` get that first name."""
    lines = [b"email,first_name,city"]
    for line in range(2, ROWS + 2):
        name = faults.get(line, b"Person%d" % line)
        lines.append(b"person%d@example.com,%s,Paris" % (line, name))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
