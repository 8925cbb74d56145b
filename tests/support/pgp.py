"""A reporter's OpenPGP side for tests: GnuPG (`gpg` from apt) in a private home directory.

The reporter's mail client is played by the real `gpg`: it makes the reporter's key
(ed25519 / cv25519, fast), encrypts and signs what they send, and decrypts what the desk
sends back, as Thunderbird, Mailvelope or a shell user would. Each user has their own
GNUPGHOME in the test's temporary directory; nothing touches `~/.gnupg`. `close()` stops the
gpg-agent that gpg starts for that home.

The builders write mails the way the common clients do:
- `thunderbird`: PGP/MIME (RFC 3156) with protected headers: the real Subject inside the
  encrypted entity ("protected-headers=v1"), "..." outside, an Autocrypt header, signed;
- `mailvelope`: PGP/MIME without protected headers (Mailvelope, Proton): subject in clear;
- `inline`: the output of `gpg --armor --encrypt` pasted into a text/plain body.
"""

from __future__ import annotations

import base64
import os
import subprocess
import textwrap
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from pathlib import Path

from tests.support.clock import MAIL_DATE


class GpgUser:
    """One person with a GnuPG home and an ed25519/cv25519 key for `address`."""

    def __init__(self, home: Path, name: str, address: str) -> None:
        self.home = home
        self.address = address
        self.person = f"{name} <{address}>"
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.gpg("--quick-generate-key", self.person, "ed25519", "sign,cert", "never")
        listing = self.gpg("--with-colons", "--list-keys", address).decode()
        self.fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )
        self.gpg("--quick-add-key", self.fingerprint, "cv25519", "encr", "never")

    def gpg(self, *args: str, data: bytes | None = None) -> bytes:
        result = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(self.home),
                "--batch",
                "--no-tty",
                "--quiet",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--trust-model",
                "always",
                *args,
            ],
            input=data,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"gpg {args[0]} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def public_key(self) -> bytes:
        return self.gpg("--armor", "--export", self.address)

    def public_key_binary(self) -> bytes:
        return self.gpg("--export", self.address)

    def import_key(self, key: bytes) -> None:
        self.gpg("--import", data=key)

    def encrypt(self, data: bytes, to: str, sign: bool = False, compress: bool = True) -> bytes:
        """`gpg --armor --encrypt [--sign]`; gpg compresses by default, OpenPGP.js
        (Mailvelope, Proton) and Thunderbird do not (`compress=False`)."""
        signing = ["--sign", "--local-user", self.address] if sign else []
        packing = [] if compress else ["--compress-algo", "none"]
        return self.gpg("--armor", "--encrypt", "--recipient", to, *signing, *packing, data=data)

    def decrypt(self, data: bytes) -> bytes:
        return self.gpg("--decrypt", data=data)

    def decrypt_verbose(self, data: bytes) -> tuple[bytes, str]:
        """(plaintext, gpg's status lines): GOODSIG and the signer tell who signed it."""
        status_file = self.home / "status.txt"
        plain = self.gpg("--status-file", str(status_file), "--decrypt", data=data)
        return plain, status_file.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        subprocess.run(
            ["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"],
            capture_output=True,
            check=False,
            timeout=30,
        )


# --------------------------------------------------------------------------- mail builders


def _outer(
    sender: GpgUser, to: str, subject: str, cc: str | None = None, autocrypt: bool = False
) -> dict[str, str]:
    headers = {
        "From": sender.person,
        "To": to,
        "Subject": subject,
        "Date": format_datetime(MAIL_DATE),
        "Message-ID": make_msgid("pgp", domain="example.test"),
    }
    if cc:
        headers["Cc"] = cc
    if autocrypt:
        keydata = base64.b64encode(sender.public_key_binary()).decode()
        folded = "\r\n ".join(textwrap.wrap(keydata, 76))
        headers["Autocrypt"] = (
            f"addr={sender.address}; prefer-encrypt=mutual; keydata=\r\n {folded}"
        )
    return headers


def _pgp_mime(headers: dict[str, str], armoured: bytes) -> bytes:
    outer = MIMEMultipart("encrypted", protocol="application/pgp-encrypted")
    for name, value in headers.items():
        outer[name] = value
    outer.preamble = "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)"
    version = MIMEApplication(b"Version: 1\r\n", "pgp-encrypted", _encoder=_noop)
    version["Content-Description"] = "PGP/MIME version identification"
    payload = MIMEApplication(armoured, "octet-stream", _encoder=_noop, name="encrypted.asc")
    payload["Content-Disposition"] = 'inline; filename="encrypted.asc"'
    outer.attach(version)
    outer.attach(payload)
    return outer.as_bytes()


def _noop(part: MIMEBase) -> None:
    """Leave the armoured payload as it is (7bit text), as the clients do."""
    payload = part.get_payload(decode=False)
    if isinstance(payload, bytes):
        part.set_payload(payload.decode("ascii"))


def thunderbird(
    sender: GpgUser,
    desk_address: str,
    subject: str,
    body: str,
    *,
    to: str = "security@example.nl",
    sign: bool = True,
    attach_key: bool = False,
    autocrypt: bool = True,
    files: tuple[tuple[str, bytes], ...] = (),
) -> bytes:
    """PGP/MIME with protected headers; the sender's key inside when `attach_key`, and
    `files` (name, bytes) attached inside the encryption."""
    inner = MIMEMultipart("mixed", protected_headers="v1")
    inner["Subject"] = subject
    inner["From"] = sender.person
    inner["To"] = to
    inner.attach(MIMEText(body, "plain", "utf-8"))
    for name, data in files:
        attached = MIMEApplication(data, "octet-stream")
        attached.add_header("Content-Disposition", "attachment", filename=name)
        inner.attach(attached)
    if attach_key:
        key = MIMEApplication(sender.public_key(), "pgp-keys", _encoder=_noop)
        key.add_header(
            "Content-Disposition", "attachment", filename=f"OpenPGP_{sender.fingerprint[-16:]}.asc"
        )
        inner.attach(key)
    armoured = sender.encrypt(inner.as_bytes(), desk_address, sign=sign, compress=False)
    return _pgp_mime(_outer(sender, to, "...", autocrypt=autocrypt), armoured)


def mailvelope(
    sender: GpgUser,
    desk_address: str,
    subject: str,
    body: str,
    *,
    to: str = "security@example.nl",
    cc: str | None = None,
    sign: bool = False,
    attach_key: bool = False,
) -> bytes:
    """PGP/MIME as Mailvelope and Proton write it: the subject stays outside, in clear;
    Proton attaches the sender's key inside the encryption when asked to."""
    inner: Message = MIMEText(body, "plain", "utf-8")
    if attach_key:
        inner = MIMEMultipart("mixed")
        inner.attach(MIMEText(body, "plain", "utf-8"))
        key = MIMEApplication(sender.public_key(), "pgp-keys", _encoder=_noop)
        key.add_header("Content-Disposition", "attachment", filename="publickey.asc")
        inner.attach(key)
    armoured = sender.encrypt(inner.as_bytes(), desk_address, sign=sign, compress=False)
    return _pgp_mime(_outer(sender, to, subject, cc=cc), armoured)


def inline(
    sender: GpgUser,
    desk_address: str,
    subject: str,
    body: str,
    *,
    to: str = "security@example.nl",
    sign: bool = False,
    attach_key: bool = False,
    cipher: bytes | None = None,
) -> bytes:
    """`gpg --armor --encrypt` output pasted into a plain-text mail."""
    armoured = (
        cipher if cipher is not None else sender.encrypt(body.encode(), desk_address, sign=sign)
    )
    text = "Hello,\n\nmy report, encrypted:\n\n" + armoured.decode("ascii") + "\n"
    message = EmailMessage()
    for name, value in _outer(sender, to, subject).items():
        message[name] = value
    message.set_content(text)
    if attach_key:
        message.add_attachment(
            sender.public_key(),
            maintype="application",
            subtype="pgp-keys",
            filename="publickey.asc",
        )
    return message.as_bytes()


def is_pgp_mime(raw: bytes) -> bool:
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    return b"multipart/encrypted" in head and b"application/pgp-encrypted" in head


def encrypted_payload(raw: bytes) -> bytes:
    """The armoured OpenPGP message of a PGP/MIME mail."""
    start = raw.index(b"-----BEGIN PGP MESSAGE-----")
    end = raw.index(b"-----END PGP MESSAGE-----") + len(b"-----END PGP MESSAGE-----")
    return raw[start:end] + b"\n"


def environment_has_gpg() -> bool:
    return any(
        os.access(os.path.join(d, "gpg"), os.X_OK) for d in os.environ.get("PATH", "").split(":")
    )


def _signed_entity(sender: GpgUser, body: str) -> bytes:
    """RFC 3156 multipart/signed over a text part, the signature over its CRLF bytes."""
    part = MIMEText(body, "plain", "utf-8")
    signed = part.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    signature = sender.gpg("--armor", "--detach-sign", "--local-user", sender.address, data=signed)
    boundary = b"sig-" + sender.fingerprint[-12:].encode()
    return (
        b'Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol="application/pgp-'
        b'signature"; boundary="' + boundary + b'"\r\n\r\n'
        b"--" + boundary + b"\r\n" + signed + b"\r\n--" + boundary + b"\r\n"
        b'Content-Type: application/pgp-signature; name="signature.asc"\r\n\r\n'
        + signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )


def _header_block(headers: dict[str, str]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()


def signed_only(sender: GpgUser, subject: str, body: str) -> bytes:
    """A PGP/MIME signed, not encrypted, mail (RFC 3156 section 5)."""
    headers = _outer(sender, "security@example.nl", subject)
    return _header_block(headers) + b"MIME-Version: 1.0\r\n" + _signed_entity(sender, body)


def signed_then_encrypted(sender: GpgUser, desk_address: str, subject: str, body: str) -> bytes:
    """RFC 3156 section 6.1: a multipart/signed entity, then encrypted (Enigmail's way)."""
    armoured = sender.encrypt(_signed_entity(sender, body), desk_address, compress=True)
    return _pgp_mime(_outer(sender, "security@example.nl", subject), armoured)
