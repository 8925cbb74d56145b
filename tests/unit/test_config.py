"""The operator's view of configuration: a mistake stops start-up and names the key."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from mailtriage.config import ConfigError, load_config, parse_config
from mailtriage.mailbox.maildir import ensure_maildir
from mailtriage.service.cli import main

MINIMAL = {
    "mailbox": {"source": "maildir", "path": "spool"},
    "smtp": {"transport": "maildir", "path": "out", "from_address": "security@example.nl"},
}


def test_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = parse_config(MINIMAL, base_dir=tmp_path)
    assert config.mailbox.path == tmp_path / "spool"
    assert config.cases.ref_prefix == "PZEM-SEC"
    assert config.deadlines.timezone == "Europe/Amsterdam"
    assert config.deadlines.first_response_workdays == 5
    assert config.store.url == f"sqlite:///{tmp_path / 'mailtriage.sqlite'}"


def test_example_config_is_valid_and_documents_every_key() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    config = load_config(example)
    text = example.read_text(encoding="utf-8")
    from mailtriage.config import SECTIONS

    for section, cls in SECTIONS.items():
        assert f"[{section}]" in text
        for name in cls.__dataclass_fields__:
            assert f"{name} =" in text or f"# {name} =" in text, f"{section}.{name} undocumented"
    assert config.mailbox.source in ("imap", "maildir")


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"mailbox": {"sourse": "imap"}}, "mailbox.sourse: unknown key"),
        ({"cases": {"max_message_bytes": "big"}}, "cases.max_message_bytes: must be an integer"),
        ({"mailbox": {"idle": "yes"}}, "mailbox.idle: must be true or false"),
        ({"mailbox": {"tls": "maybe"}}, "mailbox.tls: must be one of"),
        ({"deadlines": {"extra_closed_days": ["2026-13-01"]}}, "deadlines.extra_closed_days[0]"),
        ({"deadlines": {"timezone": "Mars/Olympus"}}, "deadlines.timezone"),
        ({"deadlines": {"workdays": ["mon", "funday"]}}, "deadlines.workdays"),
        ({"retention": {"purge_after_closed_days": -1}}, "retention.purge_after_closed_days"),
        ({"frobnicate": {}}, "unknown section [frobnicate]"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, patch: dict, named: str) -> None:
    data = {k: dict(v) for k, v in MINIMAL.items()}
    for section, values in patch.items():
        data.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_config(data, base_dir=tmp_path)


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    data = {
        "mailbox": {"source": "maildir", "path": "x"},
        "smtp": {"transport": "maildir", "path": "o"},
    }
    with pytest.raises(ConfigError, match=r"smtp\.from_address: missing required key"):
        parse_config(data, base_dir=tmp_path)


def test_toml_dates_are_accepted_as_closed_days(tmp_path: Path) -> None:
    data = {**MINIMAL, "deadlines": {"extra_closed_days": [dt.date(2026, 12, 31), "2027-01-02"]}}
    config = parse_config(data, base_dir=tmp_path)
    assert config.deadlines.extra_closed_days == (dt.date(2026, 12, 31), dt.date(2027, 1, 2))


def test_cli_stops_with_exit_2_and_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[mailbox]\nsource = "maildir"\npath = "in"\npoll_interval_seconds = "often"\n'
        '[smtp]\ntransport = "maildir"\npath = "out"\nfrom_address = "security@example.nl"\n'
    )
    assert main(["--config", str(path), "cases"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "mailbox.poll_interval_seconds" in err[0]
    assert not (tmp_path / "mailtriage.sqlite").exists(), "nothing may start on a bad config"


def test_cli_reports_missing_file_and_broken_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "nope.toml"), "cases"]) == 2
    assert "not found" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("[mailbox\nsource=")
    assert main(["--config", str(broken), "cases"]) == 2
    assert "not valid TOML" in capsys.readouterr().err


# ---------------------------------------------------------------- secure defaults (issue 10)


def _with(patch: dict) -> dict:
    data = {k: dict(v) for k, v in MINIMAL.items()}
    for section, values in patch.items():
        data.setdefault(section, {}).update(values)
    return data


IMAP = {"source": "imap", "username": "security@example.nl", "password": "Correct-Horse-7"}
SMTP = {"transport": "smtp", "from_address": "security@example.nl"}


@pytest.mark.parametrize(
    "host", ["imap.example.nl", "192.0.2.10", "2001:db8::25", "localhost.example.test",
             "127.0.0.1.example.test", "::ffff:192.0.2.10"]
)
@pytest.mark.parametrize("section", ["mailbox", "smtp"])
def test_plaintext_to_a_remote_host_is_refused_naming_the_key(
    tmp_path: Path, section: str, host: str
) -> None:
    base = IMAP if section == "mailbox" else SMTP
    data = _with({section: {**base, "host": host, "tls": "none"}})
    with pytest.raises(ConfigError, match=rf"^{section}\.tls: .*loopback"):
        parse_config(data, base_dir=tmp_path)


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.3.4.5", "::1", "[::1]",
             "::ffff:127.0.0.1"]
)
@pytest.mark.parametrize("section", ["mailbox", "smtp"])
def test_plaintext_to_a_loopback_host_is_accepted(tmp_path: Path, section: str, host: str) -> None:
    base = IMAP if section == "mailbox" else SMTP
    config = parse_config(_with({section: {**base, "host": host, "tls": "none"}}), tmp_path)
    assert getattr(config, section).tls == "none"


def test_plaintext_host_is_irrelevant_for_local_maildirs(tmp_path: Path) -> None:
    data = _with({"mailbox": {"host": "imap.example.nl", "tls": "none"},
                  "smtp": {"host": "smtp.example.nl", "tls": "none"}})
    assert parse_config(data, base_dir=tmp_path).smtp.transport == "maildir"


@pytest.mark.parametrize("section", ["mailbox", "smtp"])
def test_password_and_password_file_exclude_each_other(tmp_path: Path, section: str) -> None:
    secret = tmp_path / "secret"
    secret.write_text("Tulpen-en-Klompen-3\n")
    base = IMAP if section == "mailbox" else {**SMTP, "host": "localhost", "tls": "none"}
    data = _with({section: {**base, "password": "old", "password_file": str(secret)}})
    with pytest.raises(
        ConfigError, match=re.escape(f"{section}.password, {section}.password_file")
    ):
        parse_config(data, base_dir=tmp_path)


def test_staff_auth_keys_default_to_the_documented_values(tmp_path: Path) -> None:
    cases = parse_config(MINIMAL, base_dir=tmp_path).cases
    assert cases.staff_auth == "dkim-or-spf"
    assert cases.allow_unauthenticated_staff is False


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"cases": {"staff_auth": "spf"}}, "cases.staff_auth: must be one of"),
        ({"cases": {"allow_unauthenticated_staff": "yes"}},
         "cases.allow_unauthenticated_staff: must be true or false"),
        ({"cases": {"trusted_authserv_ids": ["mx.example.nl", " "]}},
         "cases.trusted_authserv_ids[1]: must not be blank"),
    ],
)
def test_bad_staff_auth_values_name_the_key(tmp_path: Path, patch: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_config(_with(patch), base_dir=tmp_path)


def _config_file(tmp_path: Path, cases: str) -> Path:
    ensure_maildir(tmp_path / "in")
    path = tmp_path / "config.toml"
    path.write_text(
        '[mailbox]\nsource = "maildir"\npath = "in"\n'
        '[smtp]\ntransport = "maildir"\npath = "out"\nfrom_address = "security@example.nl"\n'
        f"[cases]\n{cases}\n"
    )
    return path


@pytest.mark.parametrize("command", [["check"], ["run", "--once"], ["ingest", "-"]])
def test_staff_without_trusted_ids_stops_the_desk_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = _config_file(tmp_path, 'staff = ["analyst@example.nl"]')
    assert main(["--config", str(path), *command]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cases.trusted_authserv_ids" in err[0]
    assert not (tmp_path / "mailtriage.sqlite").exists(), "nothing may start"


def test_staff_with_the_opt_out_start_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config_file(
        tmp_path, 'staff = ["analyst@example.nl"]\nallow_unauthenticated_staff = true'
    )
    assert main(["--config", str(path), "run", "--once"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "cases.allow_unauthenticated_staff" in warnings[0]


def test_no_staff_needs_no_trusted_ids(tmp_path: Path) -> None:
    path = _config_file(tmp_path, 'staff_notify = "security-team@example.nl"')
    assert main(["--config", str(path), "run", "--once"]) == 0


def test_staff_domains_default_to_the_domains_of_staff(tmp_path: Path) -> None:
    data = {**MINIMAL, "cases": {"staff": ["analyst@example.nl", "Lead@Example.NL"]}}
    assert parse_config(data, base_dir=tmp_path).cases.assign_domains == ("example.nl",)
    data["cases"] = {"staff": ["analyst@example.nl"], "staff_domains": ["example.nl", "pzem.nl"]}
    assert parse_config(data, base_dir=tmp_path).cases.assign_domains == ("example.nl", "pzem.nl")


def test_a_staff_domain_that_is_an_address_is_refused_by_name(tmp_path: Path) -> None:
    data = {**MINIMAL, "cases": {"staff_domains": ["bob@example.nl"]}}
    with pytest.raises(ConfigError, match=r"cases\.staff_domains"):
        parse_config(data, base_dir=tmp_path)
