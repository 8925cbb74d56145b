"""The security@ mailbox over IMAP: the one module that talks to imapclient.

imapclient returns bytes-keyed dicts, raises imaplib, socket and ssl exceptions, and carries no
type hints. This adapter keeps all of that here: the rest of mailtriage sees the `Mailbox`
protocol, `str`/`int` values and a single `MailboxError` with a one-line reason.

What it promises the pipeline:
- messages are named by (UIDVALIDITY, UID), never by sequence number, so a key stays valid
  across sessions and a recreated folder cannot be mistaken for the old one;
- reading changes no flag (`BODY.PEEK[]`), so a crash between fetching and storing leaves the
  mailbox exactly as a human would expect;
- memory stays bounded: messages are fetched in batches, very large ones one at a time;
- filing moves exactly the given UIDs, with UID MOVE when the server has it and otherwise
  with UID COPY, \\Deleted and UID EXPUNGE, so nothing else in the folder is touched;
- TLS is verified (certificate and host name) and STARTTLS never falls back to plaintext.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from urllib.parse import quote

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from mailtriage.config import MailboxConfig
from mailtriage.mailbox.base import FetchedMessage, Fingerprint, MailboxError, MessageKey
from mailtriage.mailbox.oauth2 import TokenError, TokenSource

log = logging.getLogger(__name__)

# imapclient logs the whole IMAP conversation at DEBUG, literals included: message text and
# addresses. Our logs must never carry those, even when an operator turns on debug logging.
logging.getLogger("imapclient").setLevel(logging.WARNING)

DEFAULT_BATCH_SIZE = 100
# One FETCH brings at most this many bytes, unless a single message is larger: then that
# message comes alone. Memory stays near this bound whatever the batch size.
LARGE_MESSAGE_BYTES = 5 * 1024 * 1024
# UIDs per MOVE/COPY/STORE/EXPUNGE command: keeps command lines far below server limits
# even when the UIDs are scattered and no ranges can be formed.
FILE_CHUNK = 500
# RFC 2177: clients should re-issue IDLE at least every 29 minutes.
MAX_IDLE_SECONDS = 25 * 60

_TIMING = re.compile(r"\s*\(\d+\.\d+ \+ [^)]*secs\)")
_BYTES_REPR = re.compile(r"""\bb(['"])(.*?)\1""")


class _TokenRefused(Exception):
    """The server refused the access token at AUTHENTICATE XOAUTH2 (its answer, one line)."""


class ImapMailbox:
    """A `Mailbox` reading one IMAP folder and filing messages into two others."""

    def __init__(
        self,
        config: MailboxConfig,
        *,
        use_move: bool | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        large_message_bytes: int = LARGE_MESSAGE_BYTES,
        tokens: TokenSource | None = None,
    ) -> None:
        """`use_move`: None picks UID MOVE when the server announces MOVE; False forces the
        COPY + \\Deleted + EXPUNGE path (tests use it to exercise servers without MOVE)."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._config = config
        # With `auth = "oauth2"`: where the XOAUTH2 access tokens come from.
        self._tokens = tokens
        # A digest of the token this session logged in with (not the token itself).
        self._login_token: str | None = None
        if config.auth == "oauth2" and tokens is None:
            raise ValueError("mailbox.auth is oauth2 but no token source was given")
        self._use_move = use_move
        self._batch_size = batch_size
        self._large_message_bytes = large_message_bytes
        self._client: IMAPClient | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._known_folders: set[str] = set()
        self._uidvalidity: int | None = None
        # UIDNEXT when fetch_new last looked: lets idle_wait notice mail that arrived between
        # that look and the start of IDLE, which IDLE itself would not report.
        self._seen_uidnext: int | None = None
        self.source = imap_source(config)

    def __repr__(self) -> str:
        return f"ImapMailbox({self.source!r})"

    # -- connection --------------------------------------------------------------------------

    def __enter__(self) -> ImapMailbox:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._client is not None

    def connect(self) -> None:
        """Connect, secure and log in; a no-op when already connected.

        Every other method connects on demand, so calling this is only needed to find out
        early (for `mailtriage check`) whether the mailbox can be reached.
        """
        if self._client is not None:
            return
        cfg = self._config
        where = f"{cfg.host}:{cfg.effective_port}"
        if self._tokens is None:
            # Read first: an unreadable password_file is a ConfigError naming the key, and
            # no connection should be left open behind it.
            client = self._open(cfg.secret(), where)
        else:
            # Likewise a token: one that cannot be had is an outage of the mailbox, said in
            # one line, before a connection is made.
            try:
                client = self._open(self._token(force_refresh=False), where)
            except _TokenRefused:
                # Revoked or expired early: one fresh token, on a new connection (a server
                # may slow down or end a connection after a failed AUTHENTICATE), before
                # this counts as an outage.
                log.info("IMAP XOAUTH2 login at %s refused; retrying once with a new token", where)
                try:
                    client = self._open(self._token(force_refresh=True), where)
                except _TokenRefused as exc:
                    raise MailboxError(
                        f"IMAP XOAUTH2 login refused for user {cfg.username} at {where} with a "
                        f"newly issued token: {exc} (is the application granted access to "
                        "this mailbox?)"
                    ) from None
            self._login_token = _digest(self._tokens.token())

        self._client = client
        self._known_folders.clear()
        log.debug(
            "connected to %s (tls=%s, move=%s, idle=%s)",
            self.source,
            cfg.tls,
            self._moves(),
            "IDLE" in self._capabilities,
        )

    def _open(self, secret: str, where: str) -> IMAPClient:
        """A connected, secured and logged-in client; `secret` is a password or a token."""
        cfg = self._config
        context = self._tls_context() if cfg.tls != "none" else None
        timeout = cfg.timeout_seconds or None
        try:
            client = IMAPClient(
                cfg.host,
                port=cfg.effective_port,
                ssl=cfg.tls == "ssl",
                ssl_context=context,
                timeout=timeout,
            )
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"IMAP server {where}: TLS certificate not trusted ({exc.verify_message})"
            ) from exc
        except (OSError, IMAPClientError) as exc:
            raise MailboxError(f"cannot connect to IMAP server {where}: {_reason(exc)}") from exc
        # INTERNALDATE as an aware datetime, not converted to naive local time.
        client.normalise_times = False

        try:
            if cfg.tls == "starttls":
                self._starttls(client, context, where)
            self._login(client, secret, where)
            self._capabilities = frozenset(_text(c).upper() for c in client.capabilities())
        except (MailboxError, _TokenRefused):
            _shutdown(client)
            raise
        except (OSError, IMAPClientError) as exc:
            _shutdown(client)
            raise MailboxError(f"IMAP session with {where} failed: {_reason(exc)}") from exc
        return client

    def _renew_session_if_token_renewed(self) -> None:
        """Log in again once the token of this session has been replaced by a new one.

        Some servers (Exchange Online) end a session when the token it was opened with
        expires; logging in afresh between passes, when nothing is in hand, avoids meeting
        that as an error in the middle of a batch.
        """
        if self._tokens is None or self._client is None:
            return
        try:
            current = self._tokens.token()
        except TokenError:
            return  # keep the session we have; connect() will say what is wrong when needed
        if _digest(current) != self._login_token:
            log.debug("%s: access token renewed; logging in again", self.source)
            self.close()

    def _token(self, *, force_refresh: bool) -> str:
        assert self._tokens is not None
        try:
            return self._tokens.token(force_refresh=force_refresh)
        except TokenError as exc:
            raise MailboxError(f"IMAP login at {self.source}: {exc.reason}") from None

    def _login(self, client: IMAPClient, secret: str, where: str) -> None:
        cfg = self._config
        if self._tokens is None:
            try:
                client.login(cfg.username, secret)
            except LoginError as exc:
                raise MailboxError(
                    f"IMAP login failed for user {cfg.username} at {where}: {_reason(exc)}"
                ) from exc
            return
        try:
            client.oauth2_login(cfg.username, secret)
        except LoginError as exc:
            # `from None`: imaplib's exception would carry the command that held the token.
            raise _TokenRefused(_reason(exc)) from None

    def _tls_context(self) -> ssl.SSLContext:
        ca_file = self._config.ca_file
        try:
            # create_default_context: CERT_REQUIRED and check_hostname, the system CAs unless
            # the operator names a private CA.
            return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxError(f"mailbox.ca_file {ca_file}: cannot load ({_reason(exc)})") from exc

    @staticmethod
    def _starttls(client: IMAPClient, context: ssl.SSLContext | None, where: str) -> None:
        # Refuse rather than carry on in plaintext: a stripped STARTTLS is exactly what an
        # attacker on the path would arrange to read the password and the reports.
        if not client.has_capability("STARTTLS"):
            raise MailboxError(
                f"IMAP server {where} does not offer STARTTLS; refusing to continue in plaintext"
            )
        try:
            client.starttls(context)
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"IMAP server {where}: TLS certificate not trusted ({exc.verify_message})"
            ) from exc

    def close(self) -> None:
        """Log out; a connection that is already dead is simply dropped."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may be long gone; there is nothing left to do
            _shutdown(client)

    def capabilities(self) -> frozenset[str]:
        """The server's capabilities after login, upper-case (connects if needed)."""
        self._connected()
        return self._capabilities

    def _connected(self) -> IMAPClient:
        self.connect()
        assert self._client is not None
        return self._client

    def _moves(self) -> bool:
        if self._use_move is not None:
            return self._use_move
        return "MOVE" in self._capabilities

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn imapclient/socket/ssl failures into MailboxError; forget a dead connection."""
        try:
            yield
        except MailboxError:
            raise
        except (IMAPClientAbortError, OSError) as exc:
            # The connection is unusable now; drop it so the next call reconnects.
            dead, self._client = self._client, None
            if dead is not None:
                _shutdown(dead)
            raise MailboxError(f"IMAP {action} failed: {_reason(exc)}") from exc
        except IMAPClientError as exc:
            raise MailboxError(f"IMAP {action} failed: {_reason(exc)}") from exc

    def _select(self, client: IMAPClient) -> tuple[int, int | None]:
        """Select the inbox folder read-write; return its (UIDVALIDITY, UIDNEXT)."""
        response = client.select_folder(self._config.folder)
        validity = _int(response.get(b"UIDVALIDITY"))
        if validity is None:
            raise MailboxError(f"IMAP folder {self._config.folder!r} reports no UIDVALIDITY")
        if self._uidvalidity is not None and validity != self._uidvalidity:
            log.warning(
                "%s: UIDVALIDITY changed from %d to %d; all its messages count as new",
                self.source,
                self._uidvalidity,
                validity,
            )
        self._uidvalidity = validity
        return validity, _int(response.get(b"UIDNEXT"))

    # -- reading -----------------------------------------------------------------------------

    def fetch_new(self) -> Iterator[FetchedMessage]:
        """Yield every message in the folder, in UID order, without setting any flag.

        All messages are listed, \\Deleted ones included: a message someone marked deleted
        but did not expunge has still not been handled, and the store deduplicates the few
        that a crashed COPY+EXPUNGE left behind. Only one batch is held in memory at a time.
        """
        self._renew_session_if_token_renewed()
        client = self._connected()
        with self._errors(f"reading folder {self._config.folder!r}"):
            validity, uidnext = self._select(client)
            self._seen_uidnext = uidnext
            uids = sorted(_int_list(client.search("ALL")))
        log.debug("%s: %d messages waiting", self.source, len(uids))
        action = f"fetching from {self._config.folder!r}"
        for start in range(0, len(uids), self._batch_size):
            if self._client is not client or self._uidvalidity != validity:
                # The caller filed messages in between, and that found the connection dead or
                # a new incarnation of the folder: our UIDs may no longer name our messages.
                raise MailboxError(
                    f"IMAP folder {self._config.folder!r} was lost or replaced while reading"
                )
            batch = uids[start : start + self._batch_size]
            with self._errors(action):
                sizes, arrivals = self._sizes(client, batch)
            for group in fetch_groups(batch, sizes, self._large_message_bytes):
                with self._errors(action):
                    if len(group) == 1 and sizes.get(group[0], 0) > self._large_message_bytes:
                        bodies = self._large_body(client, group[0], sizes[group[0]])
                    else:
                        bodies = self._bodies(client, group)
                for uid in group:
                    raw = bodies.pop(uid, None)
                    if raw is None:
                        # Gone between SEARCH and FETCH (another client moved it): nothing
                        # to hand on, and it is no longer ours to worry about.
                        log.debug("%s: UID %d vanished before it was fetched", self.source, uid)
                        continue
                    key = MessageKey(self.source, validity, str(uid))
                    yield FetchedMessage(key, raw, arrived_at=arrivals.get(uid))

    @staticmethod
    def _sizes(
        client: IMAPClient, uids: Sequence[int]
    ) -> tuple[dict[int, int], dict[int, dt.datetime]]:
        """Each message's size and INTERNALDATE (when the server received it)."""
        # imapclient's fetch matches its answer against the UIDs it was given, so it needs
        # them as a list, not as a range string; a batch is short enough either way.
        response = client.fetch(list(uids), ["RFC822.SIZE", "INTERNALDATE"])
        sizes: dict[int, int] = {}
        arrivals: dict[int, dt.datetime] = {}
        for uid, data in response.items():
            size = _int(data.get(b"RFC822.SIZE"))
            if size is not None:
                sizes[int(uid)] = size
            arrived = data.get(b"INTERNALDATE")
            if isinstance(arrived, dt.datetime) and arrived.tzinfo is not None:
                arrivals[int(uid)] = arrived.astimezone(dt.UTC)
        return sizes, arrivals

    @staticmethod
    def _large_body(client: IMAPClient, uid: int, size: int) -> dict[int, bytes]:
        """One big message in partial FETCHes, so no single answer is held twice in memory:
        imaplib joins a literal from its reads, and a 25 MB answer would cost several
        copies at once; pieces of LARGE_PIECE bytes cost a few MB."""
        whole = bytearray()
        while True:
            section = f"BODY.PEEK[]<{len(whole)}.{LARGE_PIECE}>"
            response = client.fetch([uid], [section])
            data = response.get(uid)
            if data is None:
                return {}
            piece = next((v for k, v in data.items() if k.startswith(b"BODY[]")), None)
            if not isinstance(piece, bytes) or not piece:
                break
            whole += piece
            if len(piece) < LARGE_PIECE or len(whole) >= size:
                break
        raw = bytes(whole)
        del whole
        return {uid: raw}

    @staticmethod
    def _bodies(client: IMAPClient, uids: Sequence[int]) -> dict[int, bytes]:
        response = client.fetch(list(uids), ["BODY.PEEK[]"])
        bodies: dict[int, bytes] = {}
        for uid, data in response.items():
            # The server answers a PEEK with the item named BODY[]; values come as bytes.
            raw = data.get(b"BODY[]")
            if isinstance(raw, bytes):
                bodies[int(uid)] = raw
        return bodies

    # -- filing ------------------------------------------------------------------------------

    def file_processed(self, keys: list[MessageKey]) -> None:
        self._file(keys, self._config.processed_folder)

    def file_quarantined(self, keys: list[MessageKey]) -> None:
        self._file(keys, self._config.quarantine_folder)

    def _file(self, keys: Iterable[MessageKey], target: str) -> None:
        keys = list(keys)
        if not keys:
            return
        client = self._connected()
        with self._errors(f"moving messages to {target!r}"):
            validity, _ = self._select(client)
            uids, ignored = _current_uids(keys, self.source, validity)
            if ignored:
                # Keys from before a UIDVALIDITY change (or another mailbox) name nothing here.
                log.debug(
                    "%s: ignoring %d keys not of UIDVALIDITY %d", self.source, ignored, validity
                )
            if not uids:
                return
            self._ensure_folder(client, target)
            for start in range(0, len(uids), FILE_CHUNK):
                self._move(client, uids[start : start + FILE_CHUNK], target)
        log.info("%s: filed %d messages into %r", self.source, len(uids), target)

    def _move(self, client: IMAPClient, uids: Sequence[int], target: str) -> None:
        uidset = uid_set(uids)
        if self._moves():
            client.move(uidset, target)
            return
        # No MOVE: copy first, and only once the copy is acknowledged mark and remove the
        # originals. A crash in between leaves a duplicate, never a loss.
        client.copy(uidset, target)
        client.add_flags(uidset, [b"\\Deleted"], silent=True)
        if "UIDPLUS" in self._capabilities:
            client.uid_expunge(uidset)
        else:
            # Without UIDPLUS, EXPUNGE also removes whatever else carries \Deleted in the
            # folder; acceptable only because our copies are already safe.
            log.debug("%s: server lacks UIDPLUS, using a plain EXPUNGE", self.source)
            client.expunge()

    def _ensure_folder(self, client: IMAPClient, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not client.folder_exists(folder):
            try:
                client.create_folder(folder)
                log.info("%s: created folder %r", self.source, folder)
            except IMAPClientError:
                # Another client may have created it meanwhile; only then is this fine.
                if not client.folder_exists(folder):
                    raise
            try:
                # So people reading the mailbox in a mail client see it.
                client.subscribe_folder(folder)
            except IMAPClientError:
                log.debug("%s: could not subscribe to %r", self.source, folder)
        self._known_folders.add(folder)

    def check(self) -> None:
        """Log in and open the folder, for `mailtriage check`; raises MailboxError."""
        client = self._connected()
        with self._errors(f"opening folder {self._config.folder!r}"):
            self._select(client)

    # -- erasing ------------------------------------------------------------------------------

    def expunge(self, fingerprints: Iterable[Fingerprint], keys: Iterable[MessageKey]) -> int:
        """Remove messages from every folder the desk uses (inbox, processed, quarantine).
        Returns how many went.

        For the purge: a reporter's mail must not outlive their case in the mailbox either.
        A message is found by its size and then proven by the SHA-256 of its bytes, so it is
        found wherever filing put it, with or without a Message-ID, and nothing else is
        touched. Inbox UIDs (`keys`) still in the folder go too.
        """
        wanted: dict[int, set[str]] = {}
        for size, digest in fingerprints:
            wanted.setdefault(size, set()).add(digest)
        keys = list(keys)
        cfg = self._config
        client = self._connected()
        removed = 0
        with self._errors("erasing purged messages"):
            for folder in dict.fromkeys((cfg.folder, cfg.processed_folder, cfg.quarantine_folder)):
                if not client.folder_exists(folder):
                    continue
                info = client.select_folder(folder)
                uids = self._matching(client, wanted)
                validity = _int(info.get(b"UIDVALIDITY"))
                if folder == cfg.folder and validity is not None:
                    listed = _current_uids(keys, self.source, validity)[0]
                    if listed:
                        uids.update(_int_list(client.search(["UID", uid_set(listed)])))
                if not uids:
                    continue
                uidset = uid_set(uids)
                client.add_flags(uidset, [b"\\Deleted"], silent=True)
                if "UIDPLUS" in self._capabilities:
                    client.uid_expunge(uidset)
                else:
                    client.expunge()
                removed += len(uids)
            self._select(client)
        return removed

    @staticmethod
    def _matching(client: IMAPClient, wanted: dict[int, set[str]]) -> set[int]:
        """UIDs in the selected folder whose bytes hash to one of `wanted` (by size)."""
        found: set[int] = set()
        for size, digests in wanted.items():
            candidates = _int_list(client.search(["LARGER", max(size - 1, 0), "SMALLER", size + 1]))
            for start in range(0, len(candidates), 20):
                batch = candidates[start : start + 20]
                for uid, data in client.fetch(batch, ["BODY.PEEK[]"]).items():
                    raw = data.get(b"BODY[]")
                    if isinstance(raw, bytes) and hashlib.sha256(raw).hexdigest() in digests:
                        found.add(int(uid))
        return found

    # -- waiting for mail --------------------------------------------------------------------

    def supports_idle(self) -> bool:
        """Whether the server offers IDLE (connects if needed)."""
        return "IDLE" in self.capabilities()

    def idle_wait(self, timeout_s: float, wake: Callable[[], bool] | None = None) -> bool:
        """Wait up to `timeout_s` seconds (at most 25 minutes) for new mail in the folder.

        True when new mail may be waiting: the server announced it during IDLE, or it came
        in after the last `fetch_new` looked. False on a quiet timeout. A spurious True only
        costs one empty `fetch_new`. `wake`, when given, is called about once a second while
        waiting (the daemon pings its watchdog there); when it returns True the wait ends
        early and returns False.
        """
        client = self._connected()
        if "IDLE" not in self._capabilities:
            raise MailboxError(f"IMAP server of {self.source} does not support IDLE")
        timeout_s = max(0.0, min(timeout_s, MAX_IDLE_SECONDS))
        seen_validity, seen_uidnext = self._uidvalidity, self._seen_uidnext
        with self._errors(f"waiting for mail in {self._config.folder!r}"):
            validity, uidnext = self._select(client)
            if seen_uidnext is None or validity != seen_validity:
                return True
            if uidnext is not None and uidnext > seen_uidnext:
                return True
            client.idle()
            try:
                responses = _idle_responses(client, timeout_s, wake)
            finally:
                _, more = client.idle_done()
            responses.extend(more)
        return any(_announces_mail(r) for r in responses)


# -- small typed helpers around imapclient's untyped values ---------------------------------


def imap_source(config: MailboxConfig) -> str:
    """`imap://USER@HOST:PORT/FOLDER`, the mailbox's stable name in the store.

    The user and folder are percent-encoded (RFC 5092 style), so an address as user name
    keeps the string unambiguous: imap://security%40example.test@mail.example.test:993/INBOX.
    """
    user = quote(config.username, safe="")
    folder = quote(config.folder, safe="")
    return f"imap://{user}@{config.host.lower()}:{config.effective_port}/{folder}"


def uid_set(uids: Iterable[int]) -> str:
    """A compact IMAP UID set: [1, 2, 3, 7, 9, 10] -> "1:3,7,9:10".

    Ranges only cover runs of consecutive UIDs that are all in the input, so a range can
    never take in a message that was not asked for.
    """
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    first = last = ordered[0]
    for uid in ordered[1:]:
        if uid == last + 1:
            last = uid
            continue
        parts.append(f"{first}:{last}" if last > first else str(first))
        first = last = uid
    parts.append(f"{first}:{last}" if last > first else str(first))
    return ",".join(parts)


LARGE_PIECE = 4 * 1024 * 1024
IDLE_TICK_SECONDS = 1.0


def fetch_groups(
    uids: Sequence[int], sizes: Mapping[int, int], max_bytes: int
) -> Iterator[list[int]]:
    """Split UIDs, in order, into FETCHes of at most `max_bytes` in all; a message larger
    than that comes alone. A UID of unknown size counts as small."""
    group: list[int] = []
    group_bytes = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if group and group_bytes + size > max_bytes:
            yield group
            group, group_bytes = [], 0
        group.append(uid)
        group_bytes += size
    if group:
        yield group


def _current_uids(keys: Iterable[MessageKey], source: str, validity: int) -> tuple[list[int], int]:
    """The UIDs of `keys` that name a message in this folder now, and how many did not."""
    uids: set[int] = set()
    ignored = 0
    for key in keys:
        if key.source != source or key.validity != validity or not key.uid.isdigit():
            ignored += 1
            continue
        uids.add(int(key.uid))
    return sorted(uids), ignored


def _idle_responses(
    client: IMAPClient, timeout_s: float, wake: Callable[[], bool] | None
) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (wake is not None and wake()):
            return []
        step = remaining if wake is None else min(remaining, IDLE_TICK_SECONDS)
        responses: list[Any] = list(client.idle_check(timeout=step))
        # Dovecot sends "* OK Still here" keep-alives; only mailbox changes end the wait.
        if any(_announces_mail(r) for r in responses):
            return responses


def _announces_mail(response: Any) -> bool:
    """True for an untagged `n EXISTS` or `n RECENT` with n > 0."""
    return (
        isinstance(response, tuple)
        and len(response) >= 2
        and isinstance(response[0], int)
        and response[1] in (b"EXISTS", b"RECENT")
        and response[0] > 0
    )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _int_list(values: Iterable[Any]) -> list[int]:
    return [v for v in (_int(x) for x in values) if v is not None]


def _reason(exc: BaseException) -> str:
    """One short line saying what went wrong, without the exception's class noise."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message})"
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = " ".join(_text(a) for a in exc.args) if exc.args else ""
        text = text or type(exc).__name__
    # imaplib passes server text on as a bytes repr (b'...'), and Dovecot appends timings
    # such as "(0.001 + 0.000 secs)": both only add noise.
    text = _BYTES_REPR.sub(r"\2", text)
    text = " ".join(_TIMING.sub("", text).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(Exception):  # already closed: fine
        client.shutdown()
