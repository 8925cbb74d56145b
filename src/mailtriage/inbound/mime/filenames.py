"""Attachment names fit to show and to store, and the media type a bare name suggests.

Filenames are chosen by whoever sent the mail: paths, control and bidi-override characters,
Windows device names, names hundreds of characters long. `AttachmentInfo.filename` promises a
name safe to show and to store; this is where that promise is kept.
"""

from __future__ import annotations

import re
import unicodedata

from mailtriage.inbound.mime.limits import MAX_FILENAME_CHARS

_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(10)] + [f"LPT{i}" for i in range(10)]
)
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "text/xml": ".xml",
    "text/rfc822-headers": ".txt",
    "text/enriched": ".txt",
    "text/x-vcard": ".vcf",
    "text/vcard": ".vcf",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/partial": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "message/external-body": ".txt",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "application/x-gzip": ".gz",
    "application/x-tar": ".tar",
    "application/x-7z-compressed": ".7z",
    "application/x-rar-compressed": ".rar",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/pgp-encrypted": ".pgp",
    "application/pgp-signature": ".sig",
    "application/pgp-keys": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/x-msdownload": ".exe",
    "application/x-sh": ".sh",
    "application/javascript": ".js",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "image/bmp": ".bmp",
    "audio/basic": ".au",
    "video/mp4": ".mp4",
}
_TYPES_BY_EXTENSION = {ext: ctype for ctype, ext in reversed(_EXTENSIONS.items())}


def guess_type(filename: str) -> str:
    """The media type a name's extension suggests, for files sent without one (uuencoded)."""
    _, dot, ext = filename.lower().rpartition(".")
    known = _TYPES_BY_EXTENSION.get(f".{ext}") if dot else None
    return known or "application/octet-stream"


def sanitise_filename(name: str | None, index: int, content_type: str) -> str:
    """A name safe to show and to store: a basename, printable, NFC, at most 200 characters.

    Sender-chosen names arrive with paths ("../../etc/passwd", "C:\\evil\\x.exe"), control
    and bidi-override characters, or nothing usable at all; the last fall back to
    "attachment-N" with an extension that fits the content type.
    """
    cleaned = ""
    if name:
        text = unicodedata.normalize("NFC", name.replace("\\", "/"))
        segments = [segment for segment in text.split("/") if segment.strip(" .")]
        text = segments[-1] if segments else ""
        # Categories C*: controls, format characters such as U+202E RIGHT-TO-LEFT OVERRIDE
        # (which makes "exe.pdf" of "fdp.exe"), surrogates and unassigned code points.
        text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
        text = " ".join(_WINDOWS_RESERVED.sub("_", text).split()).strip(" .")
        if text.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
            text = f"_{text}"
        cleaned = _shorten_filename(text, MAX_FILENAME_CHARS)
    if cleaned:
        return cleaned
    return f"attachment-{index}{_EXTENSIONS.get(content_type, '.bin')}"


def _shorten_filename(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 16:
        return f"{stem[: limit - len(ext) - 1].rstrip(' .')}.{ext}"
    return name[:limit].rstrip(" .")
