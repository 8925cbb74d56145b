"""A helper process that ends with the process it serves: no orphans after a SIGKILL.

The parse pool's processes hang off the desk's process: the multiprocessing forkserver (a
child of the desk) forks the parse workers, and a resource tracker (another child) watches
them. When the desk is killed outright (SIGKILL, the OOM killer, `timeout` on `run --once`)
no code of it runs to stop them. An idle worker then reads EOF on its pipe and ends; but a
worker busy with a parse (a slow or hostile mail: the time limit is enforced by the desk,
which is gone) would run on under PID 1, and with it the forkserver (which waits for its
children's end of the "alive" pipe to close) and the resource tracker (which waits for every
holder of its pipe).

So the worker watches the desk itself: a thread waits on a pidfd of the desk's process (Linux
5.3+; elsewhere it polls the pid) and ends the worker the moment the desk is gone. Once the
workers are gone, the forkserver and the resource tracker end by themselves.
"""

from __future__ import annotations

import os
import select
import threading

POLL_SECONDS = 0.5


def exit_when_gone(pid: int) -> None:
    """End this process (at once, no clean-up) as soon as process `pid` has ended."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)  # gone already
    except (AttributeError, OSError):
        handle = None
    threading.Thread(
        target=_wait_pidfd if handle is not None else _poll,
        args=(handle if handle is not None else pid,),
        name="orphan-guard",
        daemon=True,
    ).start()


def _wait_pidfd(handle: int) -> None:
    # A pidfd becomes readable when its process has ended.
    select.select([handle], [], [])
    os._exit(1)


def _poll(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass  # exists, under another user: a recycled pid at worst; keep watching
        threading.Event().wait(POLL_SECONDS)
