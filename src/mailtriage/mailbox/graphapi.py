"""Microsoft Graph over plain HTTP: the one module that talks to Graph.

Tenants that switched IMAP off can still be read and written through Graph. The mailbox
(`mailbox.graph`) and the transport (`transport.graph`) both need the same few things from an
HTTP client, and they are easy to get subtly wrong, so they live here once:

- every request asks for immutable ids (`Prefer: IdType="ImmutableId"`), so a message keeps
  its id when it is moved to Processed or Quarantine and a stored key stays valid;
- throttling (429, and 503 which Graph also sends under load) is waited out as Graph asks in
  `Retry-After`, a bounded number of times and for at most `MAX_WAIT_SECONDS` in all per
  call: a longer wait ends the call as a temporary failure and the daemon's own backoff
  takes over, rather than stalling a pass for minutes;
- a 401 fetches a fresh token once (the cached one may have been revoked or have expired
  early) before it counts as a failure;
- the bearer token is only ever sent to the configured Graph host: an `@odata.nextLink`
  naming another host is refused;
- no token, no message text and no address from a response body reaches a log or an error:
  errors carry the HTTP status and Graph's error code only.

A generated SDK would pull in a large dependency tree for the six calls made here; `httpx`
is small, typed and well kept.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx

from mailtriage.clock import Clock

log = logging.getLogger(__name__)

# httpx logs every request line at INFO; the URLs carry message ids and the mailbox address.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
IMMUTABLE_IDS = 'IdType="ImmutableId"'

# Waiting out throttling: at most this many tries of one request, and no more than this many
# seconds of waiting for one call. Graph's Retry-After is usually a few seconds; a longer one
# means the tenant is saturated, and the pass is better ended (nothing is lost: the mail stays
# in the folder, the outbox row stays due) than blocked, not least because the daemon pings
# systemd's watchdog (WatchdogSec=60s) between calls, not during them.
MAX_ATTEMPTS = 5
MAX_WAIT_SECONDS = 30.0
# Without Retry-After: 1, 2, 4, 8 s.
BACKOFF_START_SECONDS = 1.0

THROTTLED = frozenset({429, 503})
TRANSIENT = frozenset({500, 502, 504}) | THROTTLED


class TokenSource(Protocol):
    """An OAuth2 access token for Graph (the shape `mailtriage.mailbox.oauth2` provides)."""

    def token(self, *, force_refresh: bool = False) -> str: ...

    def expires_at(self) -> dt.datetime | None: ...


class GraphError(Exception):
    """A Graph call failed; `reason` is one line without secrets or message content.

    `transient` says whether trying again later may succeed (throttling, 5xx, network);
    `status` is the HTTP status when there was a response.
    """

    def __init__(
        self, reason: str, *, transient: bool, status: int | None = None, code: str = ""
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.status = status
        self.code = code


def user_path(user: str) -> str:
    """`/users/{address}`, the address percent-encoded as one path segment."""
    return "/users/" + quote(user, safe="@")


def segment(value: str) -> str:
    """An id or a well-known name as one path segment (ids may hold `/`, `+`, `=`)."""
    return quote(value, safe="")


class GraphClient:
    """Authenticated requests to one Graph endpoint on behalf of one mailbox."""

    def __init__(
        self,
        base_url: str,
        user: str,
        tokens: TokenSource,
        clock: Clock,
        *,
        verify: str | bool = True,
        timeout_seconds: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self._tokens = tokens
        self._clock = clock
        # Looked up at call time, so a test can stand in for the module's sleep.
        self._sleep = sleep
        base = urlsplit(self.base_url)
        self._origin = (base.scheme, base.netloc.lower())
        self._http = httpx.Client(
            verify=verify,
            timeout=timeout_seconds,
            transport=transport,
            follow_redirects=False,  # a redirect would carry the bearer token elsewhere
            headers={"Prefer": IMMUTABLE_IDS, "Accept": "application/json"},
        )

    @property
    def host(self) -> str:
        return self._origin[1]

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        """The absolute URL of `path` under this mailbox (`/messages/…`)."""
        return f"{self.base_url}{user_path(self.user)}{path}"

    # -- requests ----------------------------------------------------------------------

    def get_json(self, path_or_url: str, params: Mapping[str, str] | None = None) -> Any:
        response = self.request("GET", path_or_url, params=params)
        return _json(response)

    def pages(self, path: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following `@odata.nextLink` page by page."""
        url: str | None = self.url(path)
        query: Mapping[str, str] | None = params
        while url is not None:
            page = self.get_json(url, query)
            values = page.get("value") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise GraphError(
                    "Graph answered a list request without a value array", transient=True
                )
            yield from (v for v in values if isinstance(v, dict))
            link = page.get("@odata.nextLink")
            # The next link already holds the whole query (a $skip or $skiptoken included).
            url, query = (link, None) if isinstance(link, str) and link else (None, None)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        expect: tuple[int, ...] = (200,),
        resend_when_unsure: bool = True,
    ) -> httpx.Response:
        """One Graph call, with throttling waited out and one token refresh on 401.

        `resend_when_unsure=False` is for calls that must not happen twice (sendMail): after
        a network failure that may have come after the server took the request, the call is
        not repeated. A refusal (429, 503, 401) is always safe to repeat.
        """
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        self._same_origin(url)
        refreshed = False  # a fresh token was fetched for this call (at most once)
        refresh_now = False
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {self._token(force_refresh=refresh_now)}"}
            refresh_now = False
            if content_type:
                headers["Content-Type"] = content_type
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    content=content,
                    headers=headers,
                )
            except httpx.TransportError as exc:
                sure = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                waited += _backoff(attempt)
                if (
                    attempt >= MAX_ATTEMPTS
                    or waited > MAX_WAIT_SECONDS
                    or not (sure or resend_when_unsure)
                ):
                    raise GraphError(
                        f"Graph unreachable: {_transport_reason(exc)}", transient=True
                    ) from exc
                self._wait(_backoff(attempt), f"Graph unreachable ({_transport_reason(exc)})")
                continue
            if response.status_code in expect:
                return response
            code = _error_code(response)
            if response.status_code == 401 and not refreshed:
                # The token may have been revoked or have run out early: one fresh one.
                log.info("Graph refused the access token (401 %s); fetching a new one", code)
                refreshed = refresh_now = True
                continue
            if response.status_code in TRANSIENT and attempt < MAX_ATTEMPTS:
                wait = self._retry_after(response) or _backoff(attempt)
                waited += wait
                if waited > MAX_WAIT_SECONDS:
                    raise GraphError(
                        f"Graph {_status_line(response, code)}; it asks to wait {wait:.0f} s",
                        transient=True,
                        status=response.status_code,
                        code=code,
                    )
                self._wait(wait, f"Graph {_status_line(response, code)}")
                continue
            raise GraphError(
                f"Graph {method} {_what(url)}: {_status_line(response, code)}",
                transient=response.status_code in TRANSIENT,
                status=response.status_code,
                code=code,
            )

    # -- helpers -----------------------------------------------------------------------

    def _token(self, *, force_refresh: bool) -> str:
        try:
            return self._tokens.token(force_refresh=force_refresh)
        except GraphError:
            raise
        except Exception as exc:
            # The token source's message names what failed and holds no secret (its
            # contract); the exception itself is not chained, so no traceback shows its frames.
            raise GraphError(f"no access token for Graph: {exc}", transient=True) from None

    def _same_origin(self, url: str) -> None:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc.lower()) != self._origin:
            raise GraphError(
                f"Graph pointed to another host ({parts.netloc}); the token is not sent there",
                transient=False,
            )

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - self._clock()).total_seconds())

    def _wait(self, seconds: float, why: str) -> None:
        log.info("%s; waiting %.1f s before trying again", why, seconds)
        (self._sleep or pause)(seconds)


def pause(seconds: float) -> None:
    """Sleep on the monotonic clock: what the client waits with unless given another."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(left)


def _backoff(attempt: int) -> float:
    return BACKOFF_START_SECONDS * 2 ** (attempt - 1)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GraphError(
            f"Graph answered {response.status_code} with a body that is not JSON", transient=True
        ) from exc


def _error_code(response: httpx.Response) -> str:
    """Graph's `error.code` (e.g. ErrorAccessDenied), which names the failure without data."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(code, str):
        return ""
    # A code is an identifier; anything else is not repeated.
    return code[:80] if code.replace("_", "").replace(".", "").isalnum() else ""


def _status_line(response: httpx.Response, code: str) -> str:
    text = f"{response.status_code} {response.reason_phrase}".strip()
    return f"{text} ({code})" if code else text


def _what(url: str) -> str:
    """The kind of call, without ids: `messages/…/move`, `mailFolders`, `sendMail`."""
    path = urlsplit(url).path
    parts = path.split("/")
    if "users" in parts:
        parts = parts[parts.index("users") + 2 :]
    kept = [p if p in _NAMES else "…" for p in parts]
    return "/".join(kept) or "/"


_NAMES = frozenset(
    {"messages", "mailFolders", "childFolders", "move", "sendMail", "$value", "permanentDelete"}
)


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
