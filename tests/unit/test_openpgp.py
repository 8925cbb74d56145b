"""OpenPGP in and out without servers: what is decrypted, which keys are believed, what the
wrapped answer looks like. Keys are made with Sequoia once for the module (milliseconds).
The end-to-end checks with GnuPG as the reporters' client are in
tests/integration/test_openpgp.py."""

from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pysequoia
import pytest

from mailtriage.inbound.openpgp import DeskKeyMaterial, PgpFacts, SignatureCheck, replaces_key
from mailtriage.inbound.pgpinbound import UNDECRYPTABLE_NOTE, PgpInput, parse_incoming, unwrap
from mailtriage.outgoing.pgpoutbound import protect
from mailtriage.service.cli import main
from tests.support.mails import make_mail

REPORTER = "rik.onderzoeker@example.test"


@dataclass
class Keys:
    desk: pysequoia.Tsk
    material: DeskKeyMaterial
    reporter: pysequoia.Tsk
    stranger: pysequoia.Tsk


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    desk = pysequoia.Tsk.generate("PZEM security <security@example.nl>")
    yield Keys(
        desk,
        DeskKeyMaterial(str(desk).encode()),
        pysequoia.Tsk.generate(f"Rik <{REPORTER}>"),
        pysequoia.Tsk.generate("Olaf <olaf.kramer@example.test>"),
    )


def pgp_mime(outer_headers: str, entity: bytes, to: pysequoia.Cert, signer=None) -> bytes:  # type: ignore[no-untyped-def]
    armoured = pysequoia.encrypt(entity, [to], signer=signer)
    return (
        outer_headers.encode()
        + b'MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; boundary="b1";\r\n'
        b' protocol="application/pgp-encrypted"\r\n\r\n'
        b"--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n\r\n" + armoured + b"\r\n--b1--\r\n"
    )


HEADERS = (
    f"From: Rik <{REPORTER}>\r\nTo: security@example.nl\r\nSubject: ...\r\n"
    "Message-ID: <outer@example.test>\r\n"
)


def test_ordinary_mail_is_not_touched(keys: Keys) -> None:
    assert unwrap(make_mail(), keys.material) is None


def test_the_protected_subject_wins_and_the_outer_sender_stays(keys: Keys) -> None:
    entity = (
        b'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\n'
        b"Subject: XSS in the portal\r\nFrom: Someone Else <ceo@example.nl>\r\n\r\n"
        b"XSS at https://portal.example.nl/zoek on 27-11-2026 14:05\r\n"
    )
    raw = pgp_mime(HEADERS, entity, keys.desk.extract_certificate(), keys.reporter.signer())
    mail = parse_incoming(
        raw, PgpInput(keys.material, (bytes(keys.reporter.extract_certificate()),))
    )
    assert mail.subject == "XSS in the portal"
    assert mail.sender is not None and mail.sender.address == REPORTER, "the MTA-checked From"
    assert mail.message_id == "outer@example.test"
    assert mail.indicators.urls == ("https://portal.example.nl/zoek",)
    assert mail.pgp is not None and mail.pgp.decrypted
    assert mail.pgp.signature == SignatureCheck(
        "good", keys.reporter.extract_certificate().fingerprint
    )
    # Without the reporter's key the signature is there but cannot be believed.
    unknown = parse_incoming(raw, PgpInput(keys.material))
    assert unknown.pgp is not None and unknown.pgp.signature.status == "unverified"


@pytest.mark.parametrize("desk_key", [True, False], ids=["wrong-key", "no-desk-key"])
def test_what_cannot_be_decrypted_is_parsed_without_its_cipher_text(
    keys: Keys, desk_key: bool
) -> None:
    raw = pgp_mime(HEADERS, b"\r\nsecret words\r\n", keys.stranger.extract_certificate())
    mail = parse_incoming(raw, PgpInput(keys.material if desk_key else None))
    assert mail.pgp is not None and mail.pgp.undecryptable
    assert mail.pgp.problem == ("not-for-our-key" if desk_key else "no-desk-key")
    assert mail.text.strip() == UNDECRYPTABLE_NOTE
    assert "PGP" not in mail.text.replace("decrypted", "")


def autocrypt_mail(addr: str, key: pysequoia.Cert) -> bytes:
    """An Autocrypt header folded as clients fold it (keydata in lines of 76)."""
    keydata = base64.b64encode(bytes(key)).decode()
    folded = "\r\n ".join(keydata[i : i + 76] for i in range(0, len(keydata), 76))
    header = f"Autocrypt: addr={addr}; prefer-encrypt=mutual; keydata=\r\n {folded}\r\n"
    return header.encode() + make_mail(sender=f"Rik <{REPORTER}>")


def test_an_autocrypt_key_counts_only_for_the_from_address(keys: Keys) -> None:
    cert = keys.reporter.extract_certificate()
    found = unwrap(autocrypt_mail(REPORTER, cert), keys.material)
    assert found is not None and found[1].offered_by == "autocrypt"
    assert found[1].offered_key is not None
    assert pysequoia.Cert.from_bytes(found[1].offered_key.encode()).fingerprint == cert.fingerprint
    other = unwrap(autocrypt_mail("olaf.kramer@example.test", cert), keys.material)
    assert other is not None and other[1].offered_key is None


def attached_key_mail(key: bytes) -> bytes:
    message = email.message_from_bytes(
        make_mail(sender=f"Rik <{REPORTER}>"), policy=email.policy.default
    )
    assert isinstance(message, EmailMessage)
    message.add_attachment(key, maintype="application", subtype="pgp-keys", filename="k.asc")
    return message.as_bytes()


def test_an_attached_key_must_name_the_sender_and_is_kept_public_only(keys: Keys) -> None:
    stranger = unwrap(attached_key_mail(str(keys.stranger.extract_certificate()).encode()), None)
    assert stranger is not None and stranger[1].offered_key is None, "someone else's key"
    # The reporter sends their secret key by mistake: only the public half is kept.
    found = unwrap(attached_key_mail(str(keys.reporter).encode()), None)
    assert found is not None and found[1].offered_key is not None
    assert "PRIVATE" not in found[1].offered_key
    with pytest.raises(RuntimeError):
        pysequoia.Tsk.from_bytes(found[1].offered_key.encode()).decryptor()


def test_an_answer_is_pgp_mime_with_only_the_tag_outside(keys: Keys) -> None:
    composed = (
        b"From: PZEM security <security@example.nl>\r\nTo: rik.onderzoeker@example.test\r\n"
        b"Subject: [PZEM-SEC-2026-0007] We have received your report\r\n"
        b"Message-ID: <a1@example.nl>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Within 5 working days\r\n"
    )
    wrapped = protect(composed, [keys.reporter.extract_certificate()], keys.material)
    outer = email.message_from_bytes(wrapped, policy=email.policy.default)
    assert outer["Subject"] == "[PZEM-SEC-2026-0007] ..."
    assert outer["Message-ID"] == "<a1@example.nl>" and outer["To"] == REPORTER
    assert outer.get_content_type() == "multipart/encrypted"
    assert b"working days" not in wrapped and b"received your report" not in wrapped
    armoured = outer.get_payload()[1].get_payload(decode=True)  # type: ignore[index,union-attr]
    desk_cert = keys.desk.extract_certificate()
    plain = pysequoia.decrypt(armoured, keys.reporter.decryptor(), store=lambda _: [desk_cert])
    assert [s.certificate for s in plain.valid_sigs] == [desk_cert.fingerprint]
    inner = email.message_from_bytes(plain.bytes or b"", policy=email.policy.default)
    assert inner["Subject"] == "[PZEM-SEC-2026-0007] We have received your report"
    assert inner.get_param("protected-headers") == "v1"
    # The desk can read its own outbox too.
    assert pysequoia.decrypt(armoured, keys.desk.decryptor()).bytes == plain.bytes


def test_a_kept_key_is_replaced_only_by_a_mail_it_signed(keys: Keys) -> None:
    kept = str(keys.reporter.extract_certificate())
    by_kept = SignatureCheck("good", keys.reporter.extract_certificate().fingerprint)
    by_other = SignatureCheck("good", keys.stranger.extract_certificate().fingerprint)
    assert replaces_key(kept, PgpFacts(form="pgp-mime", decrypted=True, signature=by_kept))
    assert not replaces_key(kept, PgpFacts(form="pgp-mime", decrypted=True, signature=by_other))
    assert not replaces_key(kept, PgpFacts())


def test_pgp_key_prints_the_public_key_and_a_wrong_key_file_stops_with_its_name(
    keys: Keys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "desk.asc").write_text(str(keys.desk), encoding="ascii")
    (tmp_path / "public.asc").write_text(str(keys.desk.extract_certificate()), encoding="ascii")

    def run(key_file: str, command: str) -> tuple[int, str, str]:
        (tmp_path / "c.toml").write_text(
            f'[mailbox]\nsource = "maildir"\npath = "{tmp_path}/md"\n'
            f'[smtp]\ntransport = "maildir"\npath = "{tmp_path}/out"\n'
            'from_address = "security@example.nl"\n'
            f'[pgp]\nkey_file = "{key_file}"\n'
            'public_key_url = "https://www.example.nl/.well-known/pgp-key.txt"\n',
            encoding="utf-8",
        )
        code = main(["--config", str(tmp_path / "c.toml"), command])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("desk.asc", "pgp-key")
    assert code == 0 and "PRIVATE" not in out
    assert (
        pysequoia.Cert.from_bytes(out.encode()).fingerprint
        == keys.desk.extract_certificate().fingerprint
    )
    code, out, _ = run("desk.asc", "security-txt")
    assert "Encryption: https://www.example.nl/.well-known/pgp-key.txt" in out.splitlines()
    for wrong in ("missing.asc", "public.asc"):
        code, _, err = run(wrong, "pgp-key")
        assert code == 2 and "pgp.key_file" in err, err


def test_inside_the_encryption_only_the_subject_and_content_fields_count(keys: Keys) -> None:
    """A sender can write any header inside; an Authentication-Results there must not make
    the mail look authenticated, nor a From there change who sent it."""
    entity = (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Authentication-Results: mx.example.nl; dkim=pass header.d=example.nl\r\n"
        b"Reply-To: attacker@example.test\r\nSubject: Real subject\r\n\r\nThe report.\r\n"
    )
    raw = pgp_mime(HEADERS, entity, keys.desk.extract_certificate())
    mail = parse_incoming(raw, PgpInput(keys.material))
    assert mail.subject == "Real subject" and mail.text.strip() == "The report."
    assert mail.header("authentication-results") == () and mail.reply_to == ()
    # Bare text where a MIME entity belongs is read as text, first line included.
    bare = pgp_mime(HEADERS, b"Hello,\r\n\r\nthe report.\r\n", keys.desk.extract_certificate())
    text = parse_incoming(bare, PgpInput(keys.material)).text
    assert text.startswith("Hello,") and "the report." in text
