"""The composition root: the one place the desk's object graph is built.

Every collaborator is made here exactly once and handed to the objects that use it, so no
constructor builds its own dependencies and every one of them shares the same `Clock`. The
command line builds an `App` per invocation with the system clock; a test builds one with the
instant it is about (or passes its clock to `cli.main`), and nothing underneath can tell.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.casework import CaseDesk
from mailtriage.clock import Clock, system_clock
from mailtriage.config import Config
from mailtriage.jobs import Jobs
from mailtriage.letters import Letters
from mailtriage.mailbox.base import Mailbox
from mailtriage.outbox import OutboxSender
from mailtriage.parsepool import ParsePool
from mailtriage.pipeline import Intake
from mailtriage.purge import Purger
from mailtriage.render import Renderer
from mailtriage.replies import Replies
from mailtriage.staffdesk import StaffDesk
from mailtriage.store.db import Store
from mailtriage.transport.base import Transport
from mailtriage.transport.maildir import MaildirTransport
from mailtriage.transport.smtp import SmtpTransport


@dataclass
class App:
    """The desk, assembled: what the commands and the daemon work with."""

    config: Config
    clock: Clock
    store: Store
    replies: Replies
    intake: Intake
    sender: OutboxSender
    jobs: Jobs
    purger: Purger

    def open_mailbox(self) -> Mailbox:
        return open_mailbox(self.config)

    def open_transport(self) -> Transport:
        return open_transport(self.config, self.clock)

    def close(self) -> None:
        self.intake.close()
        self.store.dispose()


def build(config: Config, clock: Clock = system_clock, *, migrate: bool = True) -> App:
    """Build every collaborator once; `migrate` brings the store's schema up to date first."""
    store = open_store(config, migrate=migrate)
    replies = Replies(config, clock)
    staff = StaffDesk(config, replies, clock)
    desk = CaseDesk(config, replies, staff, clock)
    intake = Intake(config, store, clock, replies, desk, ParsePool())
    letters = Letters(config, Renderer(config.templates.path))
    sender = OutboxSender(
        config,
        store,
        letters,
        lambda: open_transport(config, clock),
        clock,
        on_failure=replies.delivery_failed,
    )
    jobs = Jobs(config, store, replies, clock)
    purger = Purger(
        config, store, clock, lambda: open_mailbox(config), tell_staff=replies.notify_staff
    )
    return App(config, clock, store, replies, intake, sender, jobs, purger)


def open_store(config: Config, migrate: bool = True) -> Store:
    store = Store(config.store.url, config.store.busy_timeout_seconds)
    if migrate:
        store.upgrade()
    return store


def open_mailbox(config: Config) -> Mailbox:
    mb = config.mailbox
    if mb.source == "maildir":
        from mailtriage.mailbox.maildir import MaildirMailbox

        assert mb.path is not None
        return MaildirMailbox(mb.path, mb.processed_folder, mb.quarantine_folder)
    from mailtriage.mailbox.imap import ImapMailbox

    return ImapMailbox(mb)


def open_transport(config: Config, clock: Clock) -> Transport:
    if config.smtp.transport == "maildir":
        assert config.smtp.path is not None
        return MaildirTransport(config.smtp.path, clock)
    return SmtpTransport(config.smtp)
