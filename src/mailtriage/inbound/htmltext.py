"""HTML bodies turned into readable text, in time linear in their length.

An HTML-only report is read as text: for the language, the indicators, the quoted history of a
reply. The stdlib `html.parser` is quadratic on unfinished constructs (`<a<a<a…`, `<!--<!--…`:
at every `<` it scans to the end of the input, finds nothing closed, emits one character and
starts again), so one 2 MB mail held intake for minutes. This module has its own tokenizer, in
which every scan either consumes what it scanned or is bounded by a small constant:

- text runs to the next `<` and is consumed;
- a comment runs to the next `-->` and is consumed; when none follows (known from one `rfind`
  up front) the rest of the input is the comment, as in a browser;
- a declaration, CDATA section or processing instruction runs to the next `>`, consumed;
- a tag is one match of a regex whose parts are possessive and bounded and which stops at any
  `<` outside quotes; a `<` that starts no tag is text;
- the raw content of `<script>` and `<style>` runs to its end tag, consumed.

What it does with the tokens (`_TextExtractor`) is the same as before: no scripts or styles,
blocks on lines of their own, link targets kept visible, `<blockquote>` quoted with "> ".
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable, Iterator

# What is read of one HTML body. Its text is capped at a megabyte anyway (MAX_TEXT_CHARS), and
# markup is at least as long as the text it carries.
HTML_MAX_CHARS = 1_000_000
MAX_TAG_CHARS = 8_000  # a tag longer than this is not markup; its "<" is read as text
_MAX_QUOTED_CHARS = 4_000  # one quoted attribute value

_SPACES = re.compile(r"\s+")
_BLOCK_TAGS = frozenset(
    str.split(
        """
    address article aside blockquote br dd div dl dt fieldset figcaption figure footer form
    h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul
    center caption
    """
    )
)
# Private-use characters marking where a <blockquote> begins and ends, each on a line of its
# own, until html_to_text turns the lines between them into "> " quotes.
_QUOTE_START = "\ue000"
_QUOTE_END = "\ue001"
_INVISIBLE_TAGS = frozenset({"script", "style", "title", "template", "xml", "head"})
_RAW_TEXT_TAGS = ("script", "style")  # their content is not markup (as in html.parser)
_LINK_SCHEMES = ("http://", "https://", "ftp://", "hxxp://", "hxxps://")

# A start or end tag. The attribute part never matches a "<" outside quotes, so an attempt at
# one "<" never runs past the next: `<a<a<a…` costs one short attempt per "<".
_TAG = re.compile(
    r"<(/?)([A-Za-z][^\s/>\x00<'\"]{0,99}+)"
    rf"((?:\"[^\"]{{0,{_MAX_QUOTED_CHARS}}}+\"|'[^']{{0,{_MAX_QUOTED_CHARS}}}+'|[^'\"<>])"
    rf"{{0,{MAX_TAG_CHARS}}}+)>"
)
# Failing that (an unbalanced quote: `<div style=""a: " b>`), the same without quotes.
_LOOSE_TAG = re.compile(rf"<(/?)([A-Za-z][^\s/>\x00<'\"]{{0,99}}+)([^<>]{{0,{MAX_TAG_CHARS}}}+)>")
_ATTRIBUTE = re.compile(r"([^\s/>=\"']++)(?:\s*+=\s*+(\"[^\"]*+\"|'[^']*+'|[^\s>\"']*+))?")
_RAW_TEXT_END = {tag: re.compile(rf"</{tag}(?![^\s/>])", re.IGNORECASE) for tag in _RAW_TEXT_TAGS}
# The fallback for markup that hides everything: bounded, and a run stops at the next "<".
_TAG_RE = re.compile(r"<[^<>]{0,10000}+>")


class _TextExtractor:
    """Collects visible text; keeps each link's target visible next to its text."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._link: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._hidden = 0  # an unclosed <head> or <title> must not hide the whole mail
        elif tag in _INVISIBLE_TAGS:
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.pieces.append("\n")
        elif tag in ("td", "th"):
            self.pieces.append(" ")
        if tag == "blockquote":
            self.pieces.append(f"\n{_QUOTE_START}\n")
        if tag == "pre":
            self._pre += 1
        if tag == "a":
            self._close_link()
            href = next((value for name, value in attrs if name == "href" and value), "")
            self._link = (href.strip(), len(self.pieces))

    def handle_startendtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.pieces.append("\n")
        if tag == "blockquote":
            self.pieces.append(f"\n{_QUOTE_END}\n")
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag == "a":
            self._close_link()

    def handle_data(self, data: str) -> None:
        if self._hidden or not data:
            return
        data = htmllib.unescape(data)
        self.pieces.append(data if self._pre else _SPACES.sub(" ", data))

    def _close_link(self) -> None:
        if self._link is None:
            return
        href, start = self._link
        self._link = None
        if not href.lower().startswith(_LINK_SCHEMES):
            return
        shown = "".join(self.pieces[start:]).strip()
        if href.rstrip("/") not in shown:
            self.pieces.append(f" ({href})")

    def text(self) -> str:
        self._close_link()
        return "".join(self.pieces)


def _attributes(text: str) -> list[tuple[str, str | None]]:
    """(name, value) pairs of a tag's attribute text (bounded by MAX_TAG_CHARS)."""
    pairs: list[tuple[str, str | None]] = []
    for match in _ATTRIBUTE.finditer(text):
        value = match.group(2)
        if value is not None:
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            value = htmllib.unescape(value)
        pairs.append((match.group(1).lower(), value))
    return pairs


def _feed(html: str, sink: _TextExtractor) -> None:
    """Tokenize `html` into `sink`, each character looked at a bounded number of times."""
    end = len(html)
    last_gt = html.rfind(">")  # no construct can close after this
    last_comment_end = html.rfind("-->")
    pos = 0
    while pos < end:
        lt = html.find("<", pos)
        if lt < 0 or lt > last_gt:
            sink.handle_data(html[pos:])  # nothing after here can be a tag
            return
        sink.handle_data(html[pos:lt])
        if html.startswith("<!--", lt):
            close = html.find("-->", lt + 4) if lt + 4 <= last_comment_end else -1
            pos = end if close < 0 else close + 3  # unclosed: the rest is the comment
        elif html.startswith(("<!", "<?"), lt):
            close = html.find(">", lt + 2)
            pos = end if close < 0 else close + 1
        elif tag := _TAG.match(html, lt) or _LOOSE_TAG.match(html, lt):
            pos = _tag(html, tag, sink)
        else:
            sink.handle_data("<")
            pos = lt + 1


def _tag(html: str, tag: re.Match[str], sink: _TextExtractor) -> int:
    """Hand one tag to `sink`; where reading goes on (after raw text for script and style)."""
    name = tag.group(2).lower()
    if tag.group(1):
        sink.handle_endtag(name)
        return tag.end()
    attributes = tag.group(3)
    if attributes.rstrip().endswith("/"):
        sink.handle_startendtag(name)
        return tag.end()
    sink.handle_starttag(name, _attributes(attributes) if name == "a" else [])
    if name not in _RAW_TEXT_TAGS:
        return tag.end()
    closing = _RAW_TEXT_END[name].search(html, tag.end())
    if closing is None:
        return len(html)  # unclosed: the rest is script (hidden)
    sink.handle_endtag(name)
    after = html.find(">", closing.end())
    return len(html) if after < 0 else after + 1


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: no scripts or styles, link targets kept visible."""
    html = html[:HTML_MAX_CHARS]
    extractor = _TextExtractor()
    _feed(html, extractor)
    raw = extractor.text()
    if not raw.strip():
        # Broken markup (an unclosed <head>, say) can hide everything; crude beats empty.
        raw = htmllib.unescape(_TAG_RE.sub(" ", html))
    lines = (line.strip(" \t\xa0") for line in raw.replace("\r", "\n").split("\n"))
    text = "\n".join(_quote_blockquotes(lines))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _quote_blockquotes(lines: Iterable[str]) -> Iterator[str]:
    """Lines inside <blockquote> get "> " per level, as a plain-text mail client quotes:
    a reply written in HTML keeps its quoted history recognisable as quoted."""
    depth = 0
    for line in lines:
        if line == _QUOTE_START:
            depth += 1
        elif line == _QUOTE_END:
            depth = max(0, depth - 1)
        elif depth and line:
            yield "> " * min(depth, 20) + line
        else:
            yield line
