"""The command line: `mailtriage [--config PATH] COMMAND`, as the contract lists it.

Every failure an operator can cause or meet (a bad config, an unreachable server, a locked or
full store) ends in one line on stderr and a distinct exit code, never a traceback:
2 for configuration, 1 for a failed operation, 75 (EX_TEMPFAIL) when `ingest` could not store
a message safely, so the MTA keeps it and retries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from mailtriage.cases import State
from mailtriage.clock import Clock, system_clock
from mailtriage.config import (
    Config,
    ConfigError,
    find_config_path,
    load_config,
    require_staff_authentication,
    staff_unauthenticated,
)
from mailtriage.daemon import Daemon
from mailtriage.listing import cases_with_counts, write_cases_json, write_cases_table
from mailtriage.mailbox.base import MailboxError
from mailtriage.render import Renderer, RenderError
from mailtriage.store.db import StoreUnavailable
from mailtriage.store.models import Case, MessageStatus, StoredMessage
from mailtriage.systemd import Notifier, configure_logging
from mailtriage.transport.base import DeliveryError
from mailtriage.transport.smtp import SmtpTransport
from mailtriage.views import (
    case_object,
    event_object,
    format_table,
    iso,
    message_counts,
    message_summary,
    printable,
)
from mailtriage.wiring import build, open_mailbox, open_store, open_transport
from mailtriage.workdays import first_response_due

log = logging.getLogger("mailtriage")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_TEMPFAIL = 75
MAX_INGEST_BYTES = 512 * 1024 * 1024


class CommandError(Exception):
    """A command cannot do its work; the message is for the operator."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailtriage", description="A security@ mailbox under a disclosure policy."
    )
    parser.add_argument(
        "--config",
        help="config file (default: $MAILTRIAGE_CONFIG, "
        "./config.toml, /etc/mailtriage/config.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="the daemon: ingest, reply and run jobs until stopped")
    run.add_argument("--once", action="store_true", help="one full pass, then exit")

    ingest = sub.add_parser("ingest", help="ingest one message from FILE or stdin")
    ingest.add_argument("file", nargs="?", help="an RFC 5322 message (default: stdin)")

    cases = sub.add_parser("cases", help="list cases")
    cases.add_argument("--state", choices=State.ALL)
    cases.add_argument("--overdue", action="store_true", help="only overdue first assessments")
    cases.add_argument("--json", action="store_true")

    case = sub.add_parser("case", help="one case with its timeline")
    case.add_argument("ref")
    case.add_argument("--json", action="store_true")

    deadline = sub.add_parser("deadline", help="first-assessment due moment for a receipt time")
    deadline.add_argument("datetime", help="ISO 8601; naive means the configured time zone")

    sub.add_parser("check", help="validate the config and try the mailbox and SMTP logins")

    purge = sub.add_parser("purge", help="erase the personal data of cases past retention")
    purge.add_argument("--dry-run", action="store_true", help="only list what would go")

    credits = sub.add_parser("credits", help="the consented credit list (hall of fame)")
    credits.add_argument("--json", action="store_true")

    sub.add_parser("security-txt", help="print an RFC 9116 security.txt from the config")

    quarantine = sub.add_parser("quarantine", help="mail that failed processing")
    quarantine.add_argument("--json", action="store_true")
    qsub = quarantine.add_subparsers(dest="quarantine_command", metavar="retry")
    retry = qsub.add_parser("retry", help="process quarantined mail again")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int)
    which.add_argument("--all", action="store_true")

    db = sub.add_parser("db", help="store administration")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="upgrade")
    dbsub.add_parser("upgrade", help="apply schema migrations")
    return parser


def main(argv: Sequence[str] | None = None, clock: Clock = system_clock) -> int:
    """Run one command. `clock` is the desk's time; only tests pass another than the system's."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    # Third-party loggers stay quiet: some of them would print message headers.
    # (APScheduler would log every run of every job at INFO.)
    for noisy in ("imapclient", "alembic", "sqlalchemy", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = load_config(find_config_path(args.config))
        if not _reads_only(args):
            _guard_staff_authentication(config)
    except ConfigError as exc:
        return _fail(f"configuration: {exc}", EXIT_CONFIG)
    handler = COMMANDS[args.command]
    try:
        return handler(config, args, clock)
    except StoreUnavailable as exc:
        code = EXIT_TEMPFAIL if args.command == "ingest" else EXIT_FAILED
        return _fail(f"store unavailable: {exc}", code)
    except MailboxError as exc:
        return _fail(f"mailbox: {exc}", EXIT_FAILED)
    except ConfigError as exc:
        return _fail(f"configuration: {exc}", EXIT_CONFIG)
    except CommandError as exc:
        return _fail(str(exc), EXIT_FAILED)


# Commands that only read the store or the config. They stay usable on a config that the
# others refuse for unauthenticated staff, so an operator can still see the desk while fixing
# it: none of them reads mail, so none of them can be steered by a forged staff From. Every
# other command (including any added later) is refused: fail closed.
READ_ONLY_COMMANDS = frozenset({"cases", "case", "credits", "deadline", "security-txt"})


def _reads_only(args: argparse.Namespace) -> bool:
    if args.command == "quarantine":
        return args.quarantine_command != "retry"  # listing reads; a retry processes mail
    return args.command in READ_ONLY_COMMANDS


def _guard_staff_authentication(config: Config) -> None:
    """Refuse to run on a config where any From claiming staff is believed; with the
    operator's explicit opt-out, run but say so once, loudly."""
    require_staff_authentication(config)
    if staff_unauthenticated(config):
        log.warning(
            "cases.allow_unauthenticated_staff is set: any mail with a staff address in From "
            "is taken as staff mail; set cases.trusted_authserv_ids as soon as your MX adds "
            "Authentication-Results"
        )


def _fail(message: str, code: int) -> int:
    print(f"mailtriage: error: {message}", file=sys.stderr)
    return code


# -- commands -------------------------------------------------------------------------------


def cmd_run(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    app = build(config, clock)
    try:
        if args.once:
            app.one_pass()
            return EXIT_OK
        return Daemon(app, Notifier.from_env()).run()
    finally:
        app.close()


def cmd_ingest(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    raw = _read_input(args.file)
    app = build(config, clock)
    try:
        report = app.intake.ingest_raw(raw)
    finally:
        app.close()
    if report.quarantined:
        print("stored; processing failed, the message is in quarantine", file=sys.stderr)
    return EXIT_OK


def _read_input(file: str | None) -> bytes:
    try:
        if file is None or file == "-":
            data = sys.stdin.buffer.read(MAX_INGEST_BYTES + 1)
        else:
            with open(file, "rb") as fh:
                data = fh.read(MAX_INGEST_BYTES + 1)
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
    if len(data) > MAX_INGEST_BYTES:
        raise CommandError(f"message larger than {MAX_INGEST_BYTES} bytes refused")
    return data


def cmd_cases(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    tz = config.deadlines.tz
    store = open_store(config)
    # Streamed (see listing.py): flat memory at any number of cases.
    with store.reading() as session:
        query = select(Case).order_by(Case.received_at, Case.id)
        if args.state:
            query = query.where(Case.state == args.state)
        if args.overdue:
            now = clock()
            query = query.where(
                Case.state.in_(State.OPEN),
                Case.first_response_at.is_(None),
                Case.first_response_due < now,
            )
        if args.json:
            write_cases_json(session, query, tz, sys.stdout)
        else:
            write_cases_table(lambda: cases_with_counts(session, query), tz, sys.stdout)
    return EXIT_OK


def cmd_case(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    tz = config.deadlines.tz
    store = open_store(config)
    with store.session() as session:
        case = session.scalars(select(Case).where(Case.ref == args.ref.upper())).first()
        if case is None:
            raise CommandError(f"no case {args.ref}")
        counts = message_counts(session, [case.id])
        obj = case_object(case, counts.get(case.id, 0), tz)
        obj["timeline"] = [event_object(e, tz) for e in case.events]
        obj["message_list"] = [message_summary(m, tz) for m in case.messages]
        if args.json:
            _print_json(obj)
            return EXIT_OK
        for key in (
            "ref",
            "state",
            "close_reason",
            "category",
            "language",
            "reporter",
            "subject",
            "received_at",
            "first_response_due",
            "first_response_at",
            "next_update_due",
            "closed_at",
            "purged_at",
            "severity",
            "owner",
            "credit_name",
            "messages",
        ):
            value = obj[key]
            shown = printable(str(value), 200) if value is not None else "-"
            print(f"{key + ':':20} {shown}")
        print("timeline:")
        for event in obj["timeline"]:
            detail = ", ".join(f"{k}={printable(str(v), 60)}" for k, v in event["detail"].items())
            print(f"  {event['at']}  {event['kind']}  {detail}")
    return EXIT_OK


def cmd_deadline(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    try:
        received = dt.datetime.fromisoformat(args.datetime)
    except ValueError as exc:
        raise CommandError(f"not an ISO 8601 date-time: {args.datetime!r}") from exc
    if received.tzinfo is None:
        received = received.replace(tzinfo=config.deadlines.tz)
    print(first_response_due(received, config.deadlines).isoformat())
    return EXIT_OK


def cmd_check(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    print(f"config: ok ({config.source_path})")
    store = open_store(config, migrate=False)
    with store.session():
        pass
    print("store: ok")
    mailbox = open_mailbox(config)
    try:
        mailbox.check()
    finally:
        mailbox.close()
    print(f"mailbox: ok ({config.mailbox.source})")
    try:
        names = Renderer(config.templates.path).check()
    except RenderError as exc:
        raise CommandError(f"templates: {exc}") from exc
    print(f"templates: ok ({len(names)} files)")
    transport = open_transport(config, clock)
    try:
        if isinstance(transport, SmtpTransport):
            transport.check()
    except DeliveryError as exc:
        raise CommandError(f"smtp: {exc.reason}") from exc
    finally:
        transport.close()
    print(f"smtp: ok ({config.smtp.transport})")
    return EXIT_OK


def cmd_quarantine(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    tz = config.deadlines.tz
    store = open_store(config)
    if args.quarantine_command == "retry":
        ids = None if args.all else [args.id]
        app = build(config, clock)
        try:
            report = app.intake.retry_quarantined(ids)
        finally:
            app.close()
        retried = report.cases_opened + report.appended + report.auto + report.duplicates
        print(f"retried: {retried} processed, {report.quarantined} still quarantined")
        return EXIT_OK if report.quarantined == 0 else EXIT_FAILED
    with store.session() as session:
        messages = list(
            session.scalars(
                select(StoredMessage)
                .where(StoredMessage.status == MessageStatus.QUARANTINED)
                .order_by(StoredMessage.id)
            )
        )
        items = [
            {
                "id": m.id,
                "arrived_at": iso(m.arrived_at, tz),
                "size": m.size,
                "attempts": m.attempts,
                "reason": m.quarantine_reason,
                "subject": m.subject,
            }
            for m in messages
        ]
    if args.json:
        _print_json(items)
        return EXIT_OK
    rows = [
        (
            str(i["id"]),
            str(i["arrived_at"])[:16],
            str(i["size"]),
            str(i["attempts"]),
            printable(i["reason"], 70),
        )
        for i in items
    ]
    print(format_table(("ID", "ARRIVED", "BYTES", "TRIES", "REASON"), rows, "quarantine is empty"))
    return EXIT_OK


def cmd_purge(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    app = build(config, clock)
    try:
        report = app.purger.run(dry_run=args.dry_run)
    finally:
        app.close()
    verb = "would erase" if args.dry_run else "erased"
    if not report.erased_anything:
        print("nothing to purge")
    for ref in report.cases:
        print(f"{verb}: {ref}")
    if report.loose_messages:
        print(f"{verb}: {report.loose_messages} automated or unattached message(s)")
    if report.quarantined:
        print(f"{verb}: {report.quarantined} quarantined message(s) of no case")
    for ref in report.held:
        print(f"held (legal hold, not purged): {ref}")
    if not args.dry_run and report.mailbox_copies:
        print(f"removed from the mailbox: {report.mailbox_copies} message(s)")
    if report.wal_incomplete:
        return _fail(
            "purge incomplete: a reader kept SQLite from truncating its WAL, so erased data "
            "may still be on disk; staff are told, and the next purge tries again",
            EXIT_FAILED,
        )
    return EXIT_OK


def cmd_credits(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    store = open_store(config)
    with store.session() as session:
        rows = session.execute(
            select(Case.credit_name, Case.ref)
            .where(Case.credit_consent.is_(True), Case.credit_name.is_not(None))
            .order_by(Case.year, Case.seq)
        ).all()
    items = [{"name": name, "ref": ref} for name, ref in rows]
    if args.json:
        _print_json(items)
    else:
        table = [(printable(i["name"], 100), i["ref"]) for i in items]
        print(format_table(("NAME", "CASE"), table, "no credits yet"))
    return EXIT_OK


def cmd_security_txt(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    policy = config.policy
    expires = clock() + dt.timedelta(days=policy.security_txt_valid_days)
    lines = [f"Contact: mailto:{config.smtp.from_address}"]
    lines.append(f"Expires: {expires.replace(microsecond=0).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    lines.append("Preferred-Languages: nl, en")
    if policy.url:
        lines.append(f"Policy: {policy.url}")
    if policy.canonical_url:
        lines.append(f"Canonical: {policy.canonical_url}")
    print("\n".join(lines))
    return EXIT_OK


def cmd_db(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    open_store(config)
    print("store schema is up to date")
    return EXIT_OK


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


COMMANDS: dict[str, Callable[[Config, argparse.Namespace, Clock], int]] = {
    "run": cmd_run,
    "ingest": cmd_ingest,
    "cases": cmd_cases,
    "case": cmd_case,
    "deadline": cmd_deadline,
    "check": cmd_check,
    "quarantine": cmd_quarantine,
    "db": cmd_db,
    "purge": cmd_purge,
    "credits": cmd_credits,
    "security-txt": cmd_security_txt,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
