"""A Maildir as a mail source: the demo's spool, and hosts whose MTA delivers locally.

Messages are read from `new/` and `cur/`; the key is the Maildir unique name (the file name
without its `:2,` flags), which never changes while the file lives. Filing renames the file
into a Maildir++ subfolder (`.Processed/cur/`), an atomic step on one file system, so a
message is always in exactly one place.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from mailtriage.mailbox.base import FetchedMessage, Fingerprint, MailboxError, MessageKey

log = logging.getLogger(__name__)

SUBDIRS = ("tmp", "new", "cur")


def unique_name(filename: str) -> str:
    return filename.split(":", 1)[0]


def ensure_maildir(path: Path) -> None:
    for sub in SUBDIRS:
        (path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)


class MaildirMailbox:
    def __init__(self, path: Path, processed_folder: str, quarantine_folder: str) -> None:
        self.path = path
        self.processed_folder = processed_folder
        self.quarantine_folder = quarantine_folder
        self.source = f"maildir:{path.resolve()}"
        # unique name -> current file path, filled by fetch_new for the files it yielded
        self._where: dict[str, Path] = {}

    def fetch_new(self) -> Iterator[FetchedMessage]:
        if not (self.path / "new").is_dir() or not (self.path / "cur").is_dir():
            raise MailboxError(f"{self.path} is not a Maildir (no new/ and cur/)")
        entries: list[tuple[str, Path]] = []
        for sub in ("new", "cur"):
            for entry in os.scandir(self.path / sub):
                if entry.is_file() and not entry.name.startswith("."):
                    entries.append((unique_name(entry.name), Path(entry.path)))
        entries.sort()
        for name, file_path in entries:
            try:
                raw = file_path.read_bytes()
                mtime = file_path.stat().st_mtime
            except FileNotFoundError:
                continue  # another reader filed it meanwhile
            except OSError as exc:
                raise MailboxError(f"cannot read a Maildir file: {exc.strerror}") from exc
            self._where[name] = file_path
            arrived = dt.datetime.fromtimestamp(mtime, dt.UTC)
            yield FetchedMessage(MessageKey(self.source, 0, name), raw, arrived_at=arrived)

    def file_processed(self, keys: list[MessageKey]) -> None:
        self._move(keys, self.processed_folder)

    def file_quarantined(self, keys: list[MessageKey]) -> None:
        self._move(keys, self.quarantine_folder)

    def _move(self, keys: list[MessageKey], folder: str) -> None:
        target = self.path / f".{folder}"
        try:
            ensure_maildir(target)
            for key in keys:
                current = self._where.pop(key.uid, None)
                if current is None or not current.exists():
                    continue
                name = current.name if ":" in current.name else f"{current.name}:2,"
                os.rename(current, target / "cur" / name)
        except OSError as exc:
            raise MailboxError(f"cannot file into Maildir folder {folder}: {exc.strerror}") from exc

    def check(self) -> None:
        """For `mailtriage check`: the spool must be a Maildir we can read."""
        for sub in ("new", "cur"):
            if not os.access(self.path / sub, os.R_OK | os.X_OK):
                raise MailboxError(f"{self.path} is not a readable Maildir (no {sub}/)")

    def expunge(self, fingerprints: Iterable[Fingerprint], keys: Iterable[MessageKey]) -> int:
        """Delete the files of `keys` from the spool and its folders (for the purge): a
        Maildir file keeps its unique name wherever it is filed, so the key finds it."""
        names = {k.uid for k in keys if k.source == self.source}
        removed = 0
        folders = [
            self.path,
            self.path / f".{self.processed_folder}",
            self.path / f".{self.quarantine_folder}",
        ]
        try:
            for folder in folders:
                for sub in ("new", "cur"):
                    directory = folder / sub
                    if not directory.is_dir():
                        continue
                    for entry in os.scandir(directory):
                        if unique_name(entry.name) in names:
                            os.unlink(entry.path)
                            removed += 1
        except OSError as exc:
            raise MailboxError(f"cannot erase from the Maildir: {exc.strerror}") from exc
        return removed

    def close(self) -> None:
        self._where.clear()
