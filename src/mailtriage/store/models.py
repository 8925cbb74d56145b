"""The store's tables, as typed SQLAlchemy 2 models that read like the specification.

A raw message is kept apart from where it was seen: `StoredMessage` holds the bytes once
(unique on their SHA-256), and `MailboxSighting` records each (source, UIDVALIDITY, UID) it
arrived under. Re-reading a folder after a UIDVALIDITY change, or a crash between storing and
moving, therefore finds the message already stored instead of storing it twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mailtriage.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
utc = Annotated[dt.datetime, mapped_column(UTCDateTime())]
utc_or_none = Annotated[dt.datetime | None, mapped_column(UTCDateTime(), nullable=True)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MessageStatus:
    """What became of a stored message; plain strings so the store stays readable by hand."""

    RECEIVED = "received"  # stored raw, not yet processed (a crash left it, or it is in hand)
    CASE = "case"  # belongs to a case
    AUTO = "auto"  # automated mail: stored, answered never, opens no case
    DUPLICATE = "duplicate"  # the same mail arrived again by another route
    QUARANTINED = "quarantined"  # processing failed; waits for a retry
    STAFF = "staff"  # staff mail that named no case (answered, changed nothing)
    PURGED = "purged"  # personal content erased

    ALL = (RECEIVED, CASE, AUTO, DUPLICATE, QUARANTINED, STAFF, PURGED)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        # `cases --overdue` and the reminder job; `cases` in order of receipt (migration 0005)
        Index("ix_cases_first_response", "first_response_at", "first_response_due"),
        Index("ix_cases_received", "received_at", "id"),
    )

    id: Mapped[intpk]
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    state: Mapped[str] = mapped_column(String(32), index=True)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    reporter_address: Mapped[str | None] = mapped_column(String(320), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[utc]
    first_response_due: Mapped[utc_or_none]
    first_response_at: Mapped[utc_or_none]
    next_update_due: Mapped[utc_or_none]
    closed_at: Mapped[utc_or_none]
    purged_at: Mapped[utc_or_none]
    severity: Mapped[str | None] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(320))
    credit_name: Mapped[str | None] = mapped_column(String(200))
    credit_consent: Mapped[bool | None] = mapped_column(Boolean)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    # The reporter's armoured OpenPGP certificate, learnt from their mail; erased by the purge.
    reporter_pgp_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[utc]
    # Issue 16: facts about the finding, not the finder; the purge keeps them.
    # `#duplicate REF2`: this case reports what REF2 tracks (REF2 lists it as a duplicate).
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    # When this duplicate's reporter got the closing notice because REF2 was resolved or
    # closed fixed; the purge clock of a duplicate counts from here.
    resolved_notice_at: Mapped[utc_or_none]
    cvss_vector: Mapped[str | None] = mapped_column(String(200))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_rating: Mapped[str | None] = mapped_column(String(16))
    cwe: Mapped[str | None] = mapped_column(String(16))
    cve: Mapped[str | None] = mapped_column(String(32))
    # `#embargo`: the end (local 23:59:59) of the agreed public-disclosure day.
    embargo_until: Mapped[utc_or_none]

    messages: Mapped[list[StoredMessage]] = relationship(
        back_populates="case", order_by="StoredMessage.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    duplicate_of: Mapped[Case | None] = relationship(
        remote_side="Case.id", back_populates="duplicates"
    )
    duplicates: Mapped[list[Case]] = relationship(
        back_populates="duplicate_of", order_by="Case.id"
    )


class CaseSequence(Base):
    """The last sequence number handed out per prefix and year (references never repeat)."""

    __tablename__ = "case_sequences"

    prefix: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class StoredMessage(Base):
    __tablename__ = "messages"

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int]  # of the raw bytes, which live in `RawMessage` (see store/rawstore.py)
    stored_at: Mapped[utc]
    arrived_at: Mapped[utc]
    status: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str | None] = mapped_column(String(32))  # "staff-unauthenticated": 21
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    # Parsed facts, kept so that threading and listing never need to re-parse the raw bytes.
    header_message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    from_address: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    date_header: Mapped[utc_or_none]
    in_reply_to: Mapped[list[str] | None] = mapped_column(JSON)
    references: Mapped[list[str] | None] = mapped_column(JSON)
    text_body: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    indicators: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    defects: Mapped[list[str] | None] = mapped_column(JSON)
    # What OpenPGP made of the mail (openpgp.PgpFacts.record): encrypted, decrypted, signature.
    pgp: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Quarantine bookkeeping: why the last attempt failed and how many attempts were made.
    quarantine_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[utc_or_none]

    case: Mapped[Case | None] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    sightings: Mapped[list[MailboxSighting]] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )


class RawMessage(Base):
    """A message's bytes exactly as received; erased by the purge."""

    __tablename__ = "message_raw"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class MailboxSighting(Base):
    """One arrival of a stored message in a mailbox, named the way that mailbox names it."""

    __tablename__ = "mailbox_sightings"
    __table_args__ = (UniqueConstraint("source", "validity", "uid"),)

    id: Mapped[intpk]
    source: Mapped[str] = mapped_column(String(500))
    validity: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    seen_at: Mapped[utc]
    # Set once the message has left the inbox; until then every pass files it again.
    filed_to: Mapped[str | None] = mapped_column(String(255))

    message: Mapped[StoredMessage] = relationship(back_populates="sightings")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[intpk]
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))

    message: Mapped[StoredMessage] = relationship(back_populates="attachments")


class CaseEvent(Base):
    """One line of a case's timeline. `detail` never holds personal data worth keeping past a purge
    except where the purge clears it."""

    __tablename__ = "case_events"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[utc]
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    case: Mapped[Case] = relationship(back_populates="events")


class OutboxStatus:
    PENDING = "pending"  # waiting for (another) delivery attempt
    SENDING = "sending"  # handed to the transport; a crash here is the one unavoidable window
    SENT = "sent"
    FAILED = "failed"  # refused permanently, or retried until the configured time ran out


class OutboxMail(Base):
    """An outgoing mail, written in the same transaction as the change that caused it.

    The Message-ID is fixed when the row is written, so a reply to it threads into the case
    even before it was delivered; the bytes are composed at the first delivery attempt (so the
    Date is the sending time) and kept, so every retry sends the very same message.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[intpk]
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    # What the template needs beyond the case itself, as plain JSON values; the mail is
    # rendered and composed when it is first sent, and `raw` keeps exactly what was sent.
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    automatic: Mapped[bool] = mapped_column(Boolean)
    auto_submitted: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(320), index=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[str] | None] = mapped_column(JSON)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[utc]
    next_attempt_at: Mapped[utc]
    sent_at: Mapped[utc_or_none]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Who holds the claim while the row is `sending` (`claims.ClaimOwner.token`): a claim of
    # a process known to be gone is free at once, any other waits for `next_attempt_at`.
    claimed_by: Mapped[str | None] = mapped_column(String(300))

    case: Mapped[Case | None] = relationship()


class JobRun(Base):
    """A once-per-period job that ran (the digest of a day), so it never runs twice."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[utc]


class Obligation(Base):
    """One step of a reporting clock (`#exploited`, `#incident`) on a case.

    Facts about the handling only (kind, step, times), never about the reporter: the purge
    leaves these rows as they are, because the duty to report outlives the reporter's data.
    `begins` and `due` are empty for an exploited vulnerability's final report until the case
    reaches `resolved`. Each notice to staff is recorded here when it is queued, so none is
    sent twice.
    """

    __tablename__ = "obligations"
    __table_args__ = (UniqueConstraint("case_id", "kind", "step"),)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[utc]  # the arrival of the staff mail that started the clock
    begins: Mapped[utc_or_none]
    due: Mapped[utc_or_none]
    reported_at: Mapped[utc_or_none]
    half_sent_at: Mapped[utc_or_none]
    soon_sent_at: Mapped[utc_or_none]
    escalated_at: Mapped[utc_or_none]

    case: Mapped[Case] = relationship()


class ClusterLease(Base):
    """The one row that says which daemon is active on this store (issue 15).

    `holder` is one process (node name, pid and a random token), `epoch` grows at every change
    of holder: a write checks both before it commits, so a deposed daemon that wakes up late
    writes nothing. Times are seconds since the epoch as the database server counts them, so
    the nodes' own clocks (or a test's fake one) never decide who holds the lease.
    """

    __tablename__ = "cluster_lease"

    id: Mapped[intpk]  # always 1
    holder: Mapped[str | None] = mapped_column(String(300))
    node_name: Mapped[str | None] = mapped_column(String(200))
    epoch: Mapped[int]
    acquired_s: Mapped[float | None] = mapped_column(Float)
    expires_s: Mapped[float | None] = mapped_column(Float)


class ClusterNode(Base):
    """Every daemon on this store, active or standby, and when it last said so (`status`)."""

    __tablename__ = "cluster_nodes"

    holder: Mapped[str] = mapped_column(String(300), primary_key=True)
    node_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    seen_s: Mapped[float] = mapped_column(Float)
