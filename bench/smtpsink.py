"""An SMTP server on loopback in a process of its own, for the benches: it accepts every
message and counts them. Run as `python bench/smtpsink.py PORT`; prints `ready` once it
listens, and the number of messages accepted (and of connections) when stdin closes.

A process of its own so that it does not compete with the measured code for the GIL (the
test suite's in-process aiosmtpd would slow both the desk and the baseline)."""

from __future__ import annotations

import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.recipients: dict[str, int] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.messages += 1
            for rcpt in envelope.rcpt_tos:
                self.recipients[rcpt] = self.recipients.get(rcpt, 0) + 1
        return "250 Message accepted"


def main(argv: list[str]) -> int:
    counter = Counter()
    controller: Any = Controller(counter, hostname="127.0.0.1", port=int(argv[0]))
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    controller.stop()
    print(counter.messages, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
