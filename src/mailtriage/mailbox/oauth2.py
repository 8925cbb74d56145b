"""OAuth2 access tokens for the mailbox and SMTP logins (and for Microsoft Graph).

Microsoft 365 and Google Workspace no longer take a password for IMAP and SMTP: the daemon
must present an OAuth2 access token (`AUTHENTICATE XOAUTH2`). A daemon has no browser and no
one to click "consent", so only grants that work unattended are used: the client-credentials
flow (RFC 6749 §4.4; with a client secret or, for Microsoft, a certificate) and Google's
service account with domain-wide delegation (a signed JWT, RFC 7523). The providers' own
libraries do the signing and the protocol details (`msal`, `google-auth`); a generic token
endpoint gets a plain form POST with `httpx`.

What this module promises its callers (`mailbox/imap.py`, `transport/smtp.py`, Graph):
- `token()` returns a valid token, renewed before it expires (when less than a tenth of its
  lifetime, at most 60 s, is left), so a login never presents a token about to lapse;
- `token(force_refresh=True)` fetches a new one: callers do this once after a refused login
  before they count the failure as an outage (a revoked token heals at once);
- tokens live in memory only, never on disk;
- failure is a `TokenError` with one line an operator can act on, and `kind` saying whether
  the endpoint could not be reached or refused us;
- no secret or token appears in a log line, an exception message or a traceback: secrets are
  held in `Secret` (whose repr hides them), library exceptions are replaced (`from None`) by
  scrubbed one-liners, and the libraries' own loggers are kept at WARNING.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from mailtriage.clock import Clock
from mailtriage.config import Config, ConfigError, OAuth2Config, check_token_url

log = logging.getLogger(__name__)

# These libraries log requests and responses at DEBUG (msal: token responses; urllib3 and
# httpcore: connection details). Our logs must not carry a token even at DEBUG.
for _noisy in ("msal", "httpx", "httpcore", "urllib3", "google", "google.auth", "requests"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
# The scopes the mail logins need: Exchange Online's resource (its `.default` carries the
# application permissions IMAP.AccessAsApp / SMTP.SendAsApp) and Gmail's full-mail scope,
# the only one that covers IMAP and SMTP.
MICROSOFT_MAIL_SCOPES = ("https://outlook.office365.com/.default",)
GOOGLE_MAIL_SCOPES = ("https://mail.google.com/",)

RENEW_FRACTION = 0.1
RENEW_MAX_SECONDS = 60.0
# A token endpoint that omits expires_in (RFC 6749 §5.1 makes it RECOMMENDED only).
DEFAULT_LIFETIME_SECONDS = 3600
HTTP_TIMEOUT_SECONDS = 30.0
MAX_REASON = 240

TokenFailure = Literal["unreachable", "refused", "invalid"]


class Secret:
    """A secret string whose repr and str never show it; `reveal()` is the only way in.

    Exceptions and log calls format their arguments with repr/str, and tracebacks show local
    variables in some tools: holding a secret in this wrapper keeps it out of all of them.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:  # pickling would copy the secret somewhere we do not know
        raise TypeError("a Secret cannot be pickled")


class TokenError(Exception):
    """No token could be had. The message is one scrubbed line for the operator.

    `kind`: "unreachable" (network, TLS, a 5xx: retry later), "refused" (the endpoint said no:
    invalid_client, consent missing, ...; it will go on failing until an administrator acts),
    "invalid" (the endpoint's answer made no sense).
    """

    def __init__(self, reason: str, *, kind: TokenFailure) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class TokenSource(Protocol):
    def token(self, *, force_refresh: bool = False) -> str:
        """A valid access token (renewed before it expires)."""
        ...

    def expires_at(self) -> dt.datetime | None:
        """When the current token expires; None before the first."""
        ...


@dataclass(frozen=True)
class Issued:
    """What a token endpoint handed out: the token and its lifetime in seconds."""

    token: Secret
    lifetime_seconds: float


Fetch = Callable[[], Issued]


class CachedTokenSource:
    """Holds one token in memory and fetches a new one when it is (nearly) spent.

    Thread-safe: the daemon's main loop (IMAP) and its scheduler thread (SMTP) share it, and a
    lock keeps them from fetching twice at once. Renewal is decided on `time.monotonic()`, so
    a clock step cannot make a token look fresher than it is; `expires_at()` is the desk's
    clock plus the lifetime, for display.
    """

    def __init__(
        self,
        fetch: Fetch,
        clock: Clock,
        *,
        describe: str,
        on_new_token: Callable[[dt.datetime], None] | None = None,
        scrub: Callable[[str], str] | None = None,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._describe = describe
        self._on_new_token = on_new_token
        self._lock = threading.Lock()
        self._current: Secret | None = None
        self._renew_at = 0.0
        self._expires_at: dt.datetime | None = None
        self._issued: list[Secret] = []
        self._extra_scrub = scrub
        # The reason the last fetch failed, until one succeeds.
        self._failing: str | None = None

    def __repr__(self) -> str:
        return f"CachedTokenSource({self._describe})"

    def token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            if force_refresh or self._current is None or time.monotonic() >= self._renew_at:
                self._renew()
            assert self._current is not None
            return self._current.reveal()

    def expires_at(self) -> dt.datetime | None:
        return self._expires_at

    def scrub(self, text: str) -> str:
        """`text` with every token this source handed out (and known secrets) hidden."""
        text = scrub(text, (t.reveal() for t in self._issued))
        return self._extra_scrub(text) if self._extra_scrub else text

    def _renew(self) -> None:
        started = time.monotonic()
        try:
            issued = self._fetch()
        except TokenError as exc:
            reason = self.scrub(exc.reason)
            if self._failing is None:
                # Said once when tokens stop coming (the callers retry with backoff and
                # say what they postponed); the next success says it is over.
                log.warning("%s: no token: %s", self._describe, reason)
            self._failing = self._failing or reason
            raise TokenError(f"{self._describe}: {reason}", kind=exc.kind) from None
        if self._failing is not None:
            log.info("%s: tokens are issued again", self._describe)
            self._failing = None
        lifetime = max(issued.lifetime_seconds, 1.0)
        margin = min(lifetime * RENEW_FRACTION, RENEW_MAX_SECONDS)
        self._current = issued.token
        # Only the last few are kept for scrubbing; older ones have expired anyway.
        self._issued = [*self._issued[-7:], issued.token]
        self._renew_at = started + lifetime - margin
        self._expires_at = self._clock() + dt.timedelta(seconds=lifetime)
        log.info(
            "%s: new access token, valid until %s",
            self._describe,
            self._expires_at.isoformat(timespec="seconds"),
        )
        if self._on_new_token is not None:
            try:
                self._on_new_token(self._expires_at)
            except Exception as exc:  # the record is for `status`; logins must go on
                log.warning("%s: could not record the token's expiry: %s", self._describe, exc)


# -- scrubbing -------------------------------------------------------------------------------

# A JWT (Microsoft's and Google's tokens, client assertions), a bearer header, and JSON or
# form fields that carry a token or secret: hidden whatever the source of the text.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+")
_FIELD = re.compile(
    r"(?i)([\"']?(?:access_token|refresh_token|id_token|client_secret|assertion|"
    r"client_assertion|private_key|password)[\"']?\s*[:=]\s*[\"']?)[^\"'&,\s}]+"
)
_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?(-----END [A-Z ]+-----|$)", re.S)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secrets and anything shaped like a token or key hidden, as one
    line of at most MAX_REASON characters."""
    for value in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(value, "[hidden]")
    text = _PEM.sub("[hidden key]", text)
    text = _JWT.sub("[hidden]", text)
    text = _BEARER.sub(r"\1 [hidden]", text)
    text = _FIELD.sub(r"\1[hidden]", text)
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


# -- building a source from the config ---------------------------------------------------------


def mail_scopes(config: Config) -> tuple[str, ...]:
    """The scopes the IMAP and SMTP logins need from `[oauth2]`'s provider."""
    oauth = _section(config)
    if oauth.provider == "microsoft":
        return MICROSOFT_MAIL_SCOPES
    if oauth.provider == "google":
        return GOOGLE_MAIL_SCOPES
    return oauth.scopes


def token_source(
    config: Config,
    clock: Clock,
    scopes: Sequence[str],
    *,
    on_new_token: Callable[[dt.datetime], None] | None = None,
) -> CachedTokenSource:
    """A token source for `scopes` from the `[oauth2]` section (secrets are read now, so an
    unreadable file is a ConfigError before any login is tried)."""
    oauth = _section(config)
    scopes = tuple(scopes)
    fetch: Fetch
    known: list[str] = []
    if oauth.provider == "microsoft":
        fetch, known = _microsoft(oauth, scopes)
    elif oauth.provider == "google":
        fetch, known = _google(oauth, scopes, subject=config.mailbox.username, clock=clock)
    else:
        fetch, known = _generic(oauth, scopes)
    return CachedTokenSource(
        fetch,
        clock,
        describe=f"OAuth2 token ({oauth.provider})",
        on_new_token=on_new_token,
        scrub=lambda text: scrub(text, known),
    )


def _section(config: Config) -> OAuth2Config:
    if config.oauth2 is None:
        raise ConfigError("[oauth2]: required when mailbox.auth or smtp.auth is 'oauth2'")
    return config.oauth2


def read_secret_file(path: Path, key: str) -> Secret:
    try:
        return Secret(path.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"oauth2.{key}: cannot read ({reason})") from None


def _requests_session(oauth: OAuth2Config) -> Any:
    """A requests session that verifies against `ca_file` when one is configured.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override a
    session's `verify`; only a per-request `verify` wins over them. Without this, a
    configured `ca_file` would be silently ignored on many hosts (it was on this one).
    """
    import requests

    ca_file = str(oauth.ca_file) if oauth.ca_file else None

    class Session(requests.Session):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            if ca_file is not None and kwargs.get("verify") in (None, True):
                kwargs["verify"] = ca_file
            return super().request(method, url, *args, **kwargs)

    session = Session()
    if ca_file is not None:
        session.verify = ca_file
    return session


# -- generic: RFC 6749 §4.4 with httpx -------------------------------------------------------


def _generic(oauth: OAuth2Config, scopes: tuple[str, ...]) -> tuple[Fetch, list[str]]:
    import httpx

    assert oauth.token_url is not None and oauth.client_secret_file is not None
    secret_file = oauth.client_secret_file
    known: list[str] = []
    _remember(known, read_secret_file(secret_file, "client_secret_file"))
    token_url, client_id = oauth.token_url, oauth.client_id
    verify = ssl.create_default_context(cafile=str(oauth.ca_file) if oauth.ca_file else None)

    def fetch() -> Issued:
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = " ".join(scopes)
        # RFC 6749 §2.3.1: HTTP Basic with the form-encoded id and secret, which every
        # server must support.
        # Read at every request: an administrator who rotates the secret fixes the file,
        # and the daemon heals without a restart.
        secret = _read_for_fetch(secret_file, known)
        auth = httpx.BasicAuth(_form_quote(client_id), _form_quote(secret.reveal()))
        try:
            with httpx.Client(verify=verify, timeout=HTTP_TIMEOUT_SECONDS) as client:
                response = client.post(token_url, data=form, auth=auth)
        except httpx.HTTPError as exc:
            raise TokenError(
                f"token endpoint {token_url} unreachable: {_short(exc)}", kind="unreachable"
            ) from None
        return _issued_from_response(response.status_code, response.text, token_url)

    return fetch, known


def _remember(known: list[str], secret: Secret) -> Secret:
    """Keep `secret` on the list of texts scrubbed from every message (the old one too)."""
    if secret.reveal() not in known:
        known.append(secret.reveal())
    return secret


def _read_for_fetch(path: Path, known: list[str]) -> Secret:
    try:
        return _remember(known, read_secret_file(path, "client_secret_file"))
    except ConfigError as exc:
        raise TokenError(str(exc), kind="refused") from None


def _form_quote(value: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(value)


def _issued_from_response(status: int, body: str, where: str) -> Issued:
    """A token from an RFC 6749 §5.1 answer, or the §5.2 error as a TokenError."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if status >= 500 or (status >= 400 and not isinstance(data, dict)):
        raise TokenError(f"token endpoint {where} answered HTTP {status}", kind="unreachable")
    if not isinstance(data, dict):
        raise TokenError(f"token endpoint {where} sent no JSON object", kind="invalid")
    if status >= 400 or "error" in data:
        raise TokenError(_refusal(data, where), kind="refused")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError(f"token endpoint {where} sent no access_token", kind="invalid")
    if str(data.get("token_type", "bearer")).lower() != "bearer":
        raise TokenError(f"token endpoint {where}: token_type is not Bearer", kind="invalid")
    return Issued(Secret(token), _lifetime(data.get("expires_in")))


def _refusal(data: dict[str, Any], where: str) -> str:
    error = str(data.get("error", "error"))
    description = str(data.get("error_description") or "").strip()
    hint = REFUSAL_HINTS.get(error, "")
    text = f"token endpoint {where} refused: {error}"
    if description:
        text += f" ({description.splitlines()[0][:120]})"
    return text + (f"; {hint}" if hint else "")


# What an administrator does about each RFC 6749 §5.2 error (and the Entra ID ones).
REFUSAL_HINTS = {
    "invalid_client": "check oauth2.client_id and the client secret or certificate",
    "unauthorized_client": "the application may not use this grant; check its registration",
    "invalid_scope": "the scope is not granted to the application",
    "consent_required": "an administrator must grant admin consent to the application",
    "invalid_grant": "the grant was refused; check the delegation and the mailbox user",
}


def _lifetime(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return float(DEFAULT_LIFETIME_SECONDS)
    return seconds if seconds > 0 else float(DEFAULT_LIFETIME_SECONDS)


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


# -- Microsoft Entra ID: msal ConfidentialClientApplication ----------------------------------


@dataclass(frozen=True)
class CertificateInfo:
    thumbprint_sha1: str
    not_after: dt.datetime
    subject: str


def load_certificate(path: Path) -> tuple[Secret, str, CertificateInfo]:
    """The private key (PEM), the certificate (PEM) and its facts from one PEM file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"oauth2.certificate_file: cannot read ({exc.strerror})") from None
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ConfigError("oauth2.certificate_file: no PEM certificate in it") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            "oauth2.certificate_file: no unencrypted PEM private key in it (the file must "
            "hold the certificate and its key)"
        ) from None
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    info = CertificateInfo(
        thumbprint_sha1=hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        not_after=cert.not_valid_after_utc,
        subject=cert.subject.rfc4514_string(),
    )
    return Secret(key_pem), cert_pem, info


def _microsoft(oauth: OAuth2Config, scopes: tuple[str, ...]) -> tuple[Fetch, list[str]]:
    import msal
    import requests

    authority = f"{(oauth.authority or MICROSOFT_AUTHORITY).rstrip('/')}/{oauth.tenant_id}"
    known: list[str] = []
    make_credential: Callable[[], Any]
    if oauth.certificate_file is not None:
        certificate_file = oauth.certificate_file
        _remember(known, load_certificate(certificate_file)[0])

        def make_credential() -> dict[str, str]:
            # Read at every request: a renewed certificate is used without a restart.
            try:
                key, cert_pem, info = load_certificate(certificate_file)
            except ConfigError as exc:
                raise TokenError(str(exc), kind="refused") from None
            _remember(known, key)
            return {
                "private_key": key.reveal(),
                "thumbprint": info.thumbprint_sha1,
                # Sent as x5c: lets Entra ID accept a renewed certificate (subject name/issuer
                # authentication) without another upload.
                "public_certificate": cert_pem,
            }

    else:
        assert oauth.client_secret_file is not None
        secret_file = oauth.client_secret_file
        _remember(known, read_secret_file(secret_file, "client_secret_file"))

        def make_credential() -> str:
            return _read_for_fetch(secret_file, known).reveal()

    def fetch() -> Issued:
        client_credential = make_credential()
        session = _requests_session(oauth)
        try:
            # A new application each time: msal keeps its own token cache and would hand back
            # the token we are replacing (after a refused login, that is the revoked one).
            app = msal.ConfidentialClientApplication(
                oauth.client_id,
                client_credential=client_credential,
                authority=authority,
                http_client=session,
                timeout=HTTP_TIMEOUT_SECONDS,
                instance_discovery=oauth.authority is None,
                token_cache=msal.TokenCache(),
            )
            result = app.acquire_token_for_client(scopes=list(scopes))
        except requests.RequestException as exc:
            raise TokenError(
                f"token endpoint {authority} unreachable: {_requests_reason(exc)}",
                kind="unreachable",
            ) from None
        except (ValueError, RuntimeError) as exc:
            # msal raises ValueError for a tenant it cannot discover, among others.
            raise TokenError(
                f"token endpoint {authority}: {scrub(str(exc), known)}", kind="refused"
            ) from None
        finally:
            session.close()
        if not isinstance(result, dict):
            raise TokenError(f"token endpoint {authority} sent no answer", kind="invalid")
        if "access_token" not in result:
            raise TokenError(_microsoft_refusal(result, authority), kind="refused")
        return Issued(Secret(str(result["access_token"])), _lifetime(result.get("expires_in")))

    return fetch, known


# Entra ID's AADSTS codes that say what the administrator has to do.
AADSTS_HINTS = {
    7000215: "invalid client secret",
    7000222: "the client secret has expired",
    700027: "the certificate is not registered with the application (or has expired)",
    700016: "no application with this client_id in the tenant",
    90002: "no such tenant (tenant_id)",
    65001: "admin consent for the API permissions is missing",
    500011: "the Exchange Online resource is not known to the tenant",
    1002012: "the scope is not valid for the client-credentials flow (use .default)",
}


def _microsoft_refusal(result: dict[str, Any], where: str) -> str:
    error = str(result.get("error", "error"))
    codes = [c for c in result.get("error_codes") or [] if isinstance(c, int)]
    hint = next((AADSTS_HINTS[c] for c in codes if c in AADSTS_HINTS), "")
    hint = hint or REFUSAL_HINTS.get(error, "")
    code_text = f" AADSTS{codes[0]}" if codes else ""
    return f"token endpoint {where} refused: {error}{code_text}" + (f"; {hint}" if hint else "")


def _requests_reason(exc: BaseException) -> str:
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS certificate not trusted or TLS failed"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


# -- Google Workspace: service account with domain-wide delegation ---------------------------


def _google(
    oauth: OAuth2Config, scopes: tuple[str, ...], *, subject: str, clock: Clock
) -> tuple[Fetch, list[str]]:
    import google.auth.exceptions
    import google.auth.transport.requests
    from google.oauth2 import service_account

    assert oauth.service_account_file is not None
    try:
        info = json.loads(oauth.service_account_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"oauth2.service_account_file: cannot read ({exc.strerror})") from None
    except ValueError:
        raise ConfigError("oauth2.service_account_file: not a JSON key file") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError("oauth2.service_account_file: not a service account key (JSON)")
    known = [str(info.get("private_key", "")), str(info.get("private_key_id", ""))]
    try:
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=list(scopes), subject=subject
        )
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"oauth2.service_account_file: unusable key ({scrub(str(exc), known)})"
        ) from None
    token_uri = str(info.get("token_uri", ""))
    # The signed assertion goes there: the same rule as for a generic token_url.
    check_token_url(token_uri, "oauth2.service_account_file: its token_uri")
    del info

    def fetch() -> Issued:
        session = _requests_session(oauth)
        request = google.auth.transport.requests.Request(session)
        before = clock()
        try:
            credentials.refresh(request)
        except google.auth.exceptions.TransportError as exc:
            raise TokenError(
                f"token endpoint {token_uri} unreachable: {scrub(_short(exc), known)}",
                kind="unreachable",
            ) from None
        except google.auth.exceptions.RefreshError as exc:
            raise TokenError(_google_refusal(exc, token_uri, known), kind="refused") from None
        finally:
            session.close()
        token = credentials.token
        if not token:
            raise TokenError(f"token endpoint {token_uri} sent no access_token", kind="invalid")
        expiry = credentials.expiry
        lifetime = float(DEFAULT_LIFETIME_SECONDS)
        if expiry is not None:
            # google-auth keeps expiry as naive UTC, already shortened by its own margin.
            lifetime = (expiry.replace(tzinfo=dt.UTC) - before).total_seconds()
        return Issued(Secret(str(token)), lifetime)

    return fetch, known


def _google_refusal(exc: BaseException, where: str, known: list[str]) -> str:
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    error = str(data.get("error") or "refused")
    hint = {
        "unauthorized_client": "domain-wide delegation for this client and scope is not "
        "set up in the Admin console",
        "invalid_grant": "the mailbox user is unknown or the key was revoked",
        "access_denied": "the mailbox user may not use this scope",
    }.get(error, "")
    text = f"token endpoint {where} refused: {error}"
    return scrub(text + (f"; {hint}" if hint else ""), known)


# -- SASL XOAUTH2 ------------------------------------------------------------------------------


def xoauth2_string(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64), as Google and Microsoft define it."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def xoauth2_b64(user: str, token: str) -> str:
    return base64.b64encode(xoauth2_string(user, token).encode()).decode("ascii")
