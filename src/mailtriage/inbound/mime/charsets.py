"""Text from bytes whose charset label may be wrong, missing or hostile, and header values
as one clean line.

Reporters' mail arrives labelled "iso-8859-1" when it is UTF-8, "gb2312" for GB18030, with
raw 8-bit bytes in headers, RFC 2047 encoded words split mid-character, or labels naming
codecs that would rewrite the text (`unicode_escape` turns C:\\new into a newline). Python's
codecs raise on these or decode them into nonsense; the functions here return text and never
raise, so one policy for what the sender meant applies to bodies, headers and filenames.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import re

from mailtriage.inbound.mime.limits import MAX_TEXT_CHARS, RAW_HEADER_CHARS

# Labels that say "some Western single-byte charset": in practice often UTF-8 mislabelled.
_LATIN_LIKE = frozenset({"ascii", "iso8859_1", "cp1252", "iso8859_15"})
_CHARSET_ALIASES = {
    "x-mac-cyrillic": "mac_cyrillic",
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-sjis": "shift_jis",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
}
# Codecs that would interpret the text rather than decode it: "unicode_escape" turns a
# reporter's C:\new into a newline.
_REFUSED_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined"}
)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    for candidate in (name, name[2:] if name.startswith("x-") else ""):
        if not candidate:
            continue
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        codec = info.name.replace("-", "_")
        if codec in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
            return None
        return codec
    return None


def decode_bytes(data: bytes, charset: str | None, *, final: bool = True) -> str:
    """Text from bytes in a declared (possibly wrong or unknown) charset; never raises.

    `final=False` says the bytes were cut short: a character split by the cut is dropped
    instead of turning the whole text into a fallback decoding.
    """
    codec = _codec(charset)
    if codec is not None and codec.startswith(("utf_16", "utf_32")):
        return _decode_wide(data, codec)
    latin = codec is None or codec in _LATIN_LIKE
    if data.isascii() and (latin or codec == "utf_8"):
        return data.decode("ascii")
    attempts: list[str] = []
    if not data.isascii():
        # Valid multi-byte UTF-8 is almost never an accident, and "iso-8859-1" or "gb2312"
        # on UTF-8 text is a common mislabel.
        attempts.append("utf-8")
    if codec is not None and not latin and codec != "utf_8":
        attempts.append(codec)
    if latin:
        attempts.append("cp1252")
    for attempt in attempts:
        try:
            return codecs.getincrementaldecoder(attempt)("strict").decode(data, final)
        except (UnicodeError, LookupError, ValueError):
            if attempt == "utf-8" and (mostly := _mostly_utf8(data, final)) is not None:
                return mostly
    fallback = "cp1252" if latin or codec is None else codec
    try:
        return codecs.getincrementaldecoder(fallback)("replace").decode(data, final)
    except (UnicodeError, LookupError, ValueError):
        return data.decode("utf-8", "replace")


def _mostly_utf8(data: bytes, final: bool) -> str | None:
    """UTF-8 with a stray bad byte or two (a truncated name, a pasted Latin-1 character)."""
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(data, final)
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return text if good >= 4 * bad else None


def _decode_wide(data: bytes, codec: str) -> str:
    if codec == "utf_16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # No byte-order mark: ASCII-range text has its zero bytes on the odd side in LE.
        odd_zeros = data[1::2].count(0)
        codec = "utf-16-le" if odd_zeros >= data[0::2].count(0) else "utf-16-be"
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError, ValueError):
        return data.decode("utf-8", "replace")


# C0 and C1 controls except tab and newline, and lone surrogates: they break terminals,
# JSON and databases, and were never meant as text.
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def decode_body(data: bytes, charset: str | None) -> str:
    """A body part's text: bounded, with "\n" line ends and no control characters."""
    limit = MAX_TEXT_CHARS * 4
    truncated = len(data) > limit
    text = decode_bytes(data[:limit] if truncated else data, charset, final=not truncated)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROLS.sub(" ", text)


_HEADER_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
FOLD = re.compile(r"(?:\r\n|\r|\n)(?=[ \t])")  # a header line break before a continuation
# The stdlib parser carries raw 8-bit bytes as surrogate escapes; one in a value means bytes
# that still need a charset.
ESCAPED_BYTE = re.compile(r"[\udc80-\udcff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75}+)\?([bBqQ])\?([^?\s]*+)\?=")


def header_text(
    value: object, limit: int, hint: str | None = None, *, limit_raw: int = RAW_HEADER_CHARS
) -> str:
    """A header value as one clean line: 8-bit bytes and RFC 2047 words decoded.

    Raw 8-bit bytes in a header carry no charset label; `hint` (the body's charset) is the
    best guess after UTF-8, since the writing program used one charset for both. At most
    `limit_raw` characters of the raw value are read.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text[:limit_raw]
    if ESCAPED_BYTE.search(text):
        text = decode_bytes(text.encode("utf-8", "surrogateescape"), hint)
    elif "\x1b" in text:
        # Raw ISO-2022-JP: 7-bit, but its escape sequences would be blanked as controls.
        with contextlib.suppress(UnicodeError, LookupError):
            text = text.encode("ascii").decode("iso2022_jp_2")
    text = FOLD.sub("", text)
    if "=?" in text:
        text = _decode_encoded_words(text)
    return _HEADER_CONTROLS.sub(" ", text).strip()[:limit]


def _decode_encoded_words(text: str) -> str:
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    last_end = 0
    after_word = False

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(decode_bytes(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[last_end : match.start()]
        charset = match.group(1).split("*", 1)[0]
        decoded = _decode_word(match.group(2), match.group(3))
        if decoded is None:
            flush()
            out.append(gap + match.group())
            after_word = False
        else:
            # White space between two encoded words is folding, not content (RFC 2047 §6.2);
            # consecutive words in one charset may split a multi-byte character.
            if not (after_word and gap.strip(" \t\r\n") == ""):
                flush()
                out.append(gap)
            elif charset.lower() != (pending_charset or "").lower():
                flush()
            if pending_charset is None:
                pending_charset = charset
            pending.extend(decoded)
            after_word = True
        last_end = match.end()
    flush()
    out.append(text[last_end:])
    return "".join(out)


def _decode_word(encoding: str, payload: str) -> bytes | None:
    data = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in ("b", "B"):
            data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def clean_header_name(name: str) -> str:
    return _HEADER_CONTROLS.sub(" ", name).strip().lower()[:200]
