"""A local OAuth2 authorization server: the stand-in for Entra ID, Google and any IdP.

No real identity provider can run offline, so the integration tests talk to this one. It
follows the documented protocols, not any vendor's quirks:
- token endpoint (RFC 6749 §4.4 client credentials; client authentication by HTTP Basic or
  form fields, §2.3.1, or by a signed JWT client assertion, RFC 7523 §2.2, as msal sends it for
  a certificate), and the JWT bearer grant (RFC 7523 §2.1) that Google's service accounts use;
  answers per §5.1 (token) and §5.2 (error JSON);
- an OpenID configuration document (`.../v2.0/.well-known/openid-configuration`), which msal
  reads before asking for a token;
- token introspection (RFC 7662) for Dovecot's `oauth2` passdb and the test SMTP server, on a
  port of its own: `down()` takes the token endpoint away while the mail servers can still
  check tokens, as when Entra ID's login service fails and Exchange does not.

Tokens are random, opaque and short-lived (`lifetime` seconds). A test can switch the server
to `down()` (the port refuses connections), `revoke_all()`, `rotate_secret()` (the client's
secret becomes wrong) or `refuse_with(error)` (e.g. consent missing), and read every token
it issued (`issued`) to prove none of them leaked into a log.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support.dovecot import free_port

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class IssuedToken:
    value: str
    subject: str
    scope: str
    expires: float  # time.monotonic()
    revoked: bool = False


@dataclass
class Client:
    client_id: str
    secret: str | None = None
    # A certificate's public key (msal's client assertion) or a service account's key.
    public_key: Any = None
    # The mailbox user the client's tokens are for (client credentials carry no user).
    subject: str = ""
    scopes: tuple[str, ...] = ()


@dataclass
class TokenServer:
    """`with TokenServer(lifetime=20) as idp: ...`; register clients with `add_client`."""

    lifetime: int = 20
    tls_dir: Path | None = None  # with it: serve https with a test CA written there
    clients: dict[str, Client] = field(default_factory=dict)
    issued: list[IssuedToken] = field(default_factory=list)
    requests: int = 0
    refusal: str | None = None
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    introspection_port: int = field(default_factory=free_port)
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._introspection: ThreadingHTTPServer | None = None
        self._context: ssl.SSLContext | None = None
        if self.tls_dir is not None:
            self._context = self._make_tls(self.tls_dir)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        scheme = "https" if self._context else "http"
        host = "localhost" if self._context else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://{self.host}:{self.introspection_port}/introspect"

    def start(self) -> None:
        """Start the token endpoint (and, the first time, the introspection endpoint)."""
        self._httpd = self._serve(self.port, self._context)
        if self._introspection is None:
            self._introspection = self._serve(self.introspection_port, None)

    def _serve(self, port: int, context: ssl.SSLContext | None) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, port), _handler_for(self))
        server.daemon_threads = True
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def down(self) -> None:
        """The token endpoint stops answering: its port refuses connections until
        `start()`. Introspection goes on."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> TokenServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
        introspection, self._introspection = self._introspection, None
        if introspection is not None:
            introspection.shutdown()
            introspection.server_close()

    # -- what a test changes -----------------------------------------------------------------

    def add_client(self, client: Client) -> Client:
        self.clients[client.client_id] = client
        return client

    def revoke_all(self) -> None:
        with self._lock:
            for token in self.issued:
                token.revoked = True

    def rotate_secret(self, client_id: str) -> str:
        """The administrator made a new secret: the one the daemon has is now wrong."""
        new = "rotated-" + secrets.token_urlsafe(18)
        self.clients[client_id].secret = new
        return new

    def refuse_with(self, error: str | None) -> None:
        """Answer every token request with this RFC 6749 §5.2 error (None: stop)."""
        self.refusal = error

    def token_values(self) -> list[str]:
        with self._lock:
            return [t.value for t in self.issued]

    # -- the protocol ------------------------------------------------------------------------

    def _token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict]:
        with self._lock:
            self.requests += 1
        if self.refusal is not None:
            return 400, {"error": self.refusal, "error_description": "refused by the test"}
        grant = form.get("grant_type")
        if grant == JWT_BEARER_GRANT:
            return self._jwt_bearer(form)
        if grant != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        client = self._authenticate(form, authorization)
        if client is None:
            return 401, {
                "error": "invalid_client",
                "error_description": "client authentication failed",
            }
        wanted = tuple(form.get("scope", "").split())
        if client.scopes and not set(wanted) <= set(client.scopes):
            return 400, {"error": "invalid_scope"}
        return 200, self._issue(client.subject, " ".join(wanted))

    def _authenticate(self, form: dict[str, str], authorization: str | None) -> Client | None:
        if authorization and authorization.lower().startswith("basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            client = self.clients.get(unquote_plus(client_id))
            ok = client is not None and client.secret == unquote_plus(secret)
            return client if ok else None
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            return None
        if "client_secret" in form:
            return (
                client
                if client.secret is not None and form["client_secret"] == client.secret
                else None
            )
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE and client.public_key:
            try:
                claims = jwt.decode(
                    form.get("client_assertion", ""),
                    client.public_key,
                    algorithms=["RS256", "PS256", "ES256"],
                    options={"verify_aud": False},
                )
            except jwt.PyJWTError:
                return None
            ok = claims.get("iss") == client.client_id == claims.get("sub")
            return client if ok else None
        return None

    def _jwt_bearer(self, form: dict[str, str]) -> tuple[int, dict]:
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant"}
        client = self.clients.get(str(unverified.get("iss")))
        if client is None or client.public_key is None:
            return 401, {"error": "invalid_client"}
        try:
            claims = jwt.decode(
                assertion, client.public_key, algorithms=["RS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "bad signature"}
        subject = str(claims.get("sub") or "")
        if client.subject and subject != client.subject:
            return 401, {"error": "unauthorized_client"}
        return 200, self._issue(subject, str(claims.get("scope", "")))

    def _issue(self, subject: str, scope: str) -> dict:
        value = "at-" + secrets.token_urlsafe(24)
        with self._lock:
            self.issued.append(IssuedToken(value, subject, scope, time.monotonic() + self.lifetime))
        return {
            "access_token": value,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": scope,
        }

    def introspect(self, token: str) -> dict:
        """RFC 7662 §2.2: `active` and, for an active token, who it is for. (`exp` is left
        out, as the RFC allows: Dovecot runs on the real clock while `make test` fakes this
        process's, and the stand-in itself decides when a token has run out.)"""
        with self._lock:
            found = next((t for t in self.issued if t.value == token), None)
            if found is None or found.revoked or time.monotonic() >= found.expires:
                return {"active": False}
        return {
            "active": True,
            "email": found.subject,
            "sub": found.subject,
            "username": found.subject,
            "scope": found.scope,
            "token_type": "Bearer",
        }

    def openid_configuration(self, tenant_path: str) -> dict:
        base = f"{self.base_url}{tenant_path}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "client_secret_basic",
                "private_key_jwt",
            ],
        }

    # -- TLS ---------------------------------------------------------------------------------

    def _make_tls(self, directory: Path) -> ssl.SSLContext:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailtriage test IdP CA")])
        now = dt.datetime.now(dt.UTC)
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        import ipaddress

        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "idp-ca.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        cert_file, key_file = directory / "idp.pem", directory / "idp.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context


def _handler_for(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.endswith("/v2.0/.well-known/openid-configuration"):
                tenant = self.path.removesuffix("/v2.0/.well-known/openid-configuration")
                self._send(200, server.openid_configuration(tenant))
                return
            self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            if self.path.endswith("/token"):
                status, body = server._token(form, self.headers.get("Authorization"))
                self._send(status, body)
            elif self.path == "/introspect":
                self._send(200, server.introspect(form.get("token", "")))
            else:
                self._send(404, {"error": "not_found"})

    return Handler


def make_client_certificate(directory: Path, *, days: int = 365) -> tuple[Path, Any]:
    """A self-signed certificate with its RSA key in one PEM file, as an administrator
    uploads it to an Entra ID app registration; returns the file and the public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailtriage security desk")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    path = directory / "entra-app.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path, key.public_key()


def make_service_account(directory: Path, token_uri: str) -> tuple[Path, Any, str]:
    """A Google service account JSON key (the shape the Cloud console downloads)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    email = "mailtriage@desk-project.iam.gserviceaccount.example.test"
    info = {
        "type": "service_account",
        "project_id": "desk-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": "104200000000000000001",
        "token_uri": token_uri,
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(info))
    return path, key.public_key(), email


def http_introspection(url: str) -> Callable[[str], dict[str, Any]]:
    """An RFC 7662 introspection call over HTTP, for the test SMTP server: a token the
    endpoint cannot be asked about counts as not active."""
    import httpx

    def call(token: str) -> dict[str, Any]:
        try:
            answer = httpx.post(url, data={"token": token}, timeout=5, verify=False).json()
        except (httpx.HTTPError, ValueError):
            return {"active": False}
        return answer if isinstance(answer, dict) else {"active": False}

    return call
