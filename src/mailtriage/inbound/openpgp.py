"""The one module that imports the OpenPGP library: keys, decryption, signatures, encryption.

Library: `pysequoia` (Sequoia-PGP). It ships wheels, keeps no keyring anywhere (every key is
bytes handed in by the caller, so nothing global lives in `~/.gnupg` or beside the daemon),
and is maintained. Everything that comes from a mail is hostile: each call here turns the
library's errors (RuntimeError with a Rust backtrace in its text) into `PgpError` with one
short line, and nothing here logs.

The desk's secret key travels as bytes (`DeskKeyMaterial`): the parse worker gets it with
each message, because decryption of what an attacker sent runs there, under its time limit.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pysequoia

__all__ = [
    "Cert",
    "DeskKeyMaterial",
    "PgpError",
    "PgpFacts",
    "SignatureCheck",
    "cert_addresses",
    "decrypt",
    "encrypt_and_sign",
    "load_cert",
]

# An armoured key a reporter sends is a few kilobytes; a bigger one is not worth parsing.
MAX_KEY_BYTES = 64 * 1024


class PgpError(Exception):
    """OpenPGP data that could not be used; the message is one short line, no content."""


Cert = pysequoia.Cert


@dataclass(frozen=True)
class DeskKeyMaterial:
    """The desk's armoured secret key and its passphrase, as plain values that pickle."""

    secret_key: bytes
    passphrase: str | None = None

    @classmethod
    def from_files(cls, key_file: Path, passphrase_file: Path | None) -> DeskKeyMaterial:
        """Read and check the key now, so a wrong file stops the daemon at start."""
        try:
            data = key_file.read_bytes()
        except OSError as exc:
            raise PgpError(f"pgp.key_file: cannot read ({exc.strerror})") from exc
        passphrase = None
        if passphrase_file is not None:
            try:
                passphrase = passphrase_file.read_text(encoding="utf-8").strip("\r\n")
            except OSError as exc:
                raise PgpError(f"pgp.passphrase_file: cannot read ({exc.strerror})") from exc
        material = cls(data, passphrase)
        tsk = material.tsk()
        try:
            tsk.decryptor(passphrase)
            tsk.signer(passphrase)
        except Exception as exc:
            raise PgpError(
                "pgp.key_file: the key cannot decrypt and sign (wrong passphrase, or no "
                f"encryption or signing subkey): {_first_line(exc)}"
            ) from exc
        return material

    def tsk(self) -> pysequoia.Tsk:
        try:
            tsk = pysequoia.Tsk.from_bytes(self.secret_key)
        except Exception as exc:
            raise PgpError(f"pgp.key_file: not an OpenPGP secret key: {_first_line(exc)}") from exc
        return tsk

    def public_key(self) -> str:
        """The desk's certificate, armoured: what `mailtriage pgp-key` prints."""
        return str(self.tsk().extract_certificate())

    def cert(self) -> pysequoia.Cert:
        return self.tsk().extract_certificate()


@dataclass(frozen=True)
class SignatureCheck:
    """What a signature on a decrypted message showed.

    status: "none" (not signed), "good" (valid, by `signer`, a key we were given),
    "unverified" (signed, but by no key we know, or not valid) or "unchecked" (signed in a
    form the library does not verify: compressed inside the encryption, as gpg writes).
    """

    status: str
    signer: str | None = None  # the signing certificate's fingerprint when good


@dataclass(frozen=True)
class PgpFacts:
    """What OpenPGP made of one incoming mail; kept on the message (`messages.pgp`).

    form: "none" (not encrypted), "pgp-mime" (RFC 3156) or "inline" (an armoured block in a
    text part). problem: why it could not be decrypted ("no-desk-key", "not-for-our-key",
    "corrupt"), None when it was (or was not encrypted). offered_key: an armoured
    certificate the mail brought for its sender (attached or Autocrypt), checked usable.
    """

    form: str = "none"
    decrypted: bool = False
    problem: str | None = None
    signature: SignatureCheck = SignatureCheck("none")
    offered_key: str | None = None
    offered_by: str | None = None  # "attachment" | "autocrypt"

    @property
    def encrypted(self) -> bool:
        return self.form != "none"

    @property
    def undecryptable(self) -> bool:
        return self.encrypted and not self.decrypted

    def record(self) -> dict[str, object]:
        """What is stored on the message: no key material, no text."""
        return {
            "form": self.form,
            "decrypted": self.decrypted,
            "problem": self.problem,
            "signature": self.signature.status,
            "signer": self.signature.signer,
            "key_offered": self.offered_by,
        }


def load_cert(data: bytes | str) -> pysequoia.Cert:
    """One public certificate from armoured or binary data; PgpError when there is none."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_KEY_BYTES:
        raise PgpError("key too large")
    try:
        cert = pysequoia.Cert.from_bytes(raw)
    except Exception as exc:
        raise PgpError(f"not an OpenPGP key: {_first_line(exc)}") from exc
    # Someone may send their secret key: a Cert serialises its public part only, so going
    # through bytes once leaves nothing secret to be kept or used.
    return pysequoia.Cert.from_bytes(bytes(cert))


_ADDRESS_IN_USER_ID = re.compile(r"<([^<>\s]+@[^<>\s]+)>|^([^<>\s]+@[^<>\s]+)$")


def cert_addresses(cert: pysequoia.Cert) -> set[str]:
    """The e-mail addresses in the certificate's (non-revoked) user IDs, lower-cased."""
    found: set[str] = set()
    for user_id in cert.user_ids:
        match = _ADDRESS_IN_USER_ID.search(str(user_id).strip())
        if match:
            found.add((match.group(1) or match.group(2)).lower())
    return found


def replaces_key(kept: str, facts: PgpFacts | None) -> bool:
    """Whether a mail may replace the reporter's kept key: it carries a good signature made
    with that kept key (a reporter moving to a new key signs with the old one)."""
    if facts is None or facts.signature.status != "good" or not facts.signature.signer:
        return False
    try:
        return load_cert(kept).fingerprint == facts.signature.signer
    except PgpError:
        return True  # the kept key no longer parses: nothing worth protecting


def can_encrypt_to(cert: pysequoia.Cert) -> bool:
    """Whether mail can be encrypted to `cert` today (not revoked, not expired, with an
    encryption subkey): tried rather than inspected, so the library's own rules decide."""
    try:
        pysequoia.encrypt(b"probe", [cert])
    except Exception:
        return False
    return True


def decrypt(
    data: bytes, desk: DeskKeyMaterial, known: Sequence[pysequoia.Cert] = ()
) -> tuple[bytes, SignatureCheck]:
    """Decrypt an OpenPGP message to the desk's key and check a signature inside it against
    `known`. Raises PgpError("not-for-our-key" | "corrupt" | "too-large").

    Through files, not bytes: Sequoia streams a file, so a compression bomb (a few hundred kB
    that inflate to gigabytes) stops at the parse worker's limit on written files
    (`parsepool`, RLIMIT_FSIZE) instead of filling its memory. The files live in a private
    temporary folder (0700) for the duration of the call.
    """
    tsk = desk.tsk()
    with tempfile.TemporaryDirectory(prefix="mailtriage-pgp-") as work:
        source, target = Path(work, "in.pgp"), Path(work, "out")
        source.write_bytes(data)
        try:
            pysequoia.decrypt_file(source, target, tsk.decryptor(desk.passphrase))
        except Exception as exc:
            text = _first_line(exc)
            if "File too large" in text:
                raise PgpError("too-large") from exc
            reason = "not-for-our-key" if "No key to decrypt" in text else "corrupt"
            raise PgpError(reason) from exc
        plaintext = target.read_bytes()
        target.unlink()
        return plaintext, _signature(source, desk, tsk, known)


def _signature(
    source: Path, desk: DeskKeyMaterial, tsk: pysequoia.Tsk, known: Sequence[pysequoia.Cert]
) -> SignatureCheck:
    """Decrypt once more with a certificate store: the library asks the store for the
    signers' key ids (none when unsigned) and fails when no signature is valid."""
    asked: list[str] = []

    def store(key_ids: list[str]) -> list[pysequoia.Cert]:
        asked.extend(key_ids)
        return list(known)

    try:
        verified = pysequoia.decrypt_file(
            source, os.devnull, tsk.decryptor(desk.passphrase), store=store
        )
    except Exception as exc:
        if not asked:
            return SignatureCheck("none")
        if "Unexpected message structure" in _first_line(exc):
            # pysequoia 0.1.35 verifies only encrypted-then-signed data without a
            # compression layer; gpg compresses by default. Said as it is, not as "bad".
            return SignatureCheck("unchecked")
        return SignatureCheck("unverified")
    for signature in verified.valid_sigs:
        return SignatureCheck("good", str(signature.certificate))
    return SignatureCheck("unverified" if asked else "none")


def verify_detached(
    signed: bytes, signature: bytes, known: Sequence[pysequoia.Cert]
) -> SignatureCheck:
    """A detached signature (RFC 3156 multipart/signed) over `signed`."""
    try:
        sig = pysequoia.Sig.from_bytes(signature)
    except Exception:
        return SignatureCheck("unverified")
    try:
        verified = pysequoia.verify(signed, store=lambda _ids: list(known), signature=sig)
    except Exception:
        return SignatureCheck("unverified")
    for valid in verified.valid_sigs:
        return SignatureCheck("good", str(valid.certificate))
    return SignatureCheck("unverified")


def encrypt_and_sign(
    data: bytes, recipients: Sequence[pysequoia.Cert], desk: DeskKeyMaterial | None
) -> bytes:
    """An armoured OpenPGP message for `recipients`, signed by the desk when it has a key."""
    signer = None
    if desk is not None:
        signer = desk.tsk().signer(desk.passphrase)
    try:
        return pysequoia.encrypt(data, list(recipients), signer=signer)
    except Exception as exc:
        raise PgpError(f"cannot encrypt: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    """The library's message without the backtrace it appends when RUST_BACKTRACE is set."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


@functools.cache
def desk_key_material(
    key_file: Path | None, passphrase_file: Path | None
) -> DeskKeyMaterial | None:
    """The desk's key from `[pgp]`, loaded once per process (None without `key_file`), for
    the places that read reporters' mail again after intake: the attachments ZIP, the case
    export. Raises PgpError for a key that cannot be loaded (the daemon refused to start on
    it already)."""
    if key_file is None:
        return None
    return DeskKeyMaterial.from_files(key_file, passphrase_file)
