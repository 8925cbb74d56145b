"""Who holds an outbox claim, and whether it is gone: real processes, real /proc."""

from __future__ import annotations

import subprocess
import sys

from mailtriage.outgoing.claims import ClaimOwner


def _child_owner(wait: bool) -> tuple[ClaimOwner, subprocess.Popen[bytes]]:
    """The owner token of a child process, which has exited (reaped or a zombie)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from mailtriage.outgoing.claims import ClaimOwner; print(ClaimOwner.current().token)",
        ],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    token = child.stdout.readline().decode().strip()
    if wait:
        child.wait()
    else:
        while _running(child.pid):  # ends as a zombie: not polled, so not reaped
            pass
    owner = ClaimOwner.parse(token)
    assert owner is not None
    return owner, child


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_this_process_is_not_gone_and_its_token_reads_back() -> None:
    me = ClaimOwner.current()
    assert ClaimOwner.parse(me.token) == me
    assert not me.is_gone()


def test_a_process_that_ended_is_gone() -> None:
    owner, _ = _child_owner(wait=True)
    assert owner.is_gone()


def test_a_process_that_ended_but_was_not_reaped_is_gone() -> None:
    owner, child = _child_owner(wait=False)  # a zombie until we wait for it
    try:
        assert owner.is_gone()
    finally:
        child.wait()


def test_a_recycled_pid_is_not_the_old_owner() -> None:
    me = ClaimOwner.current()
    earlier = ClaimOwner(me.host, me.boot, me.pid, str(int(me.started) - 1))
    assert earlier.is_gone()


def test_a_claim_of_another_host_or_an_unseen_namespace_waits_for_its_lease() -> None:
    me = ClaimOwner.current()
    elsewhere = ClaimOwner("another-host.example.nl", me.boot, 999_999, "1")
    assert not elsewhere.is_gone()
    boot, _, namespace = me.boot.partition("/")
    container = ClaimOwner(me.host, f"{boot}/pid:[1]", 999_999, "1")
    assert not container.is_gone()
    rebooted = ClaimOwner(me.host, f"another-boot/{namespace}", me.pid, me.started)
    assert rebooted.is_gone()


def test_a_token_that_is_not_one_is_refused() -> None:
    assert ClaimOwner.parse("garbage") is None
    assert ClaimOwner.parse("a|b|not-a-pid|d") is None
