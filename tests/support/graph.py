"""A local stand-in for Microsoft Graph's mail API: one mailbox, in memory, over HTTP.

No real Graph can run offline, so the integration tests talk to this instead. It follows the
documented request and response shapes of the calls mailtriage makes, and the behaviours
that decide whether a client is correct:

- `GET /users/{id}/mailFolders[/{id}/childFolders]?$filter=displayName eq '…'`, `GET
  /mailFolders/{id}`, `POST /mailFolders` (201, or 409 ErrorFolderExists), with the
  well-known names (`inbox`, `sentitems`, …) accepted wherever a folder id is;
- `GET /mailFolders/{id}/messages?$select=…&$top=…&$orderby=receivedDateTime asc`, paged with
  an absolute `@odata.nextLink` (`$skip`), returning only the `$select`ed properties;
- `GET /messages/{id}/$value`: the MIME, `text/plain`;
- `POST /messages/{id}/move` with `{"destinationId": …}`: 201 and the moved message. Like
  Exchange, a move gives the message a NEW regular id; its immutable id stays. Which one a
  response and a URL use depends on `Prefer: IdType="ImmutableId"` on that request;
- `POST /sendMail` with the base64 MIME as `text/plain`: 202, and a copy in Sent Items;
  400 for content that is not base64;
- `POST /messages/{id}/permanentDelete`: 204;
- a bearer token checked on every request (401 InvalidAuthenticationToken otherwise);
- throttling on demand: 429 with `Retry-After`, as Graph sends it.

Switches for the tests: `throttle(n, seconds)`, `page_limit` (Graph may return fewer items
than `$top` asks), `fail_moves` (503), `hold_moves` (a move blocks until released, so a test
can kill the client in the middle), `send_error` (sendMail refuses), `accepted_tokens`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

API = "/v1.0"
IMMUTABLE = 'IdType="ImmutableId"'
# well-known name -> display name (an English-language mailbox)
WELL_KNOWN = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "drafts": "Drafts",
    "junkemail": "Junk Email",
    "archive": "Archive",
}
ROOT = "msgfolderroot"


@dataclass
class StoredMail:
    immutable_id: str
    regular_id: str
    folder_id: str
    mime: bytes
    received: dt.datetime


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    immutable: bool
    status: int


@dataclass
class Sent:
    mime: bytes
    content_type: str


@dataclass
class _State:
    folders: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> name, parent
    mails: dict[str, StoredMail] = field(default_factory=dict)  # immutable id -> mail
    calls: list[Call] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)


class GraphStandIn:
    """The mailbox `user`, served at http://127.0.0.1:PORT/v1.0."""

    def __init__(self, user: str = "security@example.nl") -> None:
        self.user = user
        self.lock = threading.Lock()
        self.state = _State()
        self._ids = itertools.count(1)
        for wk, name in WELL_KNOWN.items():
            self.state.folders[self._new_id("fld")] = {"name": name, "parent": ROOT, "wk": wk}
        self.accepted_tokens: set[str] = {"token-1"}
        self.page_limit = 1000
        self.fail_moves = False
        # (status, Graph error code) sendMail answers with instead of 202, while set
        self.send_error: tuple[int, str] | None = None
        self.hold_moves = threading.Event()  # set: moves wait until `release_moves`
        self.move_requested = threading.Event()
        self._moves_released = threading.Event()
        self._throttle_left = 0
        self._throttle_seconds = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> GraphStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._moves_released.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API}"

    def mailbox_section(self) -> dict[str, Any]:
        return {"source": "graph", "username": self.user, "graph_url": self.url}

    # -- test switches -----------------------------------------------------------------

    def throttle(self, requests: int, retry_after_seconds: int) -> None:
        """The next `requests` requests get 429 with `Retry-After: retry_after_seconds`."""
        with self.lock:
            self._throttle_left = requests
            self._throttle_seconds = retry_after_seconds

    def release_moves(self) -> None:
        self.hold_moves.clear()
        self._moves_released.set()

    # -- the mailbox as a test sees it -------------------------------------------------

    def deliver(self, mime: bytes, received: dt.datetime, folder: str = "inbox") -> str:
        """Put a message into `folder` as the mail server would; returns its immutable id."""
        with self.lock:
            mail = StoredMail(
                immutable_id=self._new_id("imm"),
                regular_id=self._new_id("reg"),
                folder_id=self._folder_id(folder) or "",
                mime=mime,
                received=received.astimezone(dt.UTC),
            )
            self.state.mails[mail.immutable_id] = mail
            return mail.immutable_id

    def in_folder(self, name: str) -> list[StoredMail]:
        """The messages in the folder with this display or well-known name, oldest first."""
        with self.lock:
            folder_id = self._folder_id(name)
            found = [m for m in self.state.mails.values() if m.folder_id == folder_id]
        return sorted(found, key=lambda m: (m.received, m.immutable_id))

    def folder_names(self) -> set[str]:
        with self.lock:
            return {f["name"] for f in self.state.folders.values()}

    @property
    def sent(self) -> list[Sent]:
        with self.lock:
            return list(self.state.sent)

    @property
    def calls(self) -> list[Call]:
        with self.lock:
            return list(self.state.calls)

    # -- internals (called with the lock held) -----------------------------------------

    def _new_id(self, kind: str) -> str:
        # Real ids are long base64 strings with '-', '_' and sometimes '/', '+', '='.
        return f"AAMk{kind}-{next(self._ids):04d}=="

    def _folder_id(self, ref: str) -> str | None:
        if ref in self.state.folders:
            return ref
        for folder_id, folder in self.state.folders.items():
            if folder.get("wk") == ref.lower():
                return folder_id
        for folder_id, folder in self.state.folders.items():
            if folder["name"].lower() == ref.lower():
                return folder_id
        return None

    def _mail(self, ref: str, immutable: bool) -> StoredMail | None:
        for mail in self.state.mails.values():
            if (mail.immutable_id if immutable else mail.regular_id) == ref:
                return mail
        return None


def _handler(standin: GraphStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Buffered: the head and the body leave in one segment (flushed after each request),
        # not in two writes that Nagle and delayed ACKs hold up by 40 ms each.
        wbufsize = 1 << 16

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        # -- plumbing ----------------------------------------------------------------

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            immutable = IMMUTABLE in self.headers.get("Prefer", "")
            status, headers, payload = self._route(method, parts.path, query, body, immutable)
            with standin.lock:
                standin.state.calls.append(Call(method, parts.path, query, immutable, status))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _route(
            self, method: str, path: str, query: dict[str, list[str]], body: bytes, imm: bool
        ) -> tuple[int, dict[str, str], bytes]:
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            if token not in standin.accepted_tokens:
                return _error(401, "InvalidAuthenticationToken", "Access token is invalid.")
            with standin.lock:
                if standin._throttle_left > 0:
                    standin._throttle_left -= 1
                    status, headers, payload = _error(429, "TooManyRequests", "Throttled.")
                    headers["Retry-After"] = str(standin._throttle_seconds)
                    return status, headers, payload
            prefix = f"{API}/users/"
            if not path.startswith(prefix):
                return _error(400, "BadRequest", "Unsupported path.")
            user, _, rest = path[len(prefix) :].partition("/")
            if unquote(user).lower() != standin.user.lower():
                return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
            segments = [unquote(s) for s in rest.split("/")]
            if method == "POST" and segments[-1] == "move" and segments[0] == "messages":
                return self._move(segments[1], body, imm)
            with standin.lock:
                return self._locked(method, segments, query, body, imm)

        def _locked(
            self,
            method: str,
            seg: list[str],
            query: dict[str, list[str]],
            body: bytes,
            imm: bool,
        ) -> tuple[int, dict[str, str], bytes]:
            state = standin.state
            if seg == ["sendMail"] and method == "POST":
                return self._send_mail(body)
            if seg[0] == "mailFolders":
                if len(seg) == 1 or (len(seg) == 3 and seg[2] == "childFolders"):
                    parent = ROOT if len(seg) == 1 else standin._folder_id(seg[1])
                    if parent is None:
                        return _error(404, "ErrorItemNotFound", "Folder not found.")
                    if method == "POST":
                        return self._create_folder(parent, body)
                    return self._list_folders(parent, query)
                folder_id = standin._folder_id(seg[1])
                if folder_id is None:
                    return _error(404, "ErrorItemNotFound", "Folder not found.")
                if len(seg) == 2:
                    return _json(200, _folder_json(folder_id, state.folders[folder_id]))
                if len(seg) == 3 and seg[2] == "messages" and method == "GET":
                    return self._list_messages(folder_id, query, imm)
            if seg[0] == "messages" and len(seg) == 3:
                mail = standin._mail(seg[1], imm)
                if mail is None:
                    return _error(404, "ErrorItemNotFound", "The specified object was not found.")
                if seg[2] == "$value" and method == "GET":
                    return 200, {"Content-Type": "text/plain"}, mail.mime
                if seg[2] == "permanentDelete" and method == "POST":
                    del state.mails[mail.immutable_id]
                    return 204, {}, b""
            return _error(400, "BadRequest", "Unsupported request.")

        # -- the calls -----------------------------------------------------------------

        def _list_folders(
            self, parent: str, query: dict[str, list[str]]
        ) -> tuple[int, dict[str, str], bytes]:
            wanted = None
            for expression in query.get("$filter", []):
                prefix = "displayName eq '"
                if not (expression.startswith(prefix) and expression.endswith("'")):
                    return _error(400, "ErrorInvalidUrlQueryFilter", "Unsupported filter.")
                wanted = expression[len(prefix) : -1].replace("''", "'")
            found = [
                _folder_json(fid, f)
                for fid, f in standin.state.folders.items()
                if f["parent"] == parent and (wanted is None or f["name"].lower() == wanted.lower())
            ]
            return _json(200, {"value": found})

        def _create_folder(self, parent: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
            name = json.loads(body or b"{}").get("displayName")
            if not isinstance(name, str) or not name:
                return _error(400, "ErrorInvalidRequest", "displayName is required.")
            for f in standin.state.folders.values():
                if f["parent"] == parent and f["name"].lower() == name.lower():
                    return _error(409, "ErrorFolderExists", "A folder with that name exists.")
            folder_id = standin._new_id("fld")
            standin.state.folders[folder_id] = {"name": name, "parent": parent}
            return _json(201, _folder_json(folder_id, standin.state.folders[folder_id]))

        def _list_messages(
            self, folder_id: str, query: dict[str, list[str]], imm: bool
        ) -> tuple[int, dict[str, str], bytes]:
            select = (query.get("$select") or [""])[0].split(",")
            top = int((query.get("$top") or ["10"])[0])
            skip = int((query.get("$skip") or ["0"])[0])
            if top > 1000:
                return _error(400, "ErrorInvalidArgument", "$top is at most 1000.")
            order = (query.get("$orderby") or ["receivedDateTime desc"])[0]
            mails = [m for m in standin.state.mails.values() if m.folder_id == folder_id]
            mails.sort(key=lambda m: (m.received, m.immutable_id), reverse=order.endswith("desc"))
            size = min(top, standin.page_limit)
            page = mails[skip : skip + size]
            values = []
            for mail in page:
                item: dict[str, Any] = {
                    "@odata.etag": f'W/"{mail.regular_id}"',
                    "id": mail.immutable_id if imm else mail.regular_id,
                }
                if "receivedDateTime" in select or select == [""]:
                    item["receivedDateTime"] = mail.received.strftime("%Y-%m-%dT%H:%M:%SZ")
                values.append(item)
            result: dict[str, Any] = {"value": values}
            if skip + size < len(mails):
                nxt = {k: v[0] for k, v in query.items()}
                nxt["$skip"] = str(skip + size)
                path = f"{API}/users/{quote(standin.user)}/mailFolders/{quote(folder_id)}/messages"
                result["@odata.nextLink"] = f"{standin.url.removesuffix(API)}{path}?" + urlencode(
                    nxt
                )
            return _json(200, result)

        def _move(self, ref: str, body: bytes, imm: bool) -> tuple[int, dict[str, str], bytes]:
            standin.move_requested.set()
            if standin.hold_moves.is_set():
                standin._moves_released.wait(timeout=30)
            if standin.fail_moves:
                return _error(503, "ServiceUnavailable", "Try again later.")
            with standin.lock:
                destination = json.loads(body or b"{}").get("destinationId")
                target = standin._folder_id(destination) if isinstance(destination, str) else None
                if target is None:
                    return _error(400, "ErrorInvalidIdMalformed", "Id is malformed.")
                mail = standin._mail(ref, imm)
                if mail is None:
                    return _error(404, "ErrorItemNotFound", "The specified object was not found.")
                mail.folder_id = target
                # Exchange copies the item into the folder: the regular id is a new one.
                mail.regular_id = standin._new_id("reg")
                return _json(
                    201,
                    {
                        "id": mail.immutable_id if imm else mail.regular_id,
                        "parentFolderId": target,
                    },
                )

        def _send_mail(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
            if standin.send_error is not None:
                status, code = standin.send_error
                return _error(status, code, "Refused by the test.")
            content_type = self.headers.get("Content-Type", "")
            if not content_type.startswith("text/plain"):
                return _error(400, "ErrorInvalidRequest", "Expected MIME as text/plain.")
            try:
                mime = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return _error(400, "ErrorMimeContentInvalidBase64String", "Invalid base64.")
            standin.state.sent.append(Sent(mime, content_type))
            sent_items = standin._folder_id("sentitems") or ""
            copy = StoredMail(
                standin._new_id("imm"), standin._new_id("reg"), sent_items, mime, _now()
            )
            standin.state.mails[copy.immutable_id] = copy
            return 202, {}, b""

    return Handler


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _folder_json(folder_id: str, folder: dict[str, str]) -> dict[str, Any]:
    return {"id": folder_id, "displayName": folder["name"], "parentFolderId": folder["parent"]}


def _json(status: int, value: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return _json(status, {"error": {"code": code, "message": message}})
