"""OpenPGP costs: what decrypting a report and encrypting an answer adds. Run by hand:

    .venv/bin/python bench/openpgp.py [--rounds 3] [--bomb-mb 100]

Figures, never assertions (the tests assert behaviour). It measures, with Sequoia-made keys
(ed25519/cv25519, as `sq key generate` makes by default):
- parse_incoming vs parse_message on an ordinary mail (the cost of the OpenPGP check on mail
  that has none: a byte search);
- parse_incoming on PGP/MIME reports of 10 kB and 5 MB, signed, with the signer's key known;
- pgpoutbound.protect on an acknowledgement (sign + encrypt + wrap);
- a compression bomb: `gpg` compresses N MB of zeros into an encrypted mail of some kB; in
  the parse worker the plaintext file stops at the file-size limit (max_message_bytes);
  in-process (no limit) it is decrypted whole: time and peak RSS. Needs `gpg` (make gnupg).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pysequoia

from mailtriage.inbound.message import InboundMail, parse_message
from mailtriage.inbound.openpgp import DeskKeyMaterial
from mailtriage.inbound.pgpinbound import PgpInput, parse_incoming
from mailtriage.intake.parsepool import ParsePool
from mailtriage.outgoing.pgpoutbound import protect


def best(rounds: int, work: Callable[[], object]) -> float:
    work()
    times = []
    for _ in range(rounds):
        start = time.monotonic()
        work()
        times.append(time.monotonic() - start)
    return min(times)


def pgp_mime(cipher: bytes) -> bytes:
    return (
        b"From: Rik <rik@example.test>\r\nTo: security@example.nl\r\nSubject: ...\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; boundary="b";\r\n'
        b' protocol="application/pgp-encrypted"\r\n\r\n--b\r\n'
        b"Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + cipher + b"\r\n--b--\r\n"
    )


def report(size: int) -> bytes:
    line = b"The export at https://portal.example.nl/export?id=1002 leaks other accounts.\r\n"
    body = line * (size // len(line) + 1)
    return (
        b'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\n'
        b"Subject: IDOR in the export\r\n\r\n" + body[:size]
    )


def bomb(megabytes: int, desk_public: str) -> bytes | None:
    if shutil.which("gpg") is None:
        return None
    with tempfile.TemporaryDirectory() as home:
        base = ["gpg", "--homedir", home, "--batch", "--quiet", "--trust-model", "always"]
        subprocess.run([*base, "--import"], input=desk_public.encode(), check=True)
        zeros = b"\0" * (megabytes * 1024 * 1024)
        done = subprocess.run(
            [*base, "--armor", "--encrypt", "-z", "9", "-r", "security@example.nl"],
            input=zeros,
            capture_output=True,
            check=True,
        )
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bomb-mb", type=int, default=100)
    args = parser.parse_args()

    desk = pysequoia.Tsk.generate("PZEM security <security@example.nl>")
    material = DeskKeyMaterial(str(desk).encode())
    rik = pysequoia.Tsk.generate("Rik <rik@example.test>")
    known = PgpInput(material, (bytes(rik.extract_certificate()),))
    desk_cert = desk.extract_certificate()

    plain = (Path(__file__).parent.parent / "tests/classifier").glob("*.eml")
    sample = next(iter(sorted(plain)), None)
    ordinary = sample.read_bytes() if sample else report(4000)

    def show(label: str, work: Callable[[], object]) -> None:
        print(f"{label:58} {best(args.rounds, work):10.4f} s")

    print(f"{'what':58} {'best of ' + str(args.rounds):>12}")
    show("parse_message, ordinary mail", lambda: parse_message(ordinary))
    show("parse_incoming, same mail (OpenPGP check)", lambda: parse_incoming(ordinary, known))
    for size in (10_000, 5_000_000):
        mail = pgp_mime(pysequoia.encrypt(report(size), [desk_cert], signer=rik.signer()))
        show(
            f"parse_incoming, PGP/MIME signed report, {size // 1000} kB",
            lambda mail=mail: parse_incoming(mail, known),  # type: ignore[misc]
        )
    ack = (
        b"From: security@example.nl\r\nTo: rik@example.test\r\nSubject: [PZEM-SEC-2026-0001] "
        b"We have received your report\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + b"We will answer within 5 working days.\r\n"
        * 60
    )
    rik_cert = rik.extract_certificate()
    show("protect (sign + encrypt) an acknowledgement", lambda: protect(ack, [rik_cert], material))

    cipher = bomb(args.bomb_mb, str(desk_cert))
    if cipher is None:
        print("compression bomb: skipped (no gpg)")
        return
    mail = pgp_mime(cipher)
    pool = ParsePool(file_limit=50_000_000)  # as wiring sets it: cases.max_message_bytes
    try:
        start = time.monotonic()
        (parsed,) = pool.parse({1: mail}, known).values()
        took = time.monotonic() - start
    finally:
        pool.close()
    problem = parsed.pgp.problem if isinstance(parsed, InboundMail) and parsed.pgp else parsed
    print(
        f"compression bomb, parse worker (50 MB file limit): {len(mail) // 1024} kB mail -> "
        f"{args.bomb_mb} MB plaintext: {took:.2f} s, {problem}"
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    parse_incoming(mail, known)
    took = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"compression bomb, in-process (no file limit): {took:.2f} s, "
        f"peak RSS {before // 1024} -> {after // 1024} MB"
    )


if __name__ == "__main__":
    main()
