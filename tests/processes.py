"""Real `mailcast` processes for the tests: a clean environment, free ports, output as it comes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx2

WAIT = 30.0  # the most any step may take before the test gives up (not a timing assertion)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mailcast_env(**settings: str) -> dict[str, str]:
    """This environment without its MAILCAST_ variables, plus `settings`; plain, wide output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCAST_")}
    env.pop("FORCE_COLOR", None)
    env |= {"COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    return env | settings


def answers(url: str) -> bool:
    """The URL answers 200."""
    try:
        return httpx2.get(url, timeout=1.0).status_code == 200
    except httpx2.HTTPError:
        return False


class Mailcast:
    """`python -m mailcast ARGS` in the background, its output kept line by line as it comes.

    `with Mailcast(...) as process:` kills it at the end if the test left it running.
    """

    def __init__(self, *args: str, cwd: Path, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mailcast", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._changed = threading.Condition()
        self._out: list[str] = []
        self._err: list[str] = []
        assert self._process.stdout is not None and self._process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self._process.stdout, self._out)),
            threading.Thread(target=self._read, args=(self._process.stderr, self._err)),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def stdout(self) -> str:
        with self._changed:
            return "".join(self._out)

    @property
    def stderr(self) -> str:
        with self._changed:
            return "".join(self._err)

    def running(self) -> bool:
        return self._process.poll() is None

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        """The first line of standard output that matches, once it is written."""
        found = re.compile(pattern)
        deadline = time.monotonic() + WAIT
        with self._changed:
            while True:
                match = next((m for line in self._out if (m := found.search(line))), None)
                if match is not None:
                    return match
                left = deadline - time.monotonic()
                if left <= 0 or not self._readers[0].is_alive():
                    raise AssertionError(f"no line matches {pattern!r}:\n{''.join(self._out)}")
                self._changed.wait(min(left, 0.5))

    def wait_until(self, check: Callable[[], bool], what: str) -> None:
        """Wait until `check()` is true while the process runs."""
        deadline = time.monotonic() + WAIT
        while not check():
            if not self.running() or time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting: {what}\n{self.stdout}\n{self.stderr}")
            time.sleep(0.05)

    def signal(self, sig: signal.Signals) -> int:
        """Send `sig`; the exit code once the process has ended."""
        self._process.send_signal(sig)
        return self.wait()

    def wait(self) -> int:
        code = self._process.wait(WAIT)
        for reader in self._readers:
            reader.join(WAIT)
        return code

    def _read(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.running():
            self._process.kill()
            self.wait()
