"""Keeps memory bounded when a large message is parsed.

The stdlib parser (which mail-parser uses too) holds every line as its own object and needs
~7x the message size in memory: a 25 MB mail peaked at 234 MB. Long runs of body lines,
base64 attachments mostly, are only needed for sizes and hashes, so above
`ELIDE_ABOVE_BYTES` they are set aside before parsing, and put back part by part when a
part's bytes are read.
"""

from __future__ import annotations

import re
import secrets

ELIDE_ABOVE_BYTES = 2_000_000
_ELIDE_MIN_RUN = 8_192

# A body line that cannot be MIME structure: not blank, not a boundary delimiter ("--…"),
# not a header or a header continuation. Base64 and most text lines qualify.
_BODY_LINE_RUN = re.compile(rb"(?m)^(?:(?![-\s])(?![!-9;-~]++:)[^\r\n]++(?:\r?\n|\Z))++")
_MARKER_PREFIX = b"MTELIDED"
_MARKER = re.compile(rb"MTELIDED[0-9a-f]{16}\d{6}XX")


class ElidedRuns:
    """The runs set aside from one message: each marker with the span of bytes it replaced."""

    __slots__ = ("_raw", "_spans")

    def __init__(self, raw: bytes, spans: dict[bytes, tuple[int, int]]) -> None:
        self._raw = raw
        self._spans = spans

    def restore(self, data: bytes) -> bytes:
        """`data` (cut from the parsed copy) with the original bytes back in place of markers."""
        if not self._spans or _MARKER_PREFIX not in data:
            return data
        return _MARKER.sub(self._original_run, data)

    def restore_view(self, data: bytes) -> bytes | memoryview:
        """Like `restore`, but a part that is nothing but one set-aside run (a big base64
        attachment) comes back as a view of the original bytes, without a copy of them."""
        marker = data.strip()
        if self._spans and len(marker) < 64:
            span = self._spans.get(marker)
            if span is not None:
                return memoryview(self._raw)[span[0] : span[1]]
        return self.restore(data)

    def _original_run(self, match: re.Match[bytes]) -> bytes:
        span = self._spans.get(match.group())
        return self._raw[span[0] : span[1]] if span else match.group()


def set_aside_long_runs(raw: bytes, start: int) -> tuple[bytes, ElidedRuns]:
    """The message from `start` on, as the parser should see it, and what was set aside
    (nothing below `ELIDE_ABOVE_BYTES`)."""
    if len(raw) - start > ELIDE_ABOVE_BYTES:
        return _elide_long_runs(raw, start)
    return (raw[start:] if start else raw), ElidedRuns(raw, {})


def _elide_long_runs(raw: bytes, start: int) -> tuple[bytes, ElidedRuns]:
    """A copy of the message with every long run of body lines replaced by a marker line.

    The runs hold no boundary delimiter, header or blank line, so taking them out leaves the
    MIME structure intact. The marker carries a random token so text in the mail cannot pose
    as one.
    """
    token = secrets.token_hex(8).encode()
    pieces: list[bytes] = []
    runs: dict[bytes, tuple[int, int]] = {}
    last = start
    for match in _BODY_LINE_RUN.finditer(raw, start):
        begin, end = match.span()
        if end - begin < _ELIDE_MIN_RUN:
            continue
        # The last line break stays: before a delimiter it belongs to the delimiter.
        end -= 2 if raw.endswith(b"\r\n", begin, end) else raw.endswith(b"\n", begin, end)
        marker = _MARKER_PREFIX + token + b"%06dXX" % len(runs)
        pieces.append(raw[last:begin])
        pieces.append(marker)
        runs[marker] = (begin, end)
        last = end
    pieces.append(raw[last:])
    return b"".join(pieces), ElidedRuns(raw, runs)
