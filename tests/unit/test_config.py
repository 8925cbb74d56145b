"""The operator's view of configuration: a mistake stops start-up and names the key."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from mailtriage.cli import main
from mailtriage.config import ConfigError, load_config, parse_config

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
