"""Finding and killing this test's parse workers, the way the kernel's OOM killer would.

The desk runs in the test's own process (`Desk.cli`); its parse worker is forked by the
multiprocessing forkserver, a child of this process. A test that wants a worker to die in the
middle of one particular mail waits until a worker holds that mail (its memory shows it: the
mail is big, every other mail is small) and sends it SIGKILL. Nothing in `src` knows.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from mailtriage.outgoing.transport.sender import PROCESS_NAME

FORKSERVER = b"multiprocessing.forkserver"


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` in kB (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _parent_and_cmdline(pid: int) -> tuple[int, bytes] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1]), cmdline


def forked_workers() -> list[int]:
    """Parse workers: processes forked by a forkserver that is a child of this process, but
    for the SMTP sender process (which names itself)."""
    me = os.getpid()
    info = {
        int(entry): found
        for entry in os.listdir("/proc")
        if entry.isdigit() and (found := _parent_and_cmdline(int(entry))) is not None
    }
    servers = {pid for pid, (ppid, cmd) in info.items() if ppid == me and FORKSERVER in cmd}
    return [pid for pid, (ppid, _) in info.items() if ppid in servers and not _is_sender(pid)]


def _is_sender(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == PROCESS_NAME
    except OSError:
        return False


class WorkerKiller:
    """While active, SIGKILLs every parse worker whose memory passes `rss_over_kb`."""

    def __init__(self, rss_over_kb: int) -> None:
        self.rss_over_kb = rss_over_kb
        self.kills = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> WorkerKiller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            for pid in forked_workers():
                if rss_kb(pid) > self.rss_over_kb:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    self.kills += 1


def descendants(pid: int) -> list[int]:
    """Every living process below `pid` (children, their children, ...)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _parent_and_cmdline(int(entry))) is not None:
            parents[int(entry)] = found[0]
    below: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        below.extend(children)
        frontier.extend(children)
    return below


def running(pid: int) -> bool:
    """Whether `pid` is a process that still runs code (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")
