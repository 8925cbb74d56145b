"""Who holds a claim on an outbox row, and whether that holder is gone.

A row being delivered is claimed for a lease (`outbox.CLAIM_LEASE`), so a sender that died
mid-delivery does not leave it stuck forever. The lease alone makes a restarted daemon wait
minutes for mail its dead predecessor had claimed, although on the same machine it can see at
once that the predecessor is gone. So a claim names its owner: host, boot, process id and the
process's start time (the pair pid + start time never repeats on one boot). A claim whose
owner ran on this host and whose process is gone (or is a new process under a recycled pid,
or the machine rebooted since) is free at once; a claim made on another host still waits for
its lease, since we cannot see that host's processes.

The owner is deliberately a small value with a string form: a cluster lease epoch (several
daemons sharing PostgreSQL) can be added as one more field without touching the outbox.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_SEPARATOR = "|"
_PROC = Path("/proc")


@dataclass(frozen=True)
class ClaimOwner:
    host: str
    boot: str  # the kernel's boot id; empty where the platform has none
    pid: int
    started: str  # the process's start time in clock ticks since boot; empty where unknown

    @property
    def token(self) -> str:
        """The form stored in `OutboxMail.claimed_by`."""
        return _SEPARATOR.join((self.host, self.boot, str(self.pid), self.started))

    @classmethod
    def parse(cls, token: str) -> ClaimOwner | None:
        parts = token.rsplit(_SEPARATOR, 3)
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        host, boot, pid, started = parts
        return cls(host, boot, int(pid), started)

    @classmethod
    def current(cls) -> ClaimOwner:
        """This process (computed anew after a fork: the pid is part of it)."""
        return _owner_of_pid(os.getpid())

    def is_gone(self) -> bool:
        """True only when we can tell for sure that this owner no longer runs: it ran on
        this host, in this pid namespace, and its process has ended (or its pid now belongs
        to a process started later). Unknown means alive: the lease decides."""
        here = _owner_of_pid(os.getpid())
        if self.host != here.host or not self.boot or not here.boot:
            return False
        if self.boot != here.boot:
            boot, _, namespace = self.boot.partition("/")
            here_boot, _, here_namespace = here.boot.partition("/")
            # Another boot of this host: every process of that boot is gone. Another pid
            # namespace (a container beside us, sharing the host name): we cannot see it.
            return boot != here_boot and namespace == here_namespace
        try:
            os.kill(self.pid, 0)  # works where /proc hides other users' processes
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # exists, another user's
        state, started = _process(self.pid)
        if state is None:
            return False  # hidden from us: cannot tell
        return state in ("Z", "X") or (bool(self.started) and started != self.started)


def _owner_of_pid(pid: int) -> ClaimOwner:
    return ClaimOwner(socket.gethostname(), _boot_id(), pid, _process(pid)[1] or "")


@cache
def _boot_id() -> str:
    """This boot of this host and the pid namespace we live in: a pid means something only
    within both."""
    try:
        boot = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink(_PROC / "self/ns/pid")
    except OSError:
        return ""
    return f"{boot}/{namespace}"


def _process(pid: int) -> tuple[str | None, str | None]:
    """The state letter and start time (field 22 of /proc/PID/stat, ticks since boot) of
    `pid`; (None, None) when there is no such process we can see. A zombie ("Z") runs no
    code any more, whatever its parent does."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None, None
    # The command name (field 2) is in parentheses and may itself hold spaces or ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], fields[19]
