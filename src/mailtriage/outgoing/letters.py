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
from mailtriage.outgoing.compose import OutgoingFile, compose
from mailtriage.outgoing.mailkinds import KINDS, KindRegistry, LetterError, Source, UnknownKind
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
    ) -> None:
        self.config = config
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
        if kind.carries_staff_words(payload):
            files = self._relayed_files(session, row)
        else:
            files = kind.attachments(source, payload)
        return compose(
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

    @staticmethod
    def _relayed_files(session: Session, row: OutboxMail) -> list[OutgoingFile]:
        """The staff member's attachments, which go along with their words."""
        staff_message = (row.context or {}).get("message")
        raw = read_raw(session, staff_message) if isinstance(staff_message, int) else None
        if not raw:
            return []
        return [OutgoingFile(name, ctype, data) for name, ctype, data in attached_files(raw)]
