"""`mailtriage check`, the operator's first command: it really logs in to IMAP and SMTP, and
says in one line what is wrong when something is."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.service.cli import main
from tests.support.config import write_config
from tests.support.dovecot import Dovecot, free_port
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration


def config(tmp_path: Path, dovecot: Dovecot, smtp: dict, **mailbox: object) -> Path:
    return write_config(
        tmp_path,
        {
            "mailbox": dovecot.mailbox_section(**{"timeout_seconds": 5, **mailbox}),
            "smtp": smtp,
        },
    )


def test_check_logs_in_everywhere_and_says_ok(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config(tmp_path, dovecot, smtp.smtp_config())), "check"]) == 0
    out = capsys.readouterr().out
    for line in ("config: ok", "store: ok", "mailbox: ok (imap)", "templates: ok", "smtp: ok"):
        assert line in out


def test_a_wrong_imap_password_is_one_clear_line(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, dovecot, smtp.smtp_config(), password="not-the-password")
    assert main(["--config", str(path), "check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "login failed" in err[0]
    assert "not-the-password" not in err[0]


def test_an_unreachable_smtp_server_is_one_clear_line(
    dovecot: Dovecot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    smtp = {
        "transport": "smtp",
        "host": "127.0.0.1",
        "port": free_port(),
        "tls": "none",
        "from_address": "security@example.nl",
        "timeout_seconds": 3,
    }
    assert main(["--config", str(config(tmp_path, dovecot, smtp)), "check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mailtriage: error: smtp:")
