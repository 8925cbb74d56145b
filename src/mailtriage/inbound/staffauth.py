"""Is this mail really from staff? The one place that decides, from the message alone.

Why it exists: staff work the desk by e-mail, and a staff mail can change a case and reach
a reporter. A From address is only a claim anyone can type, so a mail counts as staff only
when the From address is one of `cases.staff` *and* the receiving MX vouches for it in an
`Authentication-Results` header (RFC 8601) whose authserv-id is one of
`cases.trusted_authserv_ids`: an aligned `dkim=pass`, or (unless `cases.staff_auth` is
`"dkim"`) an aligned `spf=pass`. Without trusted ids no staff mail counts at all, unless the
operator opted out with `cases.allow_unauthenticated_staff` (then a staff From is enough, the
old behaviour; the CLI refuses to start without one of the two). Everything else from a staff
address is a stranger's mail (and staff are warned); this module only gives the verdict, it
does no I/O.

Why `"dkim"` mode: SPF vouches for the path, not the author. Anyone allowed to send through a
host in the domain's SPF record (a shared relay, a mailing vendor in an `include:`) passes it
for any envelope sender in the domain. A DKIM signature needs the domain's key. `dmarc=pass`
is not taken on its own in that mode, because DMARC also passes on aligned SPF alone.

The rules, and the assumptions behind them:

* **Only the topmost trusted header counts.** Anyone can write an `Authentication-Results`
  header carrying our MX's authserv-id into the mail they send. RFC 8601 §5 asks the MX to
  remove or rename such headers, but not every MX does. Our MX *prepends* its header, so it
  sits above everything the sender wrote: the first (topmost) header whose authserv-id is
  trusted is taken as the MX's, and every trusted header below it is ignored, even when it
  says pass. Assumption: every mail reaching the mailbox passed a trusted MX that added its
  own header (or strips foreign headers claiming its id). An MX that spreads its results
  over several headers (one per milter) is only read for the topmost of them; that fails
  safe (staff mail treated as a stranger's), never open.
* If that topmost trusted header cannot be read (unbalanced quote or comment, unknown
  version, cut short), the verdict is "unparseable": never fall through to a header below,
  which could be the sender's.
* **Alignment** (relaxed, with the organisational domain approximated by a label-boundary
  suffix match): the DKIM signing domain (`header.d`, else the domain of `header.i`) or the
  SPF-verified envelope domain (`smtp.mailfrom`; `smtp.helo` never counts) must equal the
  From domain, or be a parent of it (`example.nl` covers `sec.example.nl`, never
  `badexample.nl`). A single-label domain (`nl`) never aligns. Unlike DMARC, a signing
  domain *below* the From domain (`mail.example.nl` for `example.nl`) does not align: a
  delegated subdomain (a mailing vendor's, say) must not speak for staff.
* More than one From header or more than one From address: never authenticated (a second
  From is the classic way to borrow another mail's valid DKIM signature).

Parsing: the result grammar (methods, results, `ptype.property=value` with quoted strings
and comments) is read by `authres`, the Authentication-Results parser of the dkimpy/pyspf
authors. It parses a whole header or nothing, and fails on shapes common in real mail: a
trailing `;` (Yahoo, Microsoft) or one odd result (`smtp.mailfrom=<>`). So the header is
split here at the `;` that lie outside quoted strings and comments, and each result is
parsed by `authres` on its own; a result it cannot read is dropped. Dropping can only lose
a pass, never invent one, because any one aligned pass is what authenticates.

RFC 2047: `InboundMail.headers` holds *decoded* values, and decoding encoded words can
forge structure (an envelope sender `=?utf-8?q?x=29=3B_dkim=3Dpass...?=@evil.test` that
the MX copies into a comment decodes to `x); dkim=pass ...`). Callers that have the raw
message should pass it as `raw=`: the Authentication-Results and From headers are then read
undecoded from it.
"""

from __future__ import annotations

import contextlib
import email.policy
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.utils import getaddresses

import authres

from mailtriage.config import StaffAuth
from mailtriage.inbound.message import InboundMail
from mailtriage.inbound.mime.limits import MAX_HEADER_CHARS

__all__ = ["REASONS", "StaffVerdict", "sender_authenticated", "staff_verdict"]

REASONS = frozenset(
    {
        "not-staff",  # the From address is not a staff address (or there is no From)
        "no-requirement",  # no trusted ids, and the operator allowed unauthenticated staff
        "no-trusted-ids",  # no trusted ids and no opt-out: staff mail cannot be authenticated
        "multiple-from",  # more than one From header or From address
        "no-trusted-results",  # no Authentication-Results header from a trusted authserv-id
        "unparseable",  # the topmost trusted header could not be read
        "dkim-aligned",  # authenticated: dkim=pass for the From domain (or a parent)
        "spf-aligned",  # authenticated: spf=pass for an envelope domain aligned with From
        "dkim-not-aligned",  # dkim=pass, but for another domain
        "spf-not-aligned",  # spf=pass, but for another domain, or only for the HELO name
        "spf-not-accepted",  # only an aligned spf=pass, and staff_auth asks for DKIM
        "fail",  # the trusted header shows no pass for DKIM or SPF
    }
)

# Longer than this and the value may have been cut short by the message parser (which
# bounds header values): a cut can turn `header.d=example.nl.evil.test` into
# `header.d=example.nl`. A real Authentication-Results header is far shorter.
_MAX_VALUE_CHARS = MAX_HEADER_CHARS - 1

_DOMAIN = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)+")
_UNFOLD = re.compile(r"\r\n(?=[ \t])|\n(?=[ \t])|\r(?=[ \t])")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class StaffVerdict:
    claimed: bool  # the From address is one of the staff addresses
    authenticated: bool  # claimed and the authentication requirement is met
    reason: str  # one of REASONS


def staff_verdict(
    mail: InboundMail,
    staff: Collection[str],
    trusted_authserv_ids: Collection[str],
    *,
    raw: bytes | None = None,
    accept: StaffAuth = "dkim-or-spf",
    allow_unauthenticated: bool = False,
) -> StaffVerdict:
    """Decide whether `mail` is authenticated staff mail. Never raises on message content.

    `raw`, when given, is the message as received; the Authentication-Results and From
    headers are then read from it undecoded (see the module docstring on RFC 2047).
    `accept` is `cases.staff_auth`; `allow_unauthenticated` is
    `cases.allow_unauthenticated_staff` and only matters when there are no trusted ids.
    """
    staff_set = {s.strip().lower() for s in _strings(staff)} - {""}
    address = mail.sender.address.strip().lower() if mail.sender is not None else ""
    if not address or address not in staff_set:
        return StaffVerdict(claimed=False, authenticated=False, reason="not-staff")
    if not _strings(trusted_authserv_ids):
        if allow_unauthenticated:
            return StaffVerdict(claimed=True, authenticated=True, reason="no-requirement")
        return _refused("no-trusted-ids")
    trusted = {t.strip().lower() for t in _strings(trusted_authserv_ids)} - {""}

    from_count, topmost = _vouching_header(mail, raw, trusted)
    if from_count > 1:
        return _refused("multiple-from")
    if topmost is None:
        return _refused("no-trusted-results")
    results = _parse_results(topmost)
    if results is None:
        return _refused("unparseable")
    reason = _judge(results, address.rpartition("@")[2])
    if reason == "spf-aligned" and accept == "dkim":
        reason = "spf-not-accepted"
    return StaffVerdict(
        claimed=True, authenticated=reason in ("dkim-aligned", "spf-aligned"), reason=reason
    )


def sender_authenticated(
    mail: InboundMail, trusted_authserv_ids: Collection[str], *, raw: bytes | None = None
) -> bool:
    """Whether the receiving MX vouches for the From address of `mail` (any sender).

    For reporter mail that changes what is published about the reporter (credit consent):
    the topmost `Authentication-Results` header of a trusted authserv-id must show an aligned
    `dkim=pass` or a `dmarc=pass` for the From domain. SPF alone does not count here: it
    vouches for the envelope, which a reporter's mail provider shares with everyone. Without
    trusted authserv-ids nothing can vouch, so the answer is False (staff confirm instead).
    """
    trusted = {t.strip().lower() for t in _strings(trusted_authserv_ids)} - {""}
    address = mail.sender.address.strip().lower() if mail.sender is not None else ""
    if not trusted or "@" not in address:
        return False
    from_count, topmost = _vouching_header(mail, raw, trusted)
    if from_count != 1:
        return False
    results = _parse_results(topmost) if topmost is not None else None
    if not results:
        return False
    domain = _normal_domain(address.rpartition("@")[2])
    if domain is None:
        return False
    if _judge(results, domain) == "dkim-aligned":
        return True
    return any(
        r.method == "dmarc"
        and r.result == "pass"
        and _normal_domain(r.properties.get("header.from", "")) == domain
        for r in results
    )


def _vouching_header(
    mail: InboundMail, raw: bytes | None, trusted: set[str]
) -> tuple[int, str | None]:
    """How many From fields `mail` has, and the topmost Authentication-Results value written
    by a trusted authserv-id (None when there is none); from the raw header text when given,
    since decoding encoded words can forge results."""
    if raw is not None:
        from_values = _raw_header_values(raw, "from")
        ar_values = _raw_header_values(raw, "authentication-results")
    else:
        from_values = mail.header("from")
        ar_values = mail.header("authentication-results")
    topmost = next((v for v in ar_values if _authserv_id(v) in trusted), None)
    return _from_count(from_values), topmost


def _refused(reason: str) -> StaffVerdict:
    return StaffVerdict(claimed=True, authenticated=False, reason=reason)


def _strings(values: Collection[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):  # a lone string is one value, not a collection of letters
        values = (values,)
    return tuple(v for v in values if isinstance(v, str))


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class _Result:
    method: str  # lower-case, e.g. "dkim"
    result: str  # lower-case, e.g. "pass"
    properties: dict[str, str] = field(default_factory=dict)  # "header.d" -> value (first)


def _judge(results: Sequence[_Result], from_domain: str) -> str:
    dkim_pass = [r for r in results if r.method == "dkim" and r.result == "pass"]
    spf_pass = [r for r in results if r.method == "spf" and r.result == "pass"]
    if any(_aligned(_dkim_domain(r), from_domain) for r in dkim_pass):
        return "dkim-aligned"
    if any(
        _aligned(_domain_of(r.properties.get("smtp.mailfrom", "")), from_domain) for r in spf_pass
    ):
        return "spf-aligned"
    if dkim_pass:
        return "dkim-not-aligned"
    if spf_pass:
        return "spf-not-aligned"
    return "fail"


def _dkim_domain(result: _Result) -> str:
    signing = result.properties.get("header.d", "").strip()
    if signing:
        return signing
    return _domain_of(result.properties.get("header.i", ""))


def _domain_of(value: str) -> str:
    """The domain of `user@domain`, `@domain`, `<user@domain>` or a bare `domain`."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value.rpartition("@")[2]


def _normal_domain(domain: str) -> str | None:
    domain = domain.strip().strip('"').strip().lower().rstrip(".")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return domain if _DOMAIN.fullmatch(domain) else None


def _aligned(identifier: str, from_domain: str) -> bool:
    """`identifier` is the From domain or a parent of it, on a label boundary."""
    ident = _normal_domain(identifier)
    own = _normal_domain(from_domain)
    if ident is None or own is None:
        return False
    return own == ident or own.endswith("." + ident)


def _from_count(values: Sequence[str]) -> int:
    """How many From addresses the From header(s) name; 2 stands for "more than one"."""
    if len(values) > 1:
        return 2
    if not values:
        return 0
    try:
        pairs = getaddresses([values[0]])
    except Exception:
        return 0
    return sum(1 for _, addr in pairs if "@" in addr)


# --------------------------------------------------------------------------- reading headers


def _raw_header_values(raw: bytes, name: str) -> tuple[str, ...]:
    """Every value of header `name` in the raw message, undecoded and unfolded, in order."""
    try:
        data = bytes(raw).removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
        message = BytesParser(policy=email.policy.compat32).parsebytes(data, headersonly=True)
        values = []
        for key, value in message.raw_items():
            if str(key).strip().lower() == name and isinstance(value, str):
                values.append(_CONTROLS.sub(" ", _UNFOLD.sub("", value)).strip())
        return tuple(values)
    except Exception:
        return ()


def _authserv_id(value: str) -> str | None:
    """The authserv-id of an Authentication-Results value, lower-cased; None when unreadable.

    Lenient on purpose: our MX's own header must be recognised as trusted even when the rest
    of it is broken, or a sender's header below it would be taken instead.
    """
    rest = value.lstrip()
    while rest.startswith("("):
        end = _comment_end(rest)
        if end is None:
            return None
        rest = rest[end:].lstrip()
    match = re.match(r'"([^"\\]*)"|[^\s;()"]+', rest)
    if match is None:
        return None
    token = (match.group(1) if match.group(1) is not None else match.group()).strip().lower()
    if not token or "=" in token:  # Microsoft writes no authserv-id: "spf=pass ..."
        return None
    return token


def _comment_end(text: str) -> int | None:
    """Index just past the comment that opens `text`, or None when it never closes."""
    depth = 0
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _split_top_level(value: str) -> list[str] | None:
    """Split at each `;` outside quoted strings and comments; None when one is left open.

    Inside a comment a `"` is ordinary text (RFC 5322 ccontent); a backslash escapes the next
    character inside both.
    """
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif (quoted or depth) and char == "\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        elif char == '"':
            quoted = True
        elif char == "(":
            depth = 1
        elif char == ")":
            return None
        elif char == ";":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted or depth or escaped:
        return None
    parts.append("".join(current))
    return parts


def _strip_comments(text: str) -> str:
    out: list[str] = []
    depth = 0
    escaped = False
    for char in text:
        if depth:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0:
                out.append(" ")
        elif char == "(":
            depth = 1
        else:
            out.append(char)
    return "".join(out)


def _parse_results(value: str) -> list[_Result] | None:
    """The results of one Authentication-Results value; None when it cannot be trusted to
    have been read right."""
    if len(value) > _MAX_VALUE_CHARS:
        return None
    parts = _split_top_level(value)
    if parts is None:
        return None
    head = _strip_comments(parts[0]).split()
    if not head or len(head) > 2 or (len(head) == 2 and head[1] != "1"):
        return None  # RFC 8601: a header of an unknown version is not to be interpreted
    return list(_read_resinfos(parts[1:]))


def _read_resinfos(parts: Iterable[str]) -> Iterable[_Result]:
    for part in parts:
        text = part.strip()
        if not text or _strip_comments(text).strip().lower() == "none":
            continue  # a trailing or doubled ";", or the "no results" marker
        parsed = None
        with contextlib.suppress(Exception):  # authres raises its own SyntaxError and more
            parsed = authres.parse_value("x; " + text)
        if parsed is None or len(parsed.results) != 1:
            continue  # a result authres cannot read is dropped: that can only lose a pass
        result = parsed.results[0]
        method = getattr(result, "method", None)
        outcome = getattr(result, "result", None)
        if not isinstance(method, str) or not isinstance(outcome, str):
            continue
        properties: dict[str, str] = {}
        for prop in getattr(result, "properties", ()):
            key = f"{prop.type}.{prop.name}".lower()
            if isinstance(prop.value, str):
                properties.setdefault(key, str(prop.value))
        yield _Result(method.lower(), outcome.lower(), properties)
