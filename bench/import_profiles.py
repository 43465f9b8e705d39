"""Import a generated CSV of profiles and print rows/s and peak memory; then read the target.

    .venv/bin/python bench/import_profiles.py [--rows 1000000] [--url postgresql://...]

Without --url the database is a fresh SQLite file in a temporary directory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from mailcast.audience.csv_import import import_profiles
from mailcast.audience.target import Target, iter_target
from mailcast.clock import SystemClock
from mailcast.store.db import Database
from mailcast.store.tables import metadata


def generate(path: Path, rows: int) -> None:
    """Realistic rows: some duplicates (1 in 50) and bad addresses (1 in 1000)."""
    with path.open("w", encoding="utf-8") as file:
        file.write("email,first_name,last_name,city,plan,signup\n")
        for n in range(rows):
            number = n - 1 if n % 50 == 49 else n
            address = f"user{number}@example{number % 500}.com" if n % 1000 != 999 else "bad@"
            file.write(f"{address},First{n},Last{n},City{n % 300},p{n % 4},2025-{n % 12 + 1:02d}\n")


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "profiles.csv"
        started = time.perf_counter()
        generate(csv_path, args.rows)
        size = csv_path.stat().st_size / 2**20
        took = time.perf_counter() - started
        print(f"generated {args.rows:,} rows ({size:.0f} MiB) in {took:.1f} s")

        db = Database(args.url or f"sqlite:///{tmp}/bench.db")
        if args.url:
            with db.write() as conn:  # a clean schema, as the test suite makes
                metadata.drop_all(conn)
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.upgrade()
        rss_before = peak_rss_mib()

        started = time.perf_counter()
        report = import_profiles(db, csv_path, "bench", SystemClock(), args.batch_size)
        elapsed = time.perf_counter() - started
        print(
            f"import ({db.engine.dialect.name}, batch {args.batch_size}): {elapsed:.1f} s, "
            f"{report.rows_read / elapsed:,.0f} rows/s; created {report.imported:,}, "
            f"merged duplicates {report.duplicates_in_file:,}, errors {report.error_count:,}"
        )
        print(f"peak RSS: {rss_before:.0f} MiB before the import, {peak_rss_mib():.0f} MiB after")

        started = time.perf_counter()
        rows = sum(len(chunk) for chunk in iter_target(db, Target(("bench",), "plan = 'p1'")))
        elapsed = time.perf_counter() - started
        rate = rows / elapsed
        print(f"iter_target with a filter: {rows:,} rows in {elapsed:.1f} s, {rate:,.0f} rows/s")
        print(f"peak RSS at the end: {peak_rss_mib():.0f} MiB")
        db.dispose()


if __name__ == "__main__":
    main()
