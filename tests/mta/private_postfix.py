"""A private Postfix instance on loopback for the real-MTA tests: own config, queue and log.

Nothing of the machine's own Postfix is used or touched: `postfix -c DIR` reads a main.cf and
master.cf written here, the queue lives under the same temporary directory, and the log goes
to a file there (no syslog needed). Starting it needs root, as Postfix's master does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

POSTFIX = Path("/usr/sbin/postfix")
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")

# Every service Postfix needs to relay mail and return DSNs; none chrooted (no copies of
# /etc files under the queue), smtpd only on the loopback port.
MASTER_CF = """\
{listen} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/spool
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
myhostname = relay.mailcast.test
mydomain = mailcast.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
notify_classes =
biff = no
smtputf8_enable = no
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
# Everything goes to the recipients' "MX" (a local test server); the bounce domain's mail
# (Postfix's own DSNs) to mailcast's bounce receiver.
relayhost = [{relay_host}]:{relay_port}
transport_maps = texthash:{base}/etc/transport
# The next hop does not do DSN (as most MXs): Postfix itself reports "relayed" successes.
smtp_discard_ehlo_keywords = dsn
# Compressed time: deferred mail is retried every second, warned about at once, and
# returned as failed after `lifetime` seconds.
maximal_queue_lifetime = {lifetime}s
bounce_queue_lifetime = {lifetime}s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 1s
delay_warning_time = 1s
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def skip_reason() -> str | None:
    """Why the real-MTA tests cannot run here, or None when they can."""
    if not POSTFIX.exists():
        return f"{POSTFIX} is absent (CI installs Debian's postfix package)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (Postfix's master runs as root)"
    return None


@dataclass
class PrivatePostfix:
    """Postfix on 127.0.0.1:`port`, relaying to `relay`, with per-domain `transports`."""

    relay: tuple[str, int]
    transports: dict[str, tuple[str, int]]
    lifetime_seconds: int = 6
    port: int = field(default_factory=free_port)
    base: Path = field(init=False)

    def __post_init__(self) -> None:
        # Postfix's daemons run as the postfix user: every directory above must be searchable.
        self.base = Path(tempfile.mkdtemp(prefix="mailcast-postfix-", dir="/tmp"))
        self.base.chmod(0o755)

    @property
    def config_dir(self) -> Path:
        return self.base / "etc"

    def start(self, timeout: float = 20.0) -> Self:
        self._write_config()
        self._postfix("start")
        deadline = time.monotonic() + timeout
        while not self._listening():
            if time.monotonic() > deadline:
                raise TimeoutError(f"Postfix did not listen on {self.port}:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        pid = self._master_pid()
        subprocess.run([str(POSTFIX), "-c", str(self.config_dir), "stop"], capture_output=True)
        deadline = time.monotonic() + timeout
        while pid is not None and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def queued(self) -> int:
        """Messages still in Postfix's queues (being delivered, deferred, or arriving)."""
        spool = self.base / "spool"
        return sum(1 for q in QUEUES for p in (spool / q).rglob("*") if p.is_file())

    def log(self, lines: int = 60) -> str:
        path = self.base / "maillog"
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _write_config(self) -> None:
        self.config_dir.mkdir()
        (self.base / "spool").mkdir(mode=0o755)
        data = self.base / "data"
        data.mkdir(mode=0o700)
        owner = pwd.getpwnam("postfix")
        os.chown(data, owner.pw_uid, owner.pw_gid)
        (self.config_dir / "master.cf").write_text(
            MASTER_CF.format(listen=f"127.0.0.1:{self.port}")
        )
        relay_host, relay_port = self.relay
        (self.config_dir / "main.cf").write_text(
            MAIN_CF.format(
                base=self.base,
                relay_host=relay_host,
                relay_port=relay_port,
                lifetime=self.lifetime_seconds,
            )
        )
        (self.config_dir / "transport").write_text(
            "".join(f"{d} smtp:[{h}]:{p}\n" for d, (h, p) in self.transports.items())
        )

    def _postfix(self, command: str) -> None:
        done = subprocess.run(
            [str(POSTFIX), "-c", str(self.config_dir), command], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"postfix {command} failed:\n{done.stderr}\n{self.log()}")

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def _master_pid(self) -> int | None:
        try:
            return int((self.base / "spool" / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def _alive(pid: int) -> bool:
    """Whether the process runs; a zombie waiting for its parent to reap it does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
