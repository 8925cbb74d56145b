"""The security@ mailbox through Microsoft Graph, for tenants that switched IMAP off.

It keeps the promises `ImapMailbox` keeps, in Graph's terms:
- a message is keyed by its immutable id (requested on every call, see `graphapi`), which
  Graph guarantees for as long as the message stays in the mailbox, moves between folders
  included; the regular id changes on every move and would make a filed message look new;
- reading changes nothing: the MIME comes from `GET /messages/{id}/$value`, which does not
  mark the message read;
- the folder is listed completely (ids and arrival times only, page by page through
  `@odata.nextLink`) before any message is fetched: the pipeline files one batch while it
  reads the next, and paging by offset over a folder that shrinks meanwhile would skip mail;
- filing is `POST /messages/{id}/move` after the store has committed; a crash before the move
  leaves the message in the folder, and the next pass finds its key already stored, so it is
  filed then, not stored twice. With immutable ids, moving again a message that was already
  moved is harmless;
- Processed and Quarantine are found by display name and created when missing, as the IMAP
  side creates its folders.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from mailtriage.mailbox.base import FetchedMessage, Fingerprint, MailboxError, MessageKey
from mailtriage.mailbox.graphapi import GraphClient, GraphError, segment

log = logging.getLogger(__name__)

# Messages per page when listing the folder; Graph allows up to 1000 for messages.
PAGE_SIZE = 100

# Graph's well-known folder names: they work whatever the mailbox's language, so `INBOX`
# (the IMAP default of `mailbox.folder`) means the inbox even when it is called "Postvak IN".
WELL_KNOWN_FOLDERS = frozenset(
    {
        "inbox",
        "archive",
        "deleteditems",
        "drafts",
        "junkemail",
        "sentitems",
        "outbox",
        "msgfolderroot",
    }
)


class GraphMailbox:
    """A `Mailbox` reading one Graph mail folder and filing messages into two others."""

    def __init__(
        self,
        client: GraphClient,
        folder: str,
        processed_folder: str,
        quarantine_folder: str,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._client = client
        self._folder = folder
        self._processed = processed_folder
        self._quarantine = quarantine_folder
        self._page_size = page_size
        # display path -> folder id, for the folders found or created so far
        self._folder_ids: dict[str, str] = {}
        self.source = graph_source(client.user, client.host, folder)

    def __repr__(self) -> str:
        return f"GraphMailbox({self.source!r})"

    # -- reading -----------------------------------------------------------------------

    def fetch_new(self) -> Iterator[FetchedMessage]:
        """Yield every message in the folder, oldest first, without changing any of them."""
        with _errors(f"reading folder {self._folder!r}"):
            folder_id = self._resolve(self._folder, create=False)
            listed = self._list(folder_id)
        log.debug("%s: %d messages waiting", self.source, len(listed))
        for message_id, arrived in listed:
            with _errors(f"fetching from {self._folder!r}"):
                raw = self._mime(message_id)
            if raw is None:
                # Gone between listing and fetching (someone moved or deleted it): it is no
                # longer in our folder and no longer ours to handle.
                log.debug("%s: a message vanished before it was fetched", self.source)
                continue
            yield FetchedMessage(MessageKey(self.source, 0, message_id), raw, arrived_at=arrived)

    def _list(self, folder_id: str) -> list[tuple[str, dt.datetime | None]]:
        params = {
            "$select": "id,receivedDateTime",
            "$top": str(self._page_size),
            "$orderby": "receivedDateTime asc",
        }
        found: list[tuple[str, dt.datetime | None]] = []
        seen: set[str] = set()
        for item in self._client.pages(f"/mailFolders/{segment(folder_id)}/messages", params):
            message_id = item.get("id")
            if not isinstance(message_id, str) or not message_id or message_id in seen:
                continue
            seen.add(message_id)
            found.append((message_id, _instant(item.get("receivedDateTime"))))
        return found

    def _mime(self, message_id: str) -> bytes | None:
        try:
            response = self._client.request("GET", f"/messages/{segment(message_id)}/$value")
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise
        return response.content

    # -- filing ------------------------------------------------------------------------

    def file_processed(self, keys: list[MessageKey]) -> None:
        self._file(keys, self._processed)

    def file_quarantined(self, keys: list[MessageKey]) -> None:
        self._file(keys, self._quarantine)

    def _file(self, keys: Iterable[MessageKey], target: str) -> None:
        ids = list(dict.fromkeys(k.uid for k in keys if k.source == self.source))
        if not ids:
            return
        moved = 0
        with _errors(f"moving messages to {target!r}"):
            target_id = self._resolve(target, create=True)
            for message_id in ids:
                try:
                    self._client.request(
                        "POST",
                        f"/messages/{segment(message_id)}/move",
                        json_body={"destinationId": target_id},
                        content_type="application/json",
                        expect=(200, 201),
                    )
                except GraphError as exc:
                    # Should the target folder have been deleted meanwhile, it is looked up
                    # (and made) again next time; a kept stale id would fail every move.
                    self._folder_ids.pop(target, None)
                    if exc.status != 404:
                        raise
                    # Deleted by someone else: nothing to file.
                    log.debug("%s: a message to file was no longer there", self.source)
                    continue
                moved += 1
        log.info("%s: filed %d messages into %r", self.source, moved, target)

    # -- folders -----------------------------------------------------------------------

    def _resolve(self, path: str, *, create: bool) -> str:
        """The id of the folder at `path` ("Processed", "Inbox/Security"), created when
        `create` and missing. A first segment that is a well-known name is used as is."""
        if path in self._folder_ids:
            return self._folder_ids[path]
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise MailboxError(f"Graph folder name {path!r} is empty")
        parent: str | None = None
        for index, name in enumerate(parts):
            if index == 0 and name.lower() in WELL_KNOWN_FOLDERS:
                parent = name.lower()
                continue
            parent = self._child(parent, name, create=create, path=path)
        assert parent is not None
        self._folder_ids[path] = parent
        return parent

    def _child(self, parent: str | None, name: str, *, create: bool, path: str) -> str:
        collection = (
            "/mailFolders" if parent is None else f"/mailFolders/{segment(parent)}/childFolders"
        )
        found = self._find(collection, name)
        if found is not None:
            return found
        if not create:
            raise MailboxError(f"Graph folder {path!r} does not exist in the mailbox")
        try:
            created = self._client.request(
                "POST",
                collection,
                json_body={"displayName": name},
                content_type="application/json",
                expect=(201,),
            )
        except GraphError as exc:
            # Another client created it meanwhile (409 ErrorFolderExists): use that one.
            again = self._find(collection, name) if exc.status == 409 else None
            if again is None:
                raise
            return again
        folder_id = created.json().get("id")
        if not isinstance(folder_id, str) or not folder_id:
            raise MailboxError(f"Graph created folder {name!r} but gave no id")
        log.info("%s: created folder %r", self.source, path)
        return folder_id

    def _find(self, collection: str, name: str) -> str | None:
        # OData string literal: a quote is doubled.
        literal = name.replace("'", "''")
        params = {"$filter": f"displayName eq '{literal}'", "$select": "id,displayName"}
        for folder in self._client.pages(collection, params):
            shown = folder.get("displayName")
            folder_id = folder.get("id")
            if (
                isinstance(shown, str)
                and shown.lower() == name.lower()
                and isinstance(folder_id, str)
            ):
                return folder_id
        return None

    # -- the rest of the protocol ------------------------------------------------------

    def check(self) -> None:
        """Get a token and open the folder, for `mailtriage check`; raises MailboxError."""
        with _errors(f"opening folder {self._folder!r}"):
            folder_id = self._resolve(self._folder, create=False)
            self._client.get_json(f"/mailFolders/{segment(folder_id)}", {"$select": "id"})

    def expunge(self, fingerprints: Iterable[Fingerprint], keys: Iterable[MessageKey]) -> int:
        """Erase these messages from the mailbox, for the purge; returns how many went.

        The immutable id follows a message into Processed and Quarantine, so the keys find
        it wherever filing put it; the fingerprints (what IMAP has to search by) are not
        needed. `permanentDelete` puts the message in the dumpster's Purges folder, which no
        mail client shows and Exchange empties after its retention; a plain DELETE would
        leave a copy in Deleted Items that anyone with the mailbox could still open.
        """
        del fingerprints
        ids = list(dict.fromkeys(k.uid for k in keys if k.source == self.source))
        removed = 0
        with _errors("erasing purged messages"):
            for message_id in ids:
                try:
                    self._client.request(
                        "POST",
                        f"/messages/{segment(message_id)}/permanentDelete",
                        expect=(200, 204),
                    )
                except GraphError as exc:
                    if exc.status == 404:
                        continue  # already gone
                    raise
                removed += 1
        return removed

    def close(self) -> None:
        self._client.close()


def graph_source(user: str, host: str, folder: str) -> str:
    """`graph://USER@HOST/FOLDER`, the mailbox's stable name in the store (as `imap_source`)."""
    return f"graph://{quote(user, safe='')}@{host.lower()}/{quote(folder, safe='')}"


def _instant(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class _errors:
    """Turn GraphError into MailboxError, whose one line the daemon logs and backs off on."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, GraphError):
            raise MailboxError(f"{self.action} failed: {exc.reason}") from exc
