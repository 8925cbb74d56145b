"""The composition root: the one place the desk's object graph is built.

Every collaborator is made here exactly once and handed to the objects that use it, so no
constructor builds its own dependencies and every one of them shares the same `Clock`. The
command line builds an `App` per invocation with the system clock; a test builds one with the
instant it is about (or passes its clock to `cli.main`), and nothing underneath can tell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailtriage.clock import Clock, system_clock
from mailtriage.config import Config, ConfigError
from mailtriage.desk.casework import CaseDesk
from mailtriage.desk.jobs import JobReport, Jobs
from mailtriage.desk.purge import Purger
from mailtriage.desk.replies import Replies
from mailtriage.desk.staffcommands import help_lines
from mailtriage.desk.staffdesk import StaffDesk
from mailtriage.inbound.openpgp import DeskKeyMaterial, PgpError
from mailtriage.intake.parsepool import ParsePool
from mailtriage.intake.pipeline import Intake, IntakeReport
from mailtriage.mailbox.base import Mailbox, MailboxError
from mailtriage.mailbox.oauth2 import TokenSource, token_source
from mailtriage.outgoing.handoffs import handoff_directory
from mailtriage.outgoing.letters import Letters
from mailtriage.outgoing.outbox import DeliveryReport, OutboxSender
from mailtriage.outgoing.render import Renderer
from mailtriage.outgoing.transport.base import Transport
from mailtriage.outgoing.transport.maildir import MaildirTransport
from mailtriage.outgoing.transport.sender import SenderProcess
from mailtriage.outgoing.transport.smtp import SmtpTransport
from mailtriage.service.deliverypump import DeliveryPump
from mailtriage.service.oauth2_wiring import mail_token_source
from mailtriage.store import db as store_db
from mailtriage.store.db import Store

if TYPE_CHECKING:
    from mailtriage.mailbox.graphapi import GraphClient

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    """What one pass did: the intake figures, the jobs (None when the scheduler runs them)
    and the delivery."""

    intake: IntakeReport
    jobs: JobReport | None
    delivery: DeliveryReport


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
    # The one OAuth2 token source of this process (None with password logins): IMAP and SMTP
    # share it, so a token is fetched once and renewed once.
    tokens: TokenSource | None = None
    # The process that holds the SMTP connection, when there is one (transport/sender.py).
    sender_process: SenderProcess | None = None

    def open_mailbox(self) -> Mailbox:
        return open_mailbox(self.config, self.clock, self.tokens)

    def open_transport(self) -> Transport:
        return open_transport(self.config, self.clock, self.tokens)

    def one_pass(
        self,
        mailbox: Callable[[], Mailbox] | None = None,
        *,
        with_jobs: bool = True,
        should_stop: Callable[[], bool] | None = None,
    ) -> PassReport:
        """One pass of the desk, the same for `run --once` and for every turn of the daemon:

        1. finish what a crash left (messages stored but never processed): first, so a suspect
           message is retried on its own before new mail shares a batch with it;
        2. ingest everything waiting in the mailbox;
        3. the jobs that are due (reminders, progress updates, the digest), after intake so
           they see the replies that just came in;
        4. deliver the outbox, after everything that queues mail, so one pass sends it all
           (a reporter has the acknowledgement as soon as the pass ends); during steps 1
           and 2 a `DeliveryPump` already sends what intake queued, so a burst of reports is
           answered while it is read;
        5. purge, last and only when the mailbox answered: the purge also clears the
           mailbox's folders, and nothing queued in this pass is purged unsent.

        `mailbox` gives the mailbox to read; without it the pass opens one and closes it
        after. The daemon keeps its mailbox between passes, and with `with_jobs=False`
        leaves steps 3 and 5 to its scheduler, which runs them on their own timetable.
        `should_stop` is asked between batches (see `Intake.run_mailbox`).

        Steps 3 to 5 run even when the mailbox cannot be reached, so reminders and replies
        already decided on still go out; the MailboxError is raised afterwards.
        """
        mailbox_error: MailboxError | None = None
        # Acknowledgements leave while intake works (see deliverypump).
        with DeliveryPump(self.sender) as pump:
            report = self.intake.process_pending()
            try:
                report.merge_fetch(self._ingest(mailbox, should_stop))
            except MailboxError as exc:
                mailbox_error = exc
        jobs = self.jobs.run_all() if with_jobs else None
        # One failed connection per pass: after it the rest waits for the next pass.
        delivery = (
            DeliveryReport()
            if pump.report.interrupted
            else self.sender.deliver_due(should_stop=should_stop)
        )
        delivery.interrupted |= pump.report.interrupted
        delivery.sent += pump.report.sent
        delivery.deferred += pump.report.deferred
        delivery.failed += pump.report.failed
        if with_jobs and mailbox_error is None:
            self.purger.run()
        done = PassReport(report, jobs, delivery)
        _log_pass(done)
        if mailbox_error is not None:
            raise mailbox_error
        return done

    def _ingest(
        self, mailbox: Callable[[], Mailbox] | None, should_stop: Callable[[], bool] | None
    ) -> IntakeReport:
        if mailbox is not None:
            return self.intake.run_mailbox(mailbox(), should_stop=should_stop)
        opened = self.open_mailbox()
        try:
            return self.intake.run_mailbox(opened, should_stop=should_stop)
        finally:
            opened.close()

    def close(self) -> None:
        self.intake.close()
        if self.sender_process is not None:
            self.sender_process.stop()
        self.store.dispose()


def desk_key(config: Config) -> DeskKeyMaterial | None:
    """The desk's OpenPGP key from `[pgp]`, checked now: a wrong file or passphrase is a
    config error at start, not a surprise at the first encrypted report."""
    if config.pgp.key_file is None:
        return None
    try:
        return DeskKeyMaterial.from_files(config.pgp.key_file, config.pgp.passphrase_file)
    except PgpError as exc:
        raise ConfigError(str(exc)) from exc


def build(config: Config, clock: Clock = system_clock, *, migrate: bool = True) -> App:
    """Build every collaborator once; `migrate` brings the store's schema up to date first."""
    store = open_store(config, migrate=migrate)
    tokens = mail_token_source(config, clock, store)
    replies = Replies(config, clock)
    staff = StaffDesk(config, replies, clock)
    desk = CaseDesk(config, replies, staff, clock)
    pgp_desk = desk_key(config)
    pool = ParsePool(file_limit=config.cases.max_message_bytes)
    intake = Intake(config, store, clock, replies, desk, pool, pgp_desk=pgp_desk)
    letters = Letters(
        config,
        Renderer(config.templates.path),
        command_help=tuple(help_lines()),
        pgp_desk=pgp_desk,
    )
    handoff_dir = handoff_directory(config.store.url)
    sender_process = None
    if config.smtp.transport == "smtp" and config.smtp.auth != "oauth2":
        # The SMTP connection in a process of its own, which a kill of the desk does not
        # stop mid-mail (outgoing/transport/sender.py).
        sender_process = SenderProcess(config, handoff_dir)
    sender = OutboxSender(
        config,
        store,
        letters,
        (lambda: sender_process)
        if sender_process is not None
        else (lambda: open_transport(config, clock, tokens)),
        clock,
        on_failure=replies.delivery_failed,
        handoff_dir=handoff_dir,
    )
    jobs = Jobs(config, store, replies, clock)
    purger = Purger(
        config,
        store,
        clock,
        lambda: open_mailbox(config, clock, tokens),
        tell_staff=replies.notify_staff,
    )
    return App(config, clock, store, replies, intake, sender, jobs, purger, tokens, sender_process)


def _log_pass(done: PassReport) -> None:
    """One line per pass that did something; a quiet pass logs nothing."""
    report, jobs, delivery = done.intake, done.jobs, done.delivery
    if not (report.fetched or delivery.sent or delivery.deferred or delivery.failed):
        return
    jobs_line = (
        f"reminders {jobs.reminders}, escalations {jobs.escalations}, updates {jobs.updates}, "
        f"digests {jobs.digests}; "
        if jobs is not None
        else ""
    )
    log.info(
        "%s; %smail sent %d, deferred %d, failed %d",
        report_line(report),
        jobs_line,
        delivery.sent,
        delivery.deferred,
        delivery.failed,
    )


def report_line(report: IntakeReport) -> str:
    """The intake figures in one line, as `run --once` and the daemon log them."""
    return (
        f"fetched {report.fetched}, stored {report.stored}, seen before {report.seen_before}, "
        f"new cases {report.cases_opened}, replies {report.appended}, auto {report.auto}, "
        f"duplicates {report.duplicates}, quarantined {report.quarantined}, filed {report.filed}"
    )


def open_store(config: Config, migrate: bool = True) -> Store:
    return store_db.open_store(config.store, migrate=migrate)


def open_mailbox(
    config: Config, clock: Clock = system_clock, tokens: TokenSource | None = None
) -> Mailbox:
    mb = config.mailbox
    if mb.source == "graph":
        from mailtriage.mailbox.graph import GraphMailbox

        client = _graph_client(config, clock)
        return GraphMailbox(client, mb.folder, mb.processed_folder, mb.quarantine_folder)
    if mb.source == "maildir":
        from mailtriage.mailbox.maildir import MaildirMailbox

        assert mb.path is not None
        return MaildirMailbox(mb.path, mb.processed_folder, mb.quarantine_folder)
    from mailtriage.mailbox.imap import ImapMailbox

    return ImapMailbox(mb, tokens=tokens if mb.auth == "oauth2" else None)


def open_transport(config: Config, clock: Clock, tokens: TokenSource | None = None) -> Transport:
    if config.smtp.transport == "graph":
        from mailtriage.outgoing.transport.graph import GraphTransport

        return GraphTransport(_graph_client(config, clock))
    if config.smtp.transport == "maildir":
        assert config.smtp.path is not None
        return MaildirTransport(config.smtp.path, clock)
    return SmtpTransport(config.smtp, tokens if config.smtp.auth == "oauth2" else None)


def _graph_client(config: Config, clock: Clock) -> GraphClient:
    """Graph as the mailbox `[mailbox] username`, for the graph source and transport alike."""
    from mailtriage.mailbox.graphapi import GraphClient

    mb = config.mailbox
    return GraphClient(
        mb.graph_url,
        mb.username,
        _graph_token_source(config, clock),
        clock,
        verify=str(mb.ca_file) if mb.ca_file else True,
        timeout_seconds=mb.timeout_seconds or 60,
    )


def _graph_token_source(config: Config, clock: Clock) -> TokenSource:
    """The OAuth2 token Graph is called with: the `[oauth2]` client credentials, for
    Graph's own scope (IMAP and SMTP tokens are for another audience)."""
    if config.oauth2 is None:
        raise ConfigError("graph needs [oauth2]: Microsoft Graph is reached with an OAuth2 token")
    from mailtriage.mailbox.graphapi import GRAPH_SCOPE

    return token_source(config, clock, (GRAPH_SCOPE,))
