"""OAuth2 logins as Microsoft 365 and Google Workspace need them: IMAP `AUTHENTICATE XOAUTH2`
against a real Dovecot (its `oauth2` passdb introspects every token) and SMTP `AUTH XOAUTH2`
against a real aiosmtpd server, both checking tokens with a local OAuth2 server that issues
20-second tokens (tests/support/oauth2_server.py: the stand-in for the identity provider).

What a user would notice: every report is acknowledged while tokens come and go; a revoked
token, a token endpoint that is down and a wrong client secret each give one clear line,
lose nothing and heal (the wrong secret once the file is fixed) without a restart; and no
token or secret ever shows in a log, in `check`, in `status` or in a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailtriage.config import load_config
from mailtriage.mailbox.base import MailboxError
from mailtriage.mailbox.oauth2 import xoauth2_b64
from mailtriage.outgoing.transport.base import DeliveryError
from mailtriage.outgoing.transport.smtp import SmtpTransport
from mailtriage.service.cli import main
from mailtriage.service.oauth2_wiring import mail_token_source
from mailtriage.service.wiring import App, build
from tests.support.clock import QUIET_WORKDAY_MORNING, FakeClock
from tests.support.config import write_config
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.oauth2_server import Client, TokenServer, http_introspection
from tests.support.smtp import SmtpServer

pytestmark = [
    pytest.mark.integration,
    # The XOAUTH2 SMTP server takes AUTH in plain text on loopback (as the desk's config
    # allows for a loopback host); aiosmtpd warns about that on every connection.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

DESK = "security@example.test"
CLIENT_ID = "mailtriage-desk"
SECRET = "desk-secret-Zq8vW3pL0xR7"
STAFF = "security-team@example.nl"
# The desk's now in the in-process tests: a working-day morning before the digest.
CLOCK_NOW = QUIET_WORKDAY_MORNING


@pytest.fixture
def idp(request: pytest.FixtureRequest) -> Iterator[TokenServer]:
    """The identity provider's stand-in, issuing 20-second tokens (or `request.param`)."""
    with TokenServer(lifetime=getattr(request, "param", 20)) as server:
        server.add_client(Client(CLIENT_ID, secret=SECRET, subject=DESK, scopes=("mail",)))
        yield server


@pytest.fixture
def imap(idp: TokenServer) -> Iterator[Dovecot]:
    with Dovecot(oauth2_introspection_url=idp.introspection_url) as server:
        yield server


@pytest.fixture
def smtp_oauth(idp: TokenServer) -> Iterator[SmtpServer]:
    with SmtpServer(introspect=http_introspection(idp.introspection_url)) as server:
        yield server


def oauth_config(
    tmp_path: Path, imap: Dovecot, smtp: SmtpServer, idp: TokenServer, **mb: object
) -> Path:
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(SECRET + "\n")
    mailbox = imap.mailbox_section(auth="oauth2", timeout_seconds=5, **mb)
    del mailbox["password"]
    return write_config(
        tmp_path,
        {
            "mailbox": mailbox,
            "smtp": {**smtp.smtp_config(), "auth": "oauth2", "username": DESK},
            "cases": {"staff_notify": STAFF},
            "oauth2": {
                "provider": "generic",
                "client_id": CLIENT_ID,
                "client_secret_file": str(secret_file),
                "token_url": idp.token_url,
                "scopes": ["mail"],
            },
        },
    )


def report(i: int) -> bytes:
    return make_mail(
        sender=f"Onderzoeker {i} <onderzoeker{i}@example.test>",
        subject=f"Kwetsbaarheid {i} in het portaal",
        body=f"Op https://portaal{i}.example.nl/login zit een lek (27-11-2026 14:{i:02d}).",
    )


def deliver(imap: Dovecot, i: int, at: dt.datetime | None = None) -> None:
    """Put report `i` in the inbox, received `at` (the desk's now; default the real now,
    for the daemon tests), so the desk does not take it for old mail it may not answer."""
    with imap.client() as client:
        client.append("INBOX", report(i), flags=(), msg_time=at or dt.datetime.now(dt.UTC))


def acked(smtp: SmtpServer, i: int) -> int:
    return sum(
        1
        for r in smtp.to(f"onderzoeker{i}@example.test")
        if "auto-replied" in (r.message["Auto-Submitted"] or "")
    )


def inbox_count(imap: Dovecot) -> int:
    with imap.client() as client:
        client.select_folder("INBOX")
        return len(client.search("ALL"))


def leaked(text: str, idp: TokenServer) -> list[str]:
    """The secret and every token the stand-in issued (also as the base64 XOAUTH2 string
    sent on the wire) that occur in `text`."""
    tokens = idp.token_values()
    wire = [xoauth2_b64(DESK, t) for t in tokens]
    return [s[:8] + "…" for s in [SECRET, *tokens, *wire] if s in text]


# -- acceptance 1: a daemon over several token lifetimes -----------------------------------------


@pytest.mark.timed_waits  # a real daemon on real short-lived tokens: stalls under libfaketime
@pytest.mark.parametrize("idp", [10], indirect=True)  # 10-second tokens keep the test short
def test_a_daemon_over_several_token_lifetimes_acknowledges_every_report_without_login_failure(
    imap: Dovecot, smtp_oauth: SmtpServer, idp: TokenServer, tmp_path: Path
) -> None:
    config = oauth_config(tmp_path, imap, smtp_oauth, idp, poll_interval_seconds=5)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "-v", "run"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    reports = 6
    try:
        # One report every 6 s: 36 s, more than three token lifetimes.
        for i in range(1, reports + 1):
            deliver(imap, i)
            time.sleep(6)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
            acked(smtp_oauth, i) for i in range(1, reports + 1)
        ):
            time.sleep(0.2)
    finally:
        daemon.terminate()
        _, err_bytes = daemon.communicate(timeout=30)
    err = err_bytes.decode(errors="replace")
    assert [acked(smtp_oauth, i) for i in range(1, reports + 1)] == [1] * reports, err[-3000:]
    assert inbox_count(imap) == 0
    # Tokens were renewed as they ran out, and every login was taken at the first try.
    assert len(idp.issued) >= 3
    assert smtp_oauth.refused_logins == 0
    dovecot_log = imap.log_path.read_text()
    assert dovecot_log.count("method=XOAUTH2") >= 3
    assert "auth failed" not in dovecot_log.lower()
    complaints = [
        line
        for line in err.splitlines()
        if " WARNING " in line or " ERROR " in line or "refused" in line or "Traceback" in line
    ]
    assert complaints == []
    assert leaked(err, idp) == []


OUTAGE_SECONDS = 60  # the "a token endpoint that is down for a minute"


@pytest.mark.timed_waits  # a real daemon, real tokens, a real outage: stalls under libfaketime
@pytest.mark.parametrize("idp", [5], indirect=True)  # 5-second tokens: the outage spans 10+
def test_a_daemon_rides_out_a_token_endpoint_outage_and_answers_everything_after(
    imap: Dovecot, smtp_oauth: SmtpServer, idp: TokenServer, tmp_path: Path
) -> None:
    config = oauth_config(tmp_path, imap, smtp_oauth, idp, poll_interval_seconds=2)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "-v", "run"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deliver(imap, 1)
        wait_until(lambda: acked(smtp_oauth, 1) == 1, 20)
        idp.down()
        down_since = time.monotonic()
        time.sleep(6)  # the token the daemon holds runs out; no new one can be had
        for i in (2, 3):
            deliver(imap, i)
            time.sleep(3)
        # A minute without a token endpoint: reports are read (the IMAP session stays logged
        # in) but no reply can be sent; it waits in the outbox.
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
        assert acked(smtp_oauth, 2) + acked(smtp_oauth, 3) == 0
        idp.start()
        wait_until(lambda: acked(smtp_oauth, 2) == 1 and acked(smtp_oauth, 3) == 1, 40)
    finally:
        daemon.terminate()
        _, err_bytes = daemon.communicate(timeout=30)
    err = err_bytes.decode(errors="replace")
    assert [acked(smtp_oauth, i) for i in (1, 2, 3)] == [1, 1, 1], err[-3000:]
    assert inbox_count(imap) == 0
    outage = [line for line in err.splitlines() if "unreachable" in line]
    assert outage, err[-3000:]
    assert all("token endpoint" in line for line in outage)
    warned = [line for line in outage if "WARNING" in line]
    assert len(warned) == 1, "one clear line for the whole minute, not one per retry"
    assert "Traceback" not in err
    assert leaked(err, idp) == []


def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)


# -- acceptance 2: revoked, down, wrong secret -----------------------------------------------------


@pytest.fixture
def desk(imap: Dovecot, smtp_oauth: SmtpServer, idp: TokenServer, tmp_path: Path) -> Iterator[App]:
    """A long-lived desk as the daemon holds it (one token source for its whole life),
    driven pass by pass."""
    # A fixed instant in the past: Dovecot keeps real time, and an INTERNALDATE in its
    # future (where `make test`'s faketime puts this process) would not be kept.
    clock = FakeClock(CLOCK_NOW)
    app = build(load_config(oauth_config(tmp_path, imap, smtp_oauth, idp)), clock)
    app.clock_for_test = clock  # type: ignore[attr-defined]
    yield app
    app.close()


def next_pass(app: App) -> MailboxError | None:
    """One pass a minute after the last (outbox retries are due again); its MailboxError."""
    app.clock_for_test.advance(dt.timedelta(minutes=1))  # type: ignore[attr-defined]
    try:
        app.one_pass(with_jobs=False)
    except MailboxError as exc:
        return exc
    return None


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the desk warned about (the test SMTP server's own warnings left out)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("mailtriage")
    ]


def test_a_revoked_token_is_replaced_at_once_and_nothing_waits(
    desk: App,
    imap: Dovecot,
    smtp_oauth: SmtpServer,
    idp: TokenServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    deliver(imap, 1, desk.clock())
    assert next_pass(desk) is None
    assert acked(smtp_oauth, 1) == 1

    # An administrator revoked the app's tokens; the desk still holds one, unexpired.
    idp.revoke_all()
    deliver(imap, 2, desk.clock())
    caplog.clear()
    assert next_pass(desk) is None
    assert acked(smtp_oauth, 2) == 1
    assert inbox_count(imap) == 0
    assert warnings(caplog) == []
    retries = [
        r.getMessage() for r in caplog.records if "retrying once with a new token" in r.getMessage()
    ]
    assert len(retries) <= 2  # one clear line per login that met the revoked token
    assert leaked(caplog.text, idp) == []


def test_a_token_endpoint_that_is_down_costs_a_clear_line_loses_nothing_and_heals(
    desk: App,
    imap: Dovecot,
    smtp_oauth: SmtpServer,
    idp: TokenServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    deliver(imap, 1, desk.clock())
    assert next_pass(desk) is None

    idp.down()
    idp.revoke_all()  # the held token is no good either: every login needs a new one
    deliver(imap, 2, desk.clock())
    error = next_pass(desk)
    assert error is not None
    assert "token endpoint" in str(error) and "unreachable" in str(error)
    assert "\n" not in str(error)
    assert acked(smtp_oauth, 2) == 0 and inbox_count(imap) == 1  # waiting, not lost

    idp.start()
    assert next_pass(desk) is None
    assert acked(smtp_oauth, 2) == 1
    assert inbox_count(imap) == 0
    assert leaked(caplog.text + str(error), idp) == []


def test_a_wrong_client_secret_keeps_failing_clearly_until_the_file_is_fixed(
    desk: App,
    imap: Dovecot,
    smtp_oauth: SmtpServer,
    idp: TokenServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    new_secret = idp.rotate_secret(CLIENT_ID)
    idp.revoke_all()
    deliver(imap, 1, desk.clock())
    for _ in range(2):
        error = next_pass(desk)
        assert error is not None
        assert "invalid_client" in str(error) and "client secret" in str(error)
        assert inbox_count(imap) == 1 and acked(smtp_oauth, 1) == 0

    # One clear line for the whole time it fails, however often it is tried.
    [line] = [w for w in warnings(caplog) if "no token" in w]
    assert "invalid_client" in line
    (tmp_path / "client-secret").write_text(new_secret + "\n")  # the administrator fixes it
    assert next_pass(desk) is None
    assert acked(smtp_oauth, 1) == 1 and inbox_count(imap) == 0
    assert "tokens are issued again" in caplog.text
    assert leaked(caplog.text, idp) == [] and new_secret not in caplog.text


def test_smtp_replaces_a_revoked_token_once_and_sends(
    smtp_oauth: SmtpServer, idp: TokenServer, imap: Dovecot, tmp_path: Path
) -> None:
    config = load_config(oauth_config(tmp_path, imap, smtp_oauth, idp))
    tokens = mail_token_source(config, FakeClock(dt.datetime.now(dt.UTC)), None)
    assert tokens is not None
    tokens.token()
    idp.revoke_all()  # the transport still holds it
    transport = SmtpTransport(config.smtp, tokens)
    try:
        transport.send(
            sender=DESK, recipient="onderzoeker1@example.test", raw=report(1), key="<k1@x>"
        )
    finally:
        transport.close()
    assert smtp_oauth.refused_logins == 1 and smtp_oauth.logins == [DESK]
    assert len(smtp_oauth.to("onderzoeker1@example.test")) == 1

    idp.rotate_secret(CLIENT_ID)
    idp.revoke_all()
    transport = SmtpTransport(config.smtp, tokens)
    with pytest.raises(DeliveryError) as caught:
        transport.send(
            sender=DESK, recipient="onderzoeker2@example.test", raw=report(2), key="<k2@x>"
        )
    assert not caught.value.permanent and caught.value.ends_round  # retried later, not lost
    assert "invalid_client" in caught.value.reason
    assert leaked(caught.value.reason, idp) == []


# -- acceptance 3 and `check` / `status` -----------------------------------------------------------


def test_check_and_status_show_the_token_expiry_and_never_a_token_or_secret(
    imap: Dovecot,
    smtp_oauth: SmtpServer,
    idp: TokenServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = oauth_config(tmp_path, imap, smtp_oauth, idp)
    outputs: list[str] = []

    def run(*argv: str) -> int:
        code = main(["--config", str(config), "-v", *argv], clock=FakeClock(CLOCK_NOW))
        out = capsys.readouterr()
        outputs.append(out.out + out.err)
        return code

    assert run("check") == 0
    assert "oauth2: ok (generic, token valid until" in outputs[-1]
    assert "mailbox: ok" in outputs[-1] and "smtp: ok" in outputs[-1]
    deliver(imap, 1, CLOCK_NOW)
    assert run("run", "--once") == 0
    assert run("status") == 0
    assert "oauth2: generic, token valid until" in outputs[-1]
    assert run("status", "--json") == 0
    assert '"token_expires_at": "20' in outputs[-1]

    # Each failure is one line that says what failed.
    idp.refuse_with("consent_required")
    assert run("check") == 1
    [line] = [x for x in outputs[-1].splitlines() if "error" in x]
    assert line.startswith("mailtriage: error: oauth2: ")
    assert "consent_required" in line and "admin consent" in line
    idp.refuse_with(None)
    idp.down()
    assert run("check") == 1
    [line] = [x for x in outputs[-1].splitlines() if "error" in x]
    assert "token endpoint" in line and "unreachable" in line
    idp.start()

    # A traceback of a refused login, as a crash report would show it.
    idp.rotate_secret(CLIENT_ID)
    app = build(load_config(config), FakeClock(CLOCK_NOW))
    try:
        app.one_pass(with_jobs=False)
    except MailboxError:
        outputs.append(traceback.format_exc())
    finally:
        app.close()
    assert "invalid_client" in outputs[-1]

    everything = "\n".join(outputs) + caplog.text
    assert idp.token_values(), "the stand-in issued tokens"
    assert leaked(everything, idp) == []


def test_check_says_when_a_good_token_is_refused_by_the_mailbox(
    imap: Dovecot,
    smtp_oauth: SmtpServer,
    idp: TokenServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The token endpoint issues tokens, but for another mailbox: what Exchange answers when
    # the app has no Add-MailboxPermission on security@.
    idp.clients[CLIENT_ID].subject = "someone-else@example.test"
    config = oauth_config(tmp_path, imap, smtp_oauth, idp)
    assert main(["--config", str(config), "check"]) == 1
    out = capsys.readouterr()
    assert "oauth2: ok" in out.out
    [line] = [x for x in out.err.splitlines() if "error" in x]
    assert line.startswith("mailtriage: error: mailbox: IMAP XOAUTH2 login refused for user")
    assert "newly issued token" in line and "granted access to this mailbox" in line
    assert leaked(out.out + out.err, idp) == []
