"""`mailtriage security-txt`: the file researchers and their tools look for first (RFC 9116).

A security.txt is how a researcher finds the desk and its policy before they write; a wrong
one sends reports nowhere or makes scanners distrust the site. Parsers are strict: every
line is `Field: value`, `Contact` is a URI, `Expires` appears once as an RFC 3339 time and
should lie less than a year ahead (a stale file is to be treated as untrusted), and optional
fields must not be printed empty. So these tests read the command's output as such a parser
would, for the default config and for one that names the policy and the canonical URL.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from mailtriage.service.cli import main
from tests.support.config import write_config

FIELD_LINE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9-]*): (?P<value>\S(?:.*\S)?)$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")
POLICY_URL = "https://www.example.nl/responsible-disclosure"
CANONICAL_URL = "https://www.example.nl/.well-known/security.txt"


def security_txt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """Run the command on a config with `policy`; its (field, value) pairs, in order."""
    sections: dict[str, dict[str, Any]] = {}
    if policy is not None:
        sections["policy"] = policy
    config = write_config(tmp_path, sections)
    code = main(["--config", str(config), "security-txt"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.endswith("\n")
    fields: list[tuple[str, str]] = []
    for line in out.splitlines():
        found = FIELD_LINE.match(line)
        assert found, f"not a `Field: value` line: {line!r}"
        fields.append((found["name"], found["value"]))
    return fields


def values(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in fields if n.lower() == name.lower()]


def expires(fields: list[tuple[str, str]]) -> dt.datetime:
    (value,) = values(fields, "Expires")  # RFC 9116 2.5.5: exactly once
    assert RFC3339_UTC.match(value), f"Expires is not an RFC 3339 UTC time: {value!r}"
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_default_config_gives_contact_expiry_languages_and_nothing_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fields = security_txt(tmp_path, capsys)
    after = dt.datetime.now(dt.UTC)

    assert values(fields, "Contact") == ["mailto:security@example.nl"]  # smtp.from_address
    assert values(fields, "Preferred-Languages") == ["nl, en"]
    expiry = expires(fields)
    # The default validity is 180 days: comfortably under the year RFC 9116 recommends.
    assert before + dt.timedelta(days=180) <= expiry <= after + dt.timedelta(days=180)
    assert expiry < after + dt.timedelta(days=365)
    # No policy configured: no Policy field at all (an empty one would be invalid).
    assert values(fields, "Policy") == []
    assert values(fields, "Canonical") == []
    assert {n for n, _ in fields} == {"Contact", "Expires", "Preferred-Languages"}


def test_configured_policy_canonical_url_and_validity_are_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = {"url": POLICY_URL, "canonical_url": CANONICAL_URL, "security_txt_valid_days": 30}
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fields = security_txt(tmp_path, capsys, policy)
    after = dt.datetime.now(dt.UTC)

    assert values(fields, "Policy") == [POLICY_URL]
    assert values(fields, "Canonical") == [CANONICAL_URL]
    assert values(fields, "Contact") == ["mailto:security@example.nl"]
    assert values(fields, "Preferred-Languages") == ["nl, en"]
    assert before + dt.timedelta(days=30) <= expires(fields) <= after + dt.timedelta(days=30)
    # The desk's address comes first: it is the contact the policy names.
    assert fields[0] == ("Contact", "mailto:security@example.nl")


def test_the_contact_follows_the_configured_team_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path, {"smtp": {"from_address": "cvd@security.example.org"}, "policy": {}}
    )
    assert main(["--config", str(config), "security-txt"]) == 0
    out = capsys.readouterr().out
    assert "Contact: mailto:cvd@security.example.org\n" in out
    assert "security@example.nl" not in out
