"""Writes a config.toml for a test, on top of defaults that keep everything on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.postgres import store_url


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_config(directory: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """Write `sections` (merged over maildir defaults) as directory/config.toml."""
    merged: dict[str, dict[str, Any]] = {
        "mailbox": {"source": "maildir", "path": str(directory / "inbox")},
        "smtp": {
            "transport": "maildir",
            "path": str(directory / "outbox"),
            "from_address": "security@example.nl",
        },
        # SQLite, or a fresh PostgreSQL database when MAILTRIAGE_TEST_STORE=postgresql.
        "store": {"url": store_url(directory)},
    }
    for name, values in sections.items():
        if values is None:
            merged.pop(name, None)
            continue
        if name == "mailbox" and values.get("source") == "imap":
            merged[name] = {}
        merged.setdefault(name, {}).update(values)
    lines: list[str] = []
    for name, values in merged.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    path = directory / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
