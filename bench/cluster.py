"""Two daemons on one store, reports arriving while the active one is killed or paused.
Run by hand (issue 15, acceptance 2):

    .venv/bin/python bench/cluster.py [--reports 500] [--cycles 4] [--lease 2] [--store postgresql]

A private PostgreSQL (or a SQLite file), one private Dovecot and one SMTP server on loopback,
two `mailtriage run` processes (node-a, node-b). The reports are delivered in rounds; between
rounds the active node is alternately SIGSTOPped past its lease (and resumed after the
takeover) or SIGKILLed (and started again as the new standby). At the end: every report must
be stored once, open one case and get one acknowledgement. Each takeover time (from the
signal to `status` naming the other node) is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.test_cluster import (  # noqa: E402
    acks,
    active_is,
    node_config,
    report,
    start,
    status,
    wait_for,
)
from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.postgres import BACKEND_VARIABLE, connect_store  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--lease", type=int, default=2)
    parser.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    os.environ[BACKEND_VARIABLE] = args.store
    import tests.integration.test_cluster as rig

    rig.LEASE_SECONDS = args.lease
    takeovers: list[float] = []
    with Dovecot() as dovecot, SmtpServer() as smtp, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        configs = {n: node_config(root, root, n, dovecot, smtp) for n in ("node-a", "node-b")}
        procs = {"node-a": start(configs["node-a"])}
        wait_for(lambda: _quiet(configs["node-a"], "node-a"), 60, "node-a active")
        procs["node-b"] = start(configs["node-b"])
        active, standby = "node-a", "node-b"
        rounds = args.cycles + 1
        per_round = -(-args.reports // rounds)
        sent = 0
        started = time.monotonic()
        try:
            for cycle in range(rounds):
                batch = range(sent, min(sent + per_round, args.reports))
                with dovecot.client() as client:
                    for i in batch:
                        client.append("INBOX", report(i))
                sent = batch.stop
                if cycle == rounds - 1:
                    break
                time.sleep(1.0)  # the signal lands while this round is being worked on
                how = "SIGSTOP" if cycle % 2 == 0 else "SIGKILL"
                victim = procs[active]
                victim.send_signal(signal.SIGSTOP if how == "SIGSTOP" else signal.SIGKILL)
                took = wait_for(active_is(configs[standby], standby), 120, f"{standby} takes over")
                takeovers.append(took)
                print(f"cycle {cycle + 1}: {how} {active}, {standby} active after {took:.2f} s")
                if how == "SIGSTOP":
                    victim.send_signal(signal.SIGCONT)  # wakes up deposed: must do nothing
                else:
                    victim.wait(timeout=30)
                    procs[active] = start(configs[active])
                active, standby = standby, active
            wait_for(lambda: len(acks(smtp)) >= args.reports, 600, "every acknowledgement")
            elapsed = time.monotonic() - started
            time.sleep(3 * args.lease)  # anything sent twice arrives by now
            counted = acks(smtp)
            with contextlib.closing(connect_store(root)) as db:
                stored = db.execute("select count(*) from messages").fetchone()[0]
                cases = db.execute("select count(*) from cases").fetchone()[0]
                per_reporter = db.execute(
                    "select max(n) from (select count(*) n from cases "
                    "group by reporter_address) as per_reporter"
                ).fetchone()[0]
        finally:
            for proc in procs.values():
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.communicate(timeout=30)
    doubled = sorted(r for r, n in counted.items() if n > 1)
    print(
        f"{args.reports} reports on {args.store} in {elapsed:.1f} s: stored {stored}, "
        f"cases {cases} (max {per_reporter} per reporter), acknowledged {len(counted)}, "
        f"acknowledged twice {len(doubled)}"
    )
    print(
        f"takeover (lease {args.lease} s): median {statistics.median(takeovers):.2f} s, "
        f"max {max(takeovers):.2f} s over {len(takeovers)} takeovers"
    )
    ok = stored == cases == len(counted) == args.reports and not doubled and per_reporter == 1
    print("every report once: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


def _quiet(config: Path, node: str) -> bool:
    try:
        return status(config)["active_node"] == node
    except Exception:  # not migrated yet
        return False


if __name__ == "__main__":
    sys.exit(main())
