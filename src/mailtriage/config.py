"""Typed configuration, read once from TOML and validated before anything starts.

An operator's typo must stop the daemon with a message that names the key, not surface as an
odd behaviour days later; so every section is a frozen dataclass, every key is checked for its
type and allowed values, and keys nobody reads are refused. The loaded `Config` is passed
explicitly to whatever needs it; there is no global configuration object.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import tomllib
import types
import typing
import urllib.parse
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from mailtriage.dutch_holidays import unknown_holiday_names

CONFIG_ENV = "MAILTRIAGE_CONFIG"
SYSTEM_CONFIG = Path("/etc/mailtriage/config.toml")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""


TLSMode = Literal["ssl", "starttls", "none"]

# What an Authentication-Results header must show for a staff mail to count (see staffauth).
StaffAuth = Literal["dkim-or-spf", "dkim"]

# How the daemon logs in to IMAP and SMTP: a password, or an OAuth2 access token
# (`AUTHENTICATE XOAUTH2` / `AUTH XOAUTH2`) from the [oauth2] section.
AuthMode = Literal["password", "oauth2"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class MailboxConfig:
    source: Literal["imap", "maildir", "graph"]
    host: str = "localhost"
    port: int | None = None
    tls: TLSMode = "ssl"
    ca_file: Path | None = None
    username: str = ""
    password: str | None = None
    password_file: Path | None = None
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    idle: bool = True
    poll_interval_seconds: int = 60
    timeout_seconds: int = 60
    path: Path | None = None
    # Microsoft Graph's endpoint, for source = "graph" and [smtp] transport = "graph":
    # another for a national cloud, or a local stand-in (http only on loopback).
    graph_url: str = "https://graph.microsoft.com/v1.0"
    auth: AuthMode = "password"

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.tls == "ssl" else 143

    def secret(self) -> str:
        return _read_secret(self.password, self.password_file, "mailbox")


@dataclass(frozen=True)
class SmtpConfig:
    from_address: str
    transport: Literal["smtp", "maildir", "graph"] = "smtp"
    host: str = "localhost"
    port: int | None = None
    tls: TLSMode = "starttls"
    ca_file: Path | None = None
    username: str = ""
    password: str | None = None
    password_file: Path | None = None
    from_name: str = "Security Team"
    path: Path | None = None
    timeout_seconds: int = 30
    retry_initial_seconds: int = 60
    retry_max_seconds: int = 3600
    give_up_after_hours: int = 48
    auth: AuthMode = "password"

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"ssl": 465, "starttls": 587, "none": 25}[self.tls]

    def secret(self) -> str:
        return _read_secret(self.password, self.password_file, "smtp")


@dataclass(frozen=True)
class StoreConfig:
    url: str = "sqlite:///mailtriage.sqlite"
    busy_timeout_seconds: int = 10


def _host_name() -> str:
    import socket

    return socket.gethostname() or "localhost"


@dataclass(frozen=True)
class ClusterConfig:
    """Several daemons on one store: this node's name, and how long its lease lasts unrenewed."""

    node_name: str = field(default_factory=_host_name)
    lease_seconds: int = 15


@dataclass(frozen=True)
class CasesConfig:
    ref_prefix: str = "PZEM-SEC"
    staff: tuple[str, ...] = ()
    staff_notify: str | None = None
    # Domains whose addresses are colleagues: `#assign` takes any of them, and none of them
    # may reach a reporter in a relayed text. Empty: the domains of `staff`.
    staff_domains: tuple[str, ...] = ()
    trusted_authserv_ids: tuple[str, ...] = ()
    staff_auth: StaffAuth = "dkim-or-spf"
    allow_unauthenticated_staff: bool = False
    max_message_bytes: int = 50_000_000
    max_attempts: int = 3
    max_autoreplies_per_sender_per_day: int = 5
    autoreply_max_age_days: int = 7
    # `#attachments`: the password of the AES-encrypted ZIP the case's files are mailed in
    # ("infected" is the convention that keeps mail gateways from stripping proof-of-concept
    # code), and the size one such mail stays under; a larger set goes in several mails.
    attachment_zip_password: str = "infected"
    attachment_mail_max_bytes: int = 10_000_000

    @property
    def assign_domains(self) -> tuple[str, ...]:
        """The staff domains in effect: `staff_domains`, else those of `staff`, lower case."""
        given = self.staff_domains or tuple(a.rpartition("@")[2] for a in self.staff if "@" in a)
        return tuple(dict.fromkeys(d.strip().lower().lstrip("@") for d in given if d.strip()))


@dataclass(frozen=True)
class DeadlinesConfig:
    timezone: str = "Europe/Amsterdam"
    first_response_workdays: int = 5
    update_interval_workdays: int = 10
    workdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays_exclude: tuple[str, ...] = ()
    extra_closed_days: tuple[dt.date, ...] = ()
    liberation_day_every_year: bool = False
    digest_time: str = "08:00"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


@dataclass(frozen=True)
class RetentionConfig:
    purge_after_closed_days: int = 90
    redirected_purge_days: int = 30
    ignored_purge_days: int = 30
    quarantine_purge_days: int = 90


@dataclass(frozen=True)
class TemplatesConfig:
    path: Path | None = None


@dataclass(frozen=True)
class PolicyConfig:
    contact_form_url: str | None = None
    url: str | None = None
    canonical_url: str | None = None
    security_txt_valid_days: int = 180


@dataclass(frozen=True)
class PgpConfig:
    """The desk's OpenPGP key (`openpgp.py`): without key_file, encrypted reports are
    acknowledged as undecryptable, and mail to reporters with a key is encrypted unsigned."""

    key_file: Path | None = None  # the desk's armoured secret key
    passphrase_file: Path | None = None
    public_key_url: str | None = None  # security.txt's Encryption field


@dataclass(frozen=True)
class OAuth2Config:
    """Where the OAuth2 access tokens for `auth = "oauth2"` come from (see oauth2.py)."""

    provider: Literal["microsoft", "google", "generic"]
    client_id: str = ""
    client_secret_file: Path | None = None
    # Microsoft: the PEM holding the certificate and its private key (preferred to a secret).
    certificate_file: Path | None = None
    tenant_id: str = ""
    # Microsoft, other clouds only: e.g. https://login.microsoftonline.us
    authority: str | None = None
    # Google: the service account's JSON key (domain-wide delegation).
    service_account_file: Path | None = None
    token_url: str | None = None
    scopes: tuple[str, ...] = ()
    ca_file: Path | None = None


@dataclass(frozen=True)
class ObligationsConfig:
    """The reporting clocks of `#exploited` and `#incident` (calendar time, not working days)."""

    early_warning_hours: int = 24
    notification_hours: int = 72
    exploited_final_days: int = 14  # after the case reaches `resolved`
    incident_final_months: int = 1


@dataclass(frozen=True)
class Config:
    mailbox: MailboxConfig
    smtp: SmtpConfig
    store: StoreConfig = field(default_factory=StoreConfig)
    cases: CasesConfig = field(default_factory=CasesConfig)
    deadlines: DeadlinesConfig = field(default_factory=DeadlinesConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    pgp: PgpConfig = field(default_factory=PgpConfig)
    oauth2: OAuth2Config | None = None
    obligations: ObligationsConfig = field(default_factory=ObligationsConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    source_path: Path | None = None

    @property
    def own_addresses(self) -> frozenset[str]:
        """Addresses that are us: mail from them must never be answered automatically."""
        return frozenset({self.smtp.from_address.lower()} | _lower_set(self.mailbox.username))


def _lower_set(value: str) -> set[str]:
    return {value.lower()} if "@" in value else set()


def _read_secret(password: str | None, password_file: Path | None, section: str) -> str:
    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{section}.password_file: cannot read ({exc.strerror})") from exc
    return password or ""


SECTIONS: dict[str, type] = {
    "mailbox": MailboxConfig,
    "smtp": SmtpConfig,
    "store": StoreConfig,
    "cases": CasesConfig,
    "deadlines": DeadlinesConfig,
    "retention": RetentionConfig,
    "templates": TemplatesConfig,
    "policy": PolicyConfig,
    "pgp": PgpConfig,
    "oauth2": OAuth2Config,
    "obligations": ObligationsConfig,
    "cluster": ClusterConfig,
}

# Sections that are absent (None) unless the config has them.
OPTIONAL_SECTIONS = frozenset({"oauth2"})


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The contract's search order: --config, $MAILTRIAGE_CONFIG, ./config.toml, /etc."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path("config.toml")
    if local.exists():
        return local
    return SYSTEM_CONFIG


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} not found") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from exc
    return parse_config(data, base_dir=path.resolve().parent, source_path=path)


def parse_config(data: dict[str, Any], base_dir: Path, source_path: Path | None = None) -> Config:
    """Turn a TOML document into a Config; relative paths are taken from `base_dir`."""
    for name in data:
        if name not in SECTIONS:
            raise ConfigError(f"unknown section [{name}]")
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        raw = data.get(name)
        if raw is None and name in OPTIONAL_SECTIONS:
            sections[name] = None
            continue
        if raw is None:
            if name in ("mailbox", "smtp"):
                raise ConfigError(f"missing required section [{name}]")
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{name}: must be a table")
        sections[name] = _build_section(name, cls, raw, base_dir)
    sections["store"] = dataclasses.replace(
        sections["store"], url=_resolve_sqlite_url(sections["store"].url, base_dir)
    )
    config = Config(**sections, source_path=source_path)
    _check_semantics(config)
    return config


def _build_section(section: str, cls: type, raw: dict[str, Any], base_dir: Path) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            raise ConfigError(f"{section}.{key}: unknown key")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        key = f"{section}.{name}"
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: missing required key")
            continue
        values[name] = _coerce(key, raw[name], hints[name], base_dir)
    return cls(**values)


def _coerce(key: str, value: Any, hint: Any, base_dir: Path) -> Any:
    origin = get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in get_args(hint) if a is not type(None)]
        return _coerce(key, value, options[0], base_dir)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ConfigError(f"{key}: must be one of {choices}, not {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: must be a list")
        item_type = get_args(hint)[0]
        return tuple(_coerce(f"{key}[{i}]", v, item_type, base_dir) for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: must be an integer")
        if value < 0:
            raise ConfigError(f"{key}: must not be negative")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: must be a string")
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key}: must be a path")
        return (base_dir / value).resolve() if not os.path.isabs(value) else Path(value)
    if hint is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: must be a date (YYYY-MM-DD)")
    raise ConfigError(f"{key}: unsupported type")  # pragma: no cover - a programming error


def _check_semantics(config: Config) -> None:
    mb = config.mailbox
    if mb.source == "maildir" and mb.path is None:
        raise ConfigError("mailbox.path: required when mailbox.source is 'maildir'")
    if mb.source == "imap" and not mb.username:
        raise ConfigError("mailbox.username: required when mailbox.source is 'imap'")
    if config.smtp.transport == "maildir" and config.smtp.path is None:
        raise ConfigError("smtp.path: required when smtp.transport is 'maildir'")
    if "graph" in (mb.source, config.smtp.transport):
        _check_graph(mb)
    _check_secrets("mailbox", mb.password, mb.password_file)
    _check_oauth2(config)
    _check_secrets("smtp", config.smtp.password, config.smtp.password_file)
    if mb.source == "imap":
        _check_plaintext("mailbox", mb.tls, mb.host)
    if config.smtp.transport == "smtp":
        _check_plaintext("smtp", config.smtp.tls, config.smtp.host)
    for index, authserv_id in enumerate(config.cases.trusted_authserv_ids):
        if not authserv_id.strip():
            raise ConfigError(f"cases.trusted_authserv_ids[{index}]: must not be blank")
    if "@" not in config.smtp.from_address:
        raise ConfigError("smtp.from_address: must be an e-mail address")
    for domain in config.cases.staff_domains:
        bare = domain.strip().lstrip("@")
        if "@" in bare or "." not in bare or any(c.isspace() for c in bare):
            raise ConfigError(
                f"cases.staff_domains: {domain!r} is not a domain name like example.nl"
            )
    if config.cases.max_message_bytes < 1024:
        raise ConfigError("cases.max_message_bytes: must be at least 1024")
    if config.cases.max_attempts < 1:
        raise ConfigError("cases.max_attempts: must be at least 1")
    if not config.cases.ref_prefix or not all(
        c.isalnum() or c == "-" for c in config.cases.ref_prefix
    ):
        raise ConfigError("cases.ref_prefix: letters, digits and '-' only")
    for day in config.deadlines.workdays:
        if day not in WEEKDAYS:
            raise ConfigError(f"deadlines.workdays: {day!r} is not one of {', '.join(WEEKDAYS)}")
    if not config.deadlines.workdays:
        raise ConfigError("deadlines.workdays: at least one day of the week is a working day")
    unknown = unknown_holiday_names(config.deadlines.holidays_exclude)
    if unknown:
        raise ConfigError(
            f"deadlines.holidays_exclude: not a Dutch public holiday: {', '.join(unknown)}"
        )
    try:
        zoneinfo.ZoneInfo(config.deadlines.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"deadlines.timezone: unknown time zone {config.deadlines.timezone!r}"
        ) from exc
    try:
        dt.time.fromisoformat(config.deadlines.digest_time)
    except ValueError as exc:
        raise ConfigError('deadlines.digest_time: must be a time of day like "08:00"') from exc
    if config.deadlines.first_response_workdays < 1:
        raise ConfigError("deadlines.first_response_workdays: must be at least 1")
    if config.pgp.passphrase_file is not None and config.pgp.key_file is None:
        raise ConfigError("pgp.passphrase_file: given without pgp.key_file")
    url = config.pgp.public_key_url
    if url is not None and not url.startswith("https://"):
        raise ConfigError("pgp.public_key_url: must be an https:// URL (RFC 9116)")
    for name in ("early_warning_hours", "notification_hours", "exploited_final_days"):
        if getattr(config.obligations, name) < 1:
            raise ConfigError(f"obligations.{name}: must be at least 1")
    if config.obligations.incident_final_months < 1:
        raise ConfigError("obligations.incident_final_months: must be at least 1")


def _check_graph(mb: MailboxConfig) -> None:
    """Graph is reached as the mailbox `username`, over TLS unless it is a local stand-in."""
    if not mb.username:
        raise ConfigError("mailbox.username: required for Microsoft Graph (the mailbox address)")
    parts = urllib.parse.urlsplit(mb.graph_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"mailbox.graph_url: not an https URL: {mb.graph_url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            "mailbox.graph_url: http would send the access token in clear; it is allowed only "
            f"for a loopback host, not {parts.hostname!r}"
        )


def _check_secrets(section: str, password: str | None, password_file: Path | None) -> None:
    """Two sources for one secret leave the operator guessing which one is used (and a
    password left in the config file after moving it to a file is still readable there)."""
    if password is not None and password_file is not None:
        raise ConfigError(
            f"{section}.password, {section}.password_file: give one of them, not both"
        )


def _check_oauth2(config: Config) -> None:
    """`auth = "oauth2"` needs a usable [oauth2] section; an [oauth2] section must be complete
    for its provider, with readable files, before anything starts."""
    users = [
        (name, section)
        for name, section in (("mailbox", config.mailbox), ("smtp", config.smtp))
        if section.auth == "oauth2"
    ]
    for name, section in users:
        if config.oauth2 is None:
            raise ConfigError(f'{name}.auth: "oauth2" needs an [oauth2] section')
        if section.password is not None or section.password_file is not None:
            raise ConfigError(
                f'{name}.password: not used with {name}.auth = "oauth2"; remove it'
            )
        if not section.username:
            raise ConfigError(f'{name}.username: required with {name}.auth = "oauth2"')
    oauth = config.oauth2
    if oauth is None:
        return
    allowed = {
        "microsoft": {"client_id", "tenant_id", "client_secret_file", "certificate_file",
                      "authority", "ca_file"},
        "google": {"service_account_file", "ca_file"},
        "generic": {"client_id", "client_secret_file", "token_url", "scopes", "ca_file"},
    }[oauth.provider]
    for f in dataclasses.fields(OAuth2Config):
        value = getattr(oauth, f.name)
        if f.name != "provider" and value not in (None, "", ()) and f.name not in allowed:
            raise ConfigError(f"oauth2.{f.name}: not used with provider {oauth.provider!r}")
    required = {
        "microsoft": ("client_id", "tenant_id"),
        "google": ("service_account_file",),
        "generic": ("client_id", "client_secret_file", "token_url"),
    }[oauth.provider]
    for name in required:
        if getattr(oauth, name) in (None, ""):
            raise ConfigError(f"oauth2.{name}: required with provider {oauth.provider!r}")
    if oauth.provider == "microsoft":
        if (oauth.client_secret_file is None) == (oauth.certificate_file is None):
            raise ConfigError(
                "oauth2.certificate_file, oauth2.client_secret_file: give exactly one of them "
                "with provider 'microsoft' (the certificate is preferred)"
            )
        if oauth.authority is not None and not oauth.authority.startswith("https://"):
            raise ConfigError("oauth2.authority: must be an https:// URL")
    if oauth.provider == "google" and not config.mailbox.username:
        raise ConfigError("mailbox.username: required with provider 'google' (the mailbox user)")
    if oauth.token_url is not None:
        check_token_url(oauth.token_url, "oauth2.token_url")
    for name in ("client_secret_file", "certificate_file", "service_account_file", "ca_file"):
        path = getattr(oauth, name)
        if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
            raise ConfigError(f"oauth2.{name}: {path} is not a readable file")


def check_token_url(url: str, key: str) -> None:
    """A token endpoint gets the client secret: https, or http to this machine only."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return
    raise ConfigError(
        f"{key}: must be an https:// URL (http:// only for a loopback host), not {url!r}"
    )


def _check_plaintext(section: str, tls: str, host: str) -> None:
    """`tls = "none"` sends the login in clear, which is only harmless when the bytes never
    leave this machine."""
    if tls == "none" and not is_loopback_host(host):
        raise ConfigError(
            f'{section}.tls: "none" sends the password in clear; it is allowed only for a '
            f"loopback host (localhost, 127.0.0.0/8, ::1), not {host!r}"
        )


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine without asking DNS (which an attacker may answer).

    Only the literal name `localhost` and loopback IP literals count; any other name, even one
    that resolves to 127.0.0.1 today, does not.
    """
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def staff_unauthenticated(config: Config) -> bool:
    """Staff commands would be taken from any mail that merely *claims* a staff From."""
    return bool(config.cases.staff) and not config.cases.trusted_authserv_ids


def require_staff_authentication(config: Config) -> None:
    """Refuse a desk that would let a stranger act as staff, unless the operator opted out.

    Kept out of `parse_config` on purpose: the commands that only read the store (`cases`,
    `case`, ...) cannot be abused through mail, and an operator fixing this config should
    still be able to look at the desk. Every command that reads mail or changes the store
    calls this (see cli).
    """
    if staff_unauthenticated(config) and not config.cases.allow_unauthenticated_staff:
        raise ConfigError(
            "cases.trusted_authserv_ids: empty while cases.staff is set, so anyone who writes "
            "a staff address in From could run staff commands; list the authserv-id your MX "
            "writes in Authentication-Results (or set cases.allow_unauthenticated_staff = "
            "true if your MX cannot add that header)"
        )


def _resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """A relative SQLite path means "next to the config file", like every other path here."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:////"):
        return url
    relative = url.removeprefix("sqlite:///")
    if not relative or relative.startswith(":memory:"):
        return url
    return f"sqlite:///{(base_dir / relative).resolve()}"
