"""Encrypted reports in, encrypted answers out (issue 18), end to end.

A real Dovecot, a real SMTP server on loopback, the command line as an operator runs it; the
desk's key made with Sequoia, the reporters' with GnuPG, which also plays their mail clients
(`tests/support/pgp.py`): Thunderbird's PGP/MIME with protected headers and an Autocrypt
header, Mailvelope's and Proton's PGP/MIME, `gpg --armor` pasted inline. Each report must be
read (the plaintext triaged: a phishing complaint is redirected), acknowledged, and every
mail to a reporter whose key came with their mail must be PGP/MIME that `gpg` decrypts with
the reporter's key and finds signed by the desk. Mail the desk cannot decrypt still opens a
case and is acknowledged without being quoted; after the purge no key and no plaintext is
left in the store, its WAL or the mailbox.

Keys are made once for the module (ed25519/cv25519: milliseconds); each test has its own
desk, Dovecot and SMTP server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pysequoia
import pytest

from mailtriage.config import load_config
from mailtriage.inbound.message import InboundMail
from mailtriage.inbound.openpgp import DeskKeyMaterial, PgpError, decrypt
from mailtriage.inbound.pgpinbound import PgpInput, parse_incoming
from mailtriage.intake.parsepool import ParsePool
from mailtriage.service.wiring import build
from tests.support.desk import STAFF_NOTIFY, TEAM_ADDRESS, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.pgp import (
    GpgUser,
    encrypted_payload,
    inline,
    is_pgp_mime,
    mailvelope,
    signed_only,
    signed_then_encrypted,
    thunderbird,
)
from tests.support.postgres import connect_store, on_postgres, table_files
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

STAFF = "Marieke Bos <marieke.bos@example.nl>"
TRUSTED_MX = "mx.example.nl"
AUTH_RESULTS = (
    f"Authentication-Results: {TRUSTED_MX}; dkim=pass header.d=example.nl header.s=sel1; "
    "spf=pass smtp.mailfrom=example.nl\n"
).encode()
KEY_URL = "https://www.example.nl/.well-known/pgp-key.txt"

RIK_REPORT = (
    "Hello,\n\nThe search page https://portal.example.nl/zoek reflects the q parameter "
    "unescaped (stored XSS via the saved-search name). Seen on 27-11-2026 at 14:05.\n"
    "My test account is called groene-walrus-4471.\n\nRik\n"
)
MILA_REPORT = (
    "Hoi,\n\nDe API op https://api.example.nl/v2/meters geeft zonder token de meterstanden "
    "van andere klanten terug. Vastgesteld op 26-11-2026 om 09:30.\n\nMila\n"
)
JAN_REPORT = (
    "Hi,\n\nSQL injection in https://mijn.example.nl/facturen?jaar=2026' returns a database "
    "error; checked 25-11-2026 10:00.\n\nJan\n"
)
EVA_COMPLAINT = (
    "Hello,\n\nI received a fake email today claiming to be from PZEM, asking me to "
    "update my bank details because a direct debit had failed. I'm not even a PZEM "
    "customer. I deleted it but wanted to let you know that someone is using your name."
    "\n\nRegards,\nEva\n"
)


@dataclass
class People:
    desk_key: str  # the desk's armoured secret key
    desk_fingerprint: str
    rik: GpgUser  # Thunderbird: PGP/MIME, protected headers, Autocrypt, signed
    mila: GpgUser  # Mailvelope/Proton: PGP/MIME, desk in Bcc, key attached inside
    jan: GpgUser  # gpg --armor inline, signed, key attached
    eva: GpgUser  # Thunderbird, a complaint that is not for the desk
    olaf: GpgUser  # someone whose key the desk never had


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    root = tmp_path_factory.mktemp("gnupg")
    desk = pysequoia.Tsk.generate("PZEM security <security@example.nl>")
    users = [
        GpgUser(root / "rik", "Rik Onderzoeker", "rik.onderzoeker@example.test"),
        GpgUser(root / "mila", "Mila Jansen", "mila.jansen@example.test"),
        GpgUser(root / "jan", "Jan Pieters", "jan.pieters@example.test"),
        GpgUser(root / "eva", "Eva Smit", "eva.smit@example.test"),
        GpgUser(root / "olaf", "Olaf Kramer", "olaf.kramer@example.test"),
    ]
    public = str(desk.extract_certificate()).encode()
    for user in users[:-1]:
        user.import_key(public)
    users[-1].import_key(users[2].public_key())  # Olaf can write only to Jan
    try:
        yield People(str(desk), desk.extract_certificate().fingerprint, *users)
    finally:
        for user in users:
            user.close()


def make_desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, people: People) -> Desk:
    key_file = tmp_path / "desk-secret.asc"
    key_file.write_text(people.desk_key, encoding="ascii")
    key_file.chmod(0o600)
    return Desk(
        tmp_path,
        dovecot,
        smtp,
        cases={"staff": ["marieke.bos@example.nl"], "trusted_authserv_ids": [TRUSTED_MX]},
        pgp={"key_file": str(key_file), "public_key_url": KEY_URL},
    )


def opened(user: GpgUser, mail: Received) -> tuple[EmailMessage, str]:
    """What the reporter's client shows of a PGP/MIME mail: the decrypted entity (protected
    headers included) and gpg's status lines (who signed it)."""
    assert is_pgp_mime(mail.raw), "mail to a reporter with a key is PGP/MIME"
    plain, status = user.decrypt_verbose(encrypted_payload(mail.raw))
    entity = email.message_from_bytes(plain, policy=email.policy.default)
    assert isinstance(entity, EmailMessage)
    return entity, status


def text_of(entity: EmailMessage) -> str:
    part = entity.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def signed_by_desk(status: str, people: People) -> bool:
    return any(
        line.startswith("[GNUPG:] VALIDSIG") and people.desk_fingerprint.upper() in line
        for line in status.splitlines()
    )


def message_pgp(desk: Desk, ref: str) -> list[dict[str, Any]]:
    with contextlib.closing(desk.db()) as db:
        rows = db.execute(
            "SELECT m.pgp FROM messages m JOIN cases c ON c.id = m.case_id "
            "WHERE c.ref = ? ORDER BY m.id",
            (ref,),
        ).fetchall()
    return [json.loads(r[0]) if r[0] else {} for r in rows]


def staff_mail(ref: str, body: str) -> bytes:
    return AUTH_RESULTS + make_mail(sender=STAFF, subject=f"Re: report [{ref}]", body=body)


def plain_text(mail: Received) -> str:
    """A clear-text mail's text, decoded, white space collapsed."""
    body = mail.message.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split())


def outer_subject(mail: Received) -> str:
    return str(mail.message["Subject"])


# --------------------------------------------------------------------------- 1. clients


def test_encrypted_reports_from_common_clients_are_read_answered_and_answered_encrypted(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, people: People
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp, people)
    code, key = desk.cli("pgp-key")
    assert code == 0 and key.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert pysequoia.Cert.from_bytes(key.encode()).fingerprint == people.desk_fingerprint
    code, security_txt = desk.cli("security-txt")
    assert f"Encryption: {KEY_URL}" in security_txt.splitlines()

    rik, mila, jan, eva = people.rik, people.mila, people.jan, people.eva
    desk.deliver(
        # Thunderbird: encrypted and signed, real subject only inside, Autocrypt header.
        thunderbird(rik, TEAM_ADDRESS, "Stored XSS in the customer portal", RIK_REPORT),
        # Mailvelope/Proton: PGP/MIME, the desk only in Bcc, the key attached inside.
        mailvelope(
            mila,
            TEAM_ADDRESS,
            "Lek in de meterstanden-API",
            MILA_REPORT,
            to="Mila <mila.jansen@example.test>",
            attach_key=True,
        ),
        # gpg --armor --encrypt --sign pasted into a plain-text mail, key attached.
        inline(jan, TEAM_ADDRESS, "SQL injection", JAN_REPORT, sign=True, attach_key=True),
        # Not for the desk, but encrypted: it must be read to be redirected.
        thunderbird(eva, TEAM_ADDRESS, "Fake email", EVA_COMPLAINT),
    )
    desk.run_once()

    rik_case = desk.case_of(rik.address)
    assert rik_case["subject"] == "Stored XSS in the customer portal", "the protected subject"
    assert rik_case["category"] == "report" and rik_case["state"] == "acknowledged"
    mila_case = desk.case_of(mila.address)
    jan_case = desk.case_of(jan.address)
    assert {mila_case["state"], jan_case["state"]} == {"acknowledged"}
    eva_case = desk.case_of(eva.address)
    assert (eva_case["state"], eva_case["close_reason"]) == ("closed", "redirected")

    # Each got one answer, PGP/MIME, decryptable with their own key, signed by the desk, the
    # subject protected: outside only the tag.
    for user, case, words in (
        (rik, rik_case, "Within 5 working days"),
        (mila, mila_case, "Binnen 5 werkdagen"),
        (jan, jan_case, "Within 5 working days"),
        (eva, eva_case, "088 1346 000"),
    ):
        (mail,) = desk.sent_to(user.address)
        assert outer_subject(mail) == f"[{case['ref']}] ...", "only the tag outside"
        assert b"Within 5" not in mail.raw and b"werkdagen" not in mail.raw
        entity, status = opened(user, mail)
        assert signed_by_desk(status, people), status
        assert case["ref"] in str(entity["Subject"]) and str(entity["Subject"]) != "..."
        assert words in " ".join(text_of(entity).split())

    # The plaintext was what was read: no question for a URL or time it already gave.
    rik_ack = text_of(opened(rik, desk.sent_to(rik.address)[0])[0])
    assert "IP address or URL" not in rik_ack and "could not decrypt" not in rik_ack

    # Staff saw the decrypted report (masked) and what the encryption was.
    notices = {str(m.message["Subject"]): m for m in desk.sent_to(STAFF_NOTIFY)}
    rik_notice = next(m for s, m in notices.items() if rik_case["ref"] in s)
    notice_text = plain_text(rik_notice)
    assert "groene-walrus-4471" in notice_text
    assert "Encrypted (PGP/MIME) and decrypted; signed, signature good." in notice_text
    assert rik.address not in notice_text

    # What OpenPGP made of each mail is on the message.
    assert message_pgp(desk, rik_case["ref"])[0] == {
        "form": "pgp-mime",
        "decrypted": True,
        "problem": None,
        "signature": "good",
        "signer": rik.fingerprint.lower(),
        "key_offered": "autocrypt",
    }
    assert message_pgp(desk, mila_case["ref"])[0]["key_offered"] == "attachment"
    jan_record = message_pgp(desk, jan_case["ref"])[0]
    assert (jan_record["form"], jan_record["decrypted"]) == ("inline", True)
    # gpg compresses inside the encryption, which pysequoia does not verify: said as such.
    assert jan_record["signature"] == "unchecked"

    # From now on every mail to Rik is encrypted: a staff answer, relayed.
    desk.deliver(
        staff_mail(rik_case["ref"], "Thanks, we reproduced it and are working on a fix.\n")
    )
    desk.run_once()
    relay = desk.sent_to(rik.address)[-1]
    assert outer_subject(relay) == f"[{rik_case['ref']}] ..."
    assert b"reproduced" not in relay.raw
    entity, status = opened(rik, relay)
    assert "we reproduced it" in text_of(entity) and signed_by_desk(status, people)

    # Rik's encrypted reply, the tag only in the protected subject, joins his case, and its
    # signature is checked against the key the case keeps.
    desk.deliver(
        thunderbird(
            rik,
            TEAM_ADDRESS,
            f"Re: [{rik_case['ref']}] We have received your report",
            "It also works on https://portal.example.nl/favorieten.\n",
            autocrypt=False,
        )
    )
    desk.run_once()
    assert desk.case(rik_case["ref"])["messages"] == 3, "report, staff answer, reply"
    assert len(desk.cases()) == 4, "the reply opened no new case"
    assert message_pgp(desk, rik_case["ref"])[-1]["signature"] == "good"
    reply_notice = plain_text(desk.sent_to(STAFF_NOTIFY)[-1])
    assert "The reporter of" in reply_notice and "favorieten" in reply_notice
    assert "Encryption: Encrypted (PGP/MIME) and decrypted; signed, signature good." in (
        reply_notice
    )


# --------------------------------------------------------------------------- 2. unreadable


def test_mail_the_desk_cannot_decrypt_opens_a_case_is_acknowledged_and_staff_hear_why(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, people: People
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp, people)
    olaf, jan = people.olaf, people.jan
    # Olaf encrypts to the wrong key (Jan's, the one he has); Jan's PGP/MIME is damaged.
    wrong = inline(olaf, jan.address, "Kwetsbaarheid", "Zie https://x.example.nl/\n")
    good = thunderbird(jan, TEAM_ADDRESS, "Report", "Details follow.\n", autocrypt=False)
    start = good.index(b"-----BEGIN PGP MESSAGE-----") + 200
    corrupt = (
        good[:start] + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + good[start + 48 :]
    )
    desk.deliver(wrong, corrupt)
    desk.run_once()

    code, out = desk.cli("quarantine", "--json")
    assert code == 0 and json.loads(out) == [], "nothing quarantined"
    for user, reason, staff_words in (
        (olaf, "not encrypted to our current key", "not encrypted to the desk's key"),
        (jan, "the encrypted data was damaged", "damaged or not OpenPGP"),
    ):
        case = desk.case_of(user.address)
        assert case["state"] == "acknowledged" and case["category"] == "report"
        (ack,) = desk.sent_to(user.address)
        assert not is_pgp_mime(ack.raw), "no key of theirs: the answer is in clear"
        text = plain_text(ack)
        assert "could not decrypt it" in text and reason in text
        assert "konden het niet ontsleutelen" in text, "both languages: it was not read"
        assert "BEGIN PGP" not in text and "IP address or URL" not in text
        notice = next(
            m for m in desk.sent_to(STAFF_NOTIFY) if case["ref"] in str(m.message["Subject"])
        )
        notice_text = plain_text(notice)
        assert "NOT decrypted" in notice_text and staff_words in notice_text
        assert "BEGIN PGP" not in notice_text
        # The encrypted original is kept raw with the case.
        with contextlib.closing(desk.db()) as db:
            (raw,) = db.execute(
                "SELECT r.raw FROM message_raw r JOIN messages m ON m.id = r.message_id "
                "JOIN cases c ON c.id = m.case_id WHERE c.ref = ?",
                (case["ref"],),
            ).fetchone()
        assert b"-----BEGIN PGP MESSAGE-----" in raw


# --------------------------------------------------------------------------- 3. purge


def store_and_mailbox_files(desk: Desk, dovecot: Dovecot) -> list[Path]:
    roots = [desk.root, dovecot.maildir()]
    found = [p for root in roots for p in sorted(root.rglob("*")) if p.is_file()]
    if on_postgres():  # the store is not in the desk's folder: its table files, checkpointed
        found += table_files(desk.root)
    return found


def traces(paths: list[Path], needles: list[bytes]) -> list[str]:
    found = []
    for path in paths:
        data = path.read_bytes().lower()
        found += [f"{path}: {n[:30]!r}" for n in needles if n.lower() in data]
    return found


def test_the_purge_leaves_no_reporter_key_and_no_plaintext_in_store_wal_or_mailbox(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, people: People
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp, people)
    rik = people.rik
    desk.deliver(thunderbird(rik, TEAM_ADDRESS, "Stored XSS in the portal", RIK_REPORT))
    desk.run_once()
    ref = desk.case_of(rik.address)["ref"]
    desk.deliver(staff_mail(ref, "#close fixed\n"))
    desk.run_once()
    closed_at = dt.datetime.fromisoformat(desk.case(ref)["closed_at"])

    with contextlib.closing(desk.db()) as db:
        (kept,) = db.execute("SELECT reporter_pgp_key FROM cases WHERE ref = ?", (ref,)).fetchone()
    assert kept and rik.fingerprint.upper()[-16:] in kept.replace(" ", ""), "the key is kept"
    # The key as the desk stores it, line by line: any line of it left anywhere is a trace.
    key_lines = [
        line.encode()
        for line in kept.splitlines()
        if len(line) > 40 and not line.startswith(("-----", "Comment"))
    ]
    needles = [b"groene-walrus-4471", rik.address.encode(), b"Stored XSS", *key_lines]
    assert key_lines
    assert traces(store_and_mailbox_files(desk, dovecot), [needles[0], key_lines[0]])

    desk.clock.set(closed_at + dt.timedelta(days=91))
    app = build(load_config(desk.config), desk.clock)
    try:
        assert app.purger.run().cases == [ref]
    finally:
        app.close()

    with contextlib.closing(connect_store(desk.root)) as db:
        rows = db.execute(
            "SELECT c.reporter_pgp_key, m.pgp FROM cases c JOIN messages m ON m.case_id = c.id "
            "WHERE c.ref = ?",
            (ref,),
        ).fetchall()
    assert rows and all(key is None and json.loads(pgp or "null") is None for key, pgp in rows)
    assert traces(store_and_mailbox_files(desk, dovecot), needles) == []


# --------------------------------------------------------------------------- 4. signatures


def test_rfc3156_detached_signatures_are_checked_signed_only_or_inside_the_encryption(
    people: People,
) -> None:
    """Enigmail signs a multipart/signed entity and then encrypts it; a signed-only mail is
    multipart/signed outside. Either way the signature is checked with the key the desk
    keeps for the sender, and a signature no kept key made is not believed."""
    rik = people.rik
    desk = PgpInput(DeskKeyMaterial(people.desk_key.encode()), (rik.public_key(),))
    stranger = PgpInput(DeskKeyMaterial(people.desk_key.encode()))
    text = "Open redirect at https://www.example.nl/r?u= seen 27-11-2026 09:00.\n"
    for raw, form in (
        (signed_then_encrypted(rik, TEAM_ADDRESS, "Open redirect", text), "pgp-mime"),
        (signed_only(rik, "Open redirect", text), "none"),
    ):
        mail = parse_incoming(raw, desk)
        assert mail.pgp is not None and mail.pgp.form == form
        assert mail.pgp.signature.status == "good", form
        assert mail.pgp.signature.signer == rik.fingerprint.lower()
        assert mail.indicators.urls == ("https://www.example.nl/r?u=",)
        unknown = parse_incoming(raw, stranger)
        assert unknown.pgp is not None and unknown.pgp.signature.status == "unverified"
    # One byte of the signed part changed (its body is base64, so its header it is).
    tampered = signed_only(rik, "Open redirect", text).replace(
        b'charset="utf-8"', b"charset=utf-8", 1
    )
    mail = parse_incoming(tampered, desk)
    assert mail.pgp is not None and mail.pgp.signature.status == "unverified"


# --------------------------------------------------------------------------- 5. bombs


def test_a_compression_bomb_stops_at_the_size_limit_in_the_parse_worker(people: People) -> None:
    """A few kB of cipher text that inflate to 20 MB of zeros: the parse worker's limit on
    written files (here 2 MB, in production cases.max_message_bytes) stops the plaintext
    there; the mail is treated as undecryptable, not read into memory."""
    jan = people.jan
    bomb = jan.gpg(
        "--armor", "--encrypt", "-z", "9", "--recipient", TEAM_ADDRESS, data=b"\0" * (20 << 20)
    )
    raw = inline(jan, TEAM_ADDRESS, "Report", "", cipher=bomb)
    assert len(raw) < 200_000
    pool = ParsePool(file_limit=2 << 20)
    try:
        (mail,) = pool.parse({1: raw}, PgpInput(DeskKeyMaterial(people.desk_key.encode()))).values()
    finally:
        pool.close()
    assert isinstance(mail, InboundMail), mail
    assert mail.pgp is not None and mail.pgp.problem == "too-large"
    assert len(mail.text) < 1000


# --------------------------------------------------------------------------- 6. passphrase


def test_a_desk_key_with_a_passphrase_works_with_its_passphrase_file_only(
    tmp_path: Path, people: People
) -> None:
    """An operator exports the desk key from GnuPG, protected: `passphrase_file` unlocks it;
    a wrong passphrase stops the daemon at start, naming the key."""
    home = tmp_path / "operator"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback"]
    subprocess.run(
        [
            *gpg,
            "--passphrase",
            "correct horse",
            "--quick-generate-key",
            "PZEM security <security@example.nl>",
            "ed25519",
            "sign,cert",
            "never",
        ],
        check=True,
        capture_output=True,
    )
    fingerprint = next(
        line.split(":")[9]
        for line in subprocess.run(
            [*gpg, "--with-colons", "--list-keys"], check=True, capture_output=True, text=True
        ).stdout.splitlines()
        if line.startswith("fpr:")
    )
    subprocess.run(
        [
            *gpg,
            "--passphrase",
            "correct horse",
            "--quick-add-key",
            fingerprint,
            "cv25519",
            "encr",
            "never",
        ],
        check=True,
        capture_output=True,
    )
    secret = subprocess.run(
        [*gpg, "--passphrase", "correct horse", "--armor", "--export-secret-keys", fingerprint],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
    key_file = tmp_path / "desk.asc"
    key_file.write_bytes(secret)
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.write_text("correct horse\n", encoding="utf-8")
    wrong.write_text("battery staple\n", encoding="utf-8")

    material = DeskKeyMaterial.from_files(key_file, right)
    cipher = pysequoia.encrypt(b"IDOR at https://portal.example.nl/export", [material.cert()])
    plain, _ = decrypt(cipher, material)
    assert plain == b"IDOR at https://portal.example.nl/export"
    for passphrase in (wrong, None):
        with pytest.raises(PgpError, match=r"pgp\.key_file"):
            DeskKeyMaterial.from_files(key_file, passphrase)


def test_the_files_of_an_encrypted_report_reach_staff_decrypted_in_the_attachments_zip(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, people: People
) -> None:
    """`#attachments` and `case --export` take an encrypted report's files from inside the
    encryption: the analyst gets the proof of concept, not cipher text."""
    desk = make_desk(tmp_path, dovecot, smtp, people)
    poc = b"#!/usr/bin/env python3\nprint('IDOR: meter 4711 of another customer')\n"
    rik = people.rik
    desk.deliver(
        thunderbird(
            rik, TEAM_ADDRESS, "IDOR in the meter API", RIK_REPORT, files=(("poc_idor.py", poc),)
        )
    )
    desk.run_once()
    ref = desk.case_of(rik.address)["ref"]
    desk.deliver(staff_mail(ref, "#attachments\n"))
    desk.run_once()

    archives = [
        part.get_payload(decode=True)
        for mail in desk.sent_to("marieke.bos@example.nl")
        for part in mail.message.walk()
        if part.get_content_type() == "application/zip"
    ]
    assert len(archives) == 1, "one ZIP, to the analyst who asked"
    archive = tmp_path / "case.zip"
    archive.write_bytes(archives[0])
    unpacked = tmp_path / "unpacked"
    done = subprocess.run(
        ["7z", "x", "-pinfected", f"-o{unpacked}", "-y", str(archive)],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (unpacked / "poc_idor.py").read_bytes() == poc
    assert not any(b"BEGIN PGP MESSAGE" in f.read_bytes() for f in unpacked.iterdir())

    code, _ = desk.cli("case", ref, "--export", str(tmp_path / "export"))
    assert code == 0
    assert (tmp_path / "export" / "poc_idor.py").read_bytes() == poc
