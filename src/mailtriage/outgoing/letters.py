"""Turning a queued outbox row into the bytes that are sent.

Done at the first delivery attempt rather than at queue time: intake stays fast, the Date
header is the moment of sending, and a template fixed in the meantime applies to mail still
waiting. The row's kind (`mailkinds/`) rebuilds its typed payload from the case and the
stored message; report text shown to staff is masked there, because staff mailboxes keep it
beyond any purge.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from mailtriage.config import Config
from mailtriage.inbound.mime.files import attached_files
from mailtriage.inbound.openpgp import DeskKeyMaterial, PgpError, load_cert
from mailtriage.inbound.pgpinbound import readable
from mailtriage.outgoing.compose import OutgoingFile, compose
from mailtriage.outgoing.mailkinds import KINDS, KindRegistry, LetterError, Source, UnknownKind
from mailtriage.outgoing.pgpoutbound import protect
from mailtriage.outgoing.render import Renderer
from mailtriage.store.models import OutboxMail
from mailtriage.store.rawstore import read_raw

__all__ = ["LetterError", "Letters"]


class Letters:
    def __init__(
        self,
        config: Config,
        renderer: Renderer,
        kinds: KindRegistry = KINDS,
        command_help: tuple[str, ...] = (),
        pgp_desk: DeskKeyMaterial | None = None,
    ) -> None:
        self.config = config
        self.pgp_desk = pgp_desk
        self.renderer = renderer
        self.kinds = kinds
        self.command_help = command_help

    def build(self, session: Session, row: OutboxMail, now: dt.datetime) -> bytes:
        """The complete message for `row`. Raises LetterError, ComposeError or RenderError."""
        assert row.recipient is not None
        try:
            kind = self.kinds.get(row.kind)
        except UnknownKind as exc:
            raise LetterError(str(exc)) from exc
        source = Source(
            session=session,
            row=row,
            config=self.config,
            now=now,
            command_help=self.command_help,
        )
        payload = kind.build(source)
        rendered = kind.render(self.renderer, row.language, payload)
        files = self._relayed_files(session, row) if kind.carries_staff_words(payload) else []
        files += kind.files(source, payload)
        composed = compose(
            from_address=self.config.smtp.from_address,
            from_name=self.config.smtp.from_name,
            to=row.recipient,
            subject=rendered.subject,
            body=rendered.body,
            message_id=f"<{row.message_id}>",
            in_reply_to=row.in_reply_to,
            references=row.references or (),
            auto_submitted=row.auto_submitted,
            date=now,
            attachments=files,
        )
        case = row.case
        if kind.audience != "reporter" or case is None:
            return composed
        return self._encrypted(case.reporter_pgp_key, composed)

    def _encrypted(self, key: str | None, composed: bytes) -> bytes:
        """Mail to a reporter whose key the case keeps goes out PGP/MIME, signed; a key that
        stopped working (expired, say) is a LetterError, never a silent plaintext mail."""
        if not key:
            return composed
        try:
            return protect(composed, [load_cert(key)], self.pgp_desk)
        except PgpError as exc:
            raise LetterError(f"cannot encrypt to the reporter's key: {exc}") from exc

    def _relayed_files(self, session: Session, row: OutboxMail) -> list[OutgoingFile]:
        """The staff member's attachments, which go along with their words (from inside
        the encryption when staff wrote to the desk encrypted; none if it cannot be read)."""
        staff_message = (row.context or {}).get("message")
        raw = read_raw(session, staff_message) if isinstance(staff_message, int) else None
        if not raw:
            return []
        raw = readable(raw, self.pgp_desk)
        return [OutgoingFile(name, ctype, data) for name, ctype, data in attached_files(raw)]
