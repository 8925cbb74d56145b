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
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Module level holds only what parsing the arguments, loading the config and reporting a
# failure need. Each command imports its own collaborators when it runs: `cases` and `case`
# must start in a fraction of a second, and importing the daemon, the desk, the charts
# (matplotlib), OAuth2 (msal, google-auth, httpx) and Alembic for every command took half a
# second before any of them did its work. tests/unit/test_cli_imports.py holds this.
from mailtriage.clock import Clock, system_clock
from mailtriage.config import (
    Config,
    ConfigError,
    find_config_path,
    load_config,
    require_staff_authentication,
    staff_unauthenticated,
)
from mailtriage.mailbox.base import MailboxError
from mailtriage.policy.cases import State
from mailtriage.service.systemd import configure_logging
from mailtriage.store.db import StoreUnavailable, open_store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailtriage.mailbox.oauth2 import TokenSource
    from mailtriage.policy.metrics import MonthFigures
    from mailtriage.store.models import Case

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
    case.add_argument(
        "--export",
        metavar="DIR",
        help="write the attachments, report.txt and every message's text into DIR (new)",
    )

    deadline = sub.add_parser("deadline", help="first-assessment due moment for a receipt time")
    deadline.add_argument("datetime", help="ISO 8601; naive means the configured time zone")

    sub.add_parser("check", help="validate the config and try the mailbox and SMTP logins")

    status = sub.add_parser("status", help="what the desk is doing (outbox, cases, OAuth2)")
    status.add_argument("--json", action="store_true")

    purge = sub.add_parser("purge", help="erase the personal data of cases past retention")
    purge.add_argument("--dry-run", action="store_true", help="only list what would go")

    credits = sub.add_parser("credits", help="the consented credit list (hall of fame)")
    credits.add_argument("--json", action="store_true")

    sub.add_parser("security-txt", help="print an RFC 9116 security.txt from the config")
    sub.add_parser("pgp-key", help="print the desk's public OpenPGP key (armoured)")

    quarantine = sub.add_parser("quarantine", help="mail that failed processing")
    quarantine.add_argument("--json", action="store_true")
    qsub = quarantine.add_subparsers(dest="quarantine_command", metavar="retry")
    retry = qsub.add_parser("retry", help="process quarantined mail again")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int)
    which.add_argument("--all", action="store_true")

    report = sub.add_parser("report", help="desk metrics per month of receipt, in working days")
    report.add_argument("--from", dest="from_date", type=_date, help="first day (YYYY-MM-DD)")
    report.add_argument("--to", dest="to_date", type=_date, help="last day (YYYY-MM-DD)")
    form = report.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--csv", action="store_true")
    report.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")

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
READ_ONLY_COMMANDS = frozenset(
    {"cases", "case", "credits", "deadline", "security-txt", "pgp-key", "status", "report"}
)


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
    from mailtriage.service.cluster import Cluster, describe_active
    from mailtriage.service.daemon import Daemon
    from mailtriage.service.systemd import Notifier
    from mailtriage.service.wiring import build

    app = build(config, clock)
    cluster = Cluster(app.store, config.cluster)
    app.sender.may_send = lambda: cluster.active
    try:
        if args.once:
            # One pass is intake, outbox and jobs too: only with the lease, like the daemon.
            view = cluster.try_acquire()
            if not cluster.active:
                print(
                    f"mailtriage: standby (active: {describe_active(view)}); nothing done",
                    file=sys.stderr,
                )
                return EXIT_TEMPFAIL
            cluster.start_renewing()  # a long pass must not let the lease lapse
            app.one_pass()
            return EXIT_OK
        return Daemon(app, Notifier.from_env(), cluster).run()
    finally:
        cluster.release()
        app.close()


def cmd_ingest(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    from mailtriage.service.wiring import build

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
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from mailtriage.service.listing import cases_with_counts, write_cases_json, write_cases_table
    from mailtriage.store.models import Case

    tz = config.deadlines.tz
    store = open_store(config.store)
    # Streamed (see listing.py): flat memory at any number of cases. The duplicate links
    # are loaded per chunk (selectinload works with streaming), not per case.
    with store.reading() as session:
        query = (
            select(Case)
            .order_by(Case.received_at, Case.id)
            .options(selectinload(Case.duplicate_of), selectinload(Case.duplicates))
        )
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
    from sqlalchemy import select

    from mailtriage.desk.obligations import of_case
    from mailtriage.service.views import (
        case_object,
        event_object,
        message_counts,
        message_summary,
        obligation_object,
        printable,
    )
    from mailtriage.store.models import Case

    tz = config.deadlines.tz
    store = open_store(config.store)
    with store.session() as session:
        case = session.scalars(select(Case).where(Case.ref == args.ref.upper())).first()
        if case is None:
            raise CommandError(f"no case {args.ref}")
        if args.export:
            return _export(config, session, case, Path(args.export))
        counts = message_counts(session, [case.id])
        obj = case_object(case, counts.get(case.id, 0), tz)
        obj["obligations"] = [obligation_object(o, tz) for o in of_case(session, case.id)]
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
            "duplicate_of",
            "cvss_vector",
            "cvss_score",
            "cvss_rating",
            "cwe",
            "cve",
            "embargo_until",
        ):
            value = obj[key]
            shown = printable(str(value), 200) if value is not None else "-"
            print(f"{key + ':':20} {shown}")
        print(f"{'duplicates:':20} {', '.join(obj['duplicates']) or '-'}")
        if obj["obligations"]:
            print("obligations:")
        for step in obj["obligations"]:
            when = (
                f"reported {step['reported_at']}"
                if step["reported_at"]
                else (f"due {step['due']}" if step["due"] else "starts at resolved")
            )
            print(f"  {step['kind']:10} {step['step']:14} {when}")
        print("timeline:")
        for event in obj["timeline"]:
            detail = ", ".join(f"{k}={printable(str(v), 60)}" for k, v in event["detail"].items())
            print(f"  {event['at']}  {event['kind']}  {detail}")
    return EXIT_OK


def _export(config: Config, session: Session, case: Case, folder: Path) -> int:
    """`case REF --export DIR`: the same files as `#attachments`, unencrypted, for staff who
    work on the server, and every message's text (masked)."""
    from mailtriage.outgoing.casefiles import export_case
    from mailtriage.service.wiring import desk_key

    if case.purged_at is not None:
        raise CommandError(f"case {case.ref} has been purged: nothing is left to export")
    staff = frozenset(a.lower() for a in config.cases.staff)
    try:
        written = export_case(session, case, staff, folder, desk_key(config))
    except FileExistsError:
        raise CommandError(f"{folder} exists already; give a new folder") from None
    except OSError as exc:
        raise CommandError(f"cannot write {folder}: {exc.strerror}") from None
    print(f"wrote {len(written)} files into {folder}")
    return EXIT_OK


def cmd_deadline(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    from mailtriage.policy.workdays import first_response_due

    try:
        received = dt.datetime.fromisoformat(args.datetime)
    except ValueError as exc:
        raise CommandError(f"not an ISO 8601 date-time: {args.datetime!r}") from exc
    if received.tzinfo is None:
        received = received.replace(tzinfo=config.deadlines.tz)
    print(first_response_due(received, config.deadlines).isoformat())
    return EXIT_OK


def cmd_check(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    from mailtriage.outgoing.render import Renderer, RenderError
    from mailtriage.outgoing.transport.base import DeliveryError
    from mailtriage.service.wiring import desk_key, open_mailbox, open_transport

    print(f"config: ok ({config.source_path})")
    material = desk_key(config)  # a wrong key file or passphrase is a configuration error
    if material is not None:
        print(f"pgp: ok (key {material.cert().fingerprint.upper()})")
    store = open_store(config.store, migrate=False)
    with store.session():
        pass
    print("store: ok")
    tokens = check_oauth2(config, clock)
    mailbox = open_mailbox(config, clock, tokens)
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
    transport = open_transport(config, clock, tokens)
    try:
        # SMTP and Graph can prove a login without sending; a Maildir has nothing to prove.
        check = getattr(transport, "check", None)
        if check is not None:
            check()
    except DeliveryError as exc:
        raise CommandError(f"smtp: {exc.reason}") from exc
    finally:
        transport.close()
    print(f"smtp: ok ({config.smtp.transport})")
    return EXIT_OK


def check_oauth2(config: Config, clock: Clock) -> TokenSource | None:
    """With OAuth2: get a token first, so a failure names the token endpoint, not the login."""
    from mailtriage.mailbox.oauth2 import TokenError, load_certificate
    from mailtriage.service.oauth2_wiring import mail_token_source

    tokens = mail_token_source(config, clock, None)
    if tokens is None:
        return None
    try:
        tokens.token()
    except TokenError as exc:
        raise CommandError(f"oauth2: {exc.reason}") from None
    expires = tokens.expires_at()
    assert expires is not None and config.oauth2 is not None
    until = expires.astimezone(config.deadlines.tz).isoformat(timespec="seconds")
    print(f"oauth2: ok ({config.oauth2.provider}, token valid until {until})")
    if config.oauth2.certificate_file is not None:
        not_after = load_certificate(config.oauth2.certificate_file)[2].not_after
        days = (not_after - clock()).days
        print(f"oauth2 certificate: expires {not_after.date().isoformat()} (in {days} days)")
    return tokens


def cmd_status(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    from mailtriage.service.status import status_lines, status_object

    store = open_store(config.store)
    status = status_object(config, store, clock)
    if args.json:
        _print_json(status)
    else:
        print("\n".join(status_lines(status, config.deadlines.tz)))
    return EXIT_OK


def cmd_quarantine(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    from sqlalchemy import select

    from mailtriage.service.views import format_table, iso, printable
    from mailtriage.store.models import MessageStatus, StoredMessage

    tz = config.deadlines.tz
    store = open_store(config.store)
    if args.quarantine_command == "retry":
        from mailtriage.service.wiring import build  # the whole desk: only to process mail

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
    from mailtriage.service.wiring import build

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
    from mailtriage.service.views import credit_list, format_table, printable

    store = open_store(config.store)
    with store.session() as session:
        items = credit_list(session)
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
    if config.pgp.public_key_url:
        lines.append(f"Encryption: {config.pgp.public_key_url}")
    print("\n".join(lines))
    return EXIT_OK


def cmd_pgp_key(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    """The desk's public key, for the page security.txt's Encryption field points at."""
    from mailtriage.service.wiring import desk_key

    material = desk_key(config)
    if material is None:
        return _fail("pgp.key_file: not set, so the desk has no OpenPGP key", EXIT_FAILED)
    print(material.public_key().rstrip("\n"))
    return EXIT_OK


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def cmd_report(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    from mailtriage.policy.metrics import write_csv
    from mailtriage.service.reportpage import COLUMNS, cell
    from mailtriage.service.views import format_table
    from mailtriage.store.figures import report_months

    now = clock()
    store = open_store(config.store)
    with store.session() as session:
        months = report_months(session, config.deadlines, now, args.from_date, args.to_date)
    if args.html:
        promise = config.deadlines.first_response_workdays
        write_report_page(Path(args.html), months, promise, now.astimezone(config.deadlines.tz))
    if args.json:
        _print_json(
            {
                "first_response_workdays": config.deadlines.first_response_workdays,
                "months": [m.as_dict() for m in months],
            }
        )
    elif args.csv:
        write_csv(sys.stdout, months)
    else:
        assert len(REPORT_HEADER) == len(COLUMNS)
        rows = [
            tuple(cell(key, m.as_dict()[key]).replace("–", "-") for key, _ in COLUMNS)
            for m in months
        ]
        print(format_table(REPORT_HEADER, rows, "no months"))
        print(REPORT_LEGEND)
    return EXIT_OK


# The terminal table's short column names, in `reportpage.COLUMNS` order, and what they mean.
REPORT_HEADER = (
    "MONTH", "REPORTS", "REDIR", "AUTO", "ACK_MED", "ACK_P90", "FA_MED", "FA_P90",
    "IN_PROMISE", "CLOSE_MED", "CLOSE_P90", "OPEN", "OVERDUE",
)  # fmt: skip
REPORT_LEGEND = (
    "ACK: minutes to acknowledgement; FA: working days to first assessment; CLOSE: working "
    "days to close;\nMED: median; P90: 90th percentile (nearest rank); IN_PROMISE: first "
    "assessments within the promise."
)


def write_report_page(
    path: Path, months: list[MonthFigures], promise: int, now: dt.datetime
) -> None:
    from mailtriage.outgoing.charts import first_assessment_chart, outcomes_chart
    from mailtriage.service.reportpage import render_page

    page = render_page(
        months,
        outcomes_chart(months),
        first_assessment_chart(months, promise),
        promise,
        now,
    )
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc


def cmd_db(config: Config, args: argparse.Namespace, clock: Clock) -> int:
    open_store(config.store)
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
    "status": cmd_status,
    "quarantine": cmd_quarantine,
    "db": cmd_db,
    "purge": cmd_purge,
    "credits": cmd_credits,
    "security-txt": cmd_security_txt,
    "pgp-key": cmd_pgp_key,
    "report": cmd_report,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
