"""A real, private Dovecot IMAP server on loopback, for integration tests.

The IMAP adapter is only worth something if it works against a real server: UIDVALIDITY,
UID MOVE, UIDPLUS expunge, STARTTLS and certificate checks are exactly what mocks get wrong.
Dovecot starts in a fraction of a second from a config file in a temporary directory, so each
test can have its own server with its own users, ports, certificates and mail, and leave
nothing behind.

Facts this relies on are in ../shared/notes/dovecot-on-loopback.md: as root the login and
internal processes must run as unprivileged users that can read the temporary directory
(hence chmod 0755), and the mail directory must belong to the userdb uid.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from imapclient import IMAPClient

from mailtriage.config import MailboxConfig

DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")

DEFAULT_USERS: Mapping[str, str] = {
    "security@example.test": "Correct-Horse-7",
    "marieke.de.vries@example.nl": "Tulpen-en-Klompen-3",
}

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
GRACEFUL_STOP_S = 0.25


class _PortTaken(Exception):
    """Dovecot could not bind a port that was free a moment ago."""


class DovecotUnavailable(RuntimeError):
    """The dovecot binary is not installed; the message says how to get it."""


def find_dovecot() -> str:
    """The dovecot binary, or DovecotUnavailable telling the developer to run `make test`."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in DOVECOT_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise DovecotUnavailable(
        "Dovecot is not installed (no /usr/sbin/dovecot and no `dovecot` on PATH); the "
        "integration tests need a real IMAP server. Run `make test`, which installs "
        "dovecot-imapd through apt, or `apt-get install dovecot-imapd` yourself."
    )


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Dovecot:
    """One throwaway Dovecot: `with Dovecot() as server: ...` starts it and cleans up after.

    `stop()` and `start()` may be called in between to simulate an outage; the server comes
    back on the same ports with the same users and mail.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        tls: bool = False,
        users: Mapping[str, str] | None = None,
        max_userip_connections: int = 200,
        imap_capability: str | None = None,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        """`imap_capability` replaces what Dovecot announces after login (its
        `imap_capability` setting), e.g. without MOVE, UIDPLUS or IDLE, to play an older
        server; the commands themselves keep working."""
        self.binary = find_dovecot()
        self.tls = tls
        self.users: dict[str, str] = dict(users if users is not None else DEFAULT_USERS)
        if not self.users:
            raise ValueError("Dovecot needs at least one user")
        self.max_userip_connections = max_userip_connections
        self.imap_capability = imap_capability
        # With it, AUTHENTICATE XOAUTH2 is checked by Dovecot's `oauth2` passdb against this
        # RFC 7662 introspection endpoint (the password logins keep working for the test).
        self.oauth2_introspection_url = oauth2_introspection_url
        self.port = free_port()
        self.tls_port: int | None = free_port() if tls else None
        self.ca_file: Path | None = None

        self.root = Path(tempfile.mkdtemp(prefix="mailtriage-dovecot-"))
        # mkdtemp makes it 0700; as root, Dovecot's auth process (user dovecot) could then
        # not reach the passwd-file and every login would fail as "temporary failure".
        self.root.chmod(0o755)
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.maildir_root = self.root / "mail"
        self.log_path = self.root / "dovecot.log"
        self.config_path = self.root / "dovecot.conf"
        self.passwd_path = self.root / "passwd"
        self._stderr_path = self.root / "master.stderr"
        self._process: subprocess.Popen[bytes] | None = None
        self._removed = False
        self._started_once = False
        self._greeting = f"mailtriage test server {self.root.name}"
        self._tls_files: tuple[Path, Path] | None = None
        self._users_and_groups: tuple[str, str, str, int, int]
        try:
            self._prepare()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    # -- the primary user, for tests that need only one mailbox ------------------------------

    @property
    def user(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.user]

    def maildir(self, user: str | None = None) -> Path:
        """The Maildir holding `user`'s mail (INBOX at its top, folders as .Name)."""
        return self.maildir_root / (user or self.user)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Dovecot:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and return once it greets IMAP clients.

        The first start retries with fresh ports when another process grabbed one between
        `free_port()` and Dovecot's bind (other test runs share this machine's loopback).
        Later starts keep the ports: a client must find the server where it was.
        """
        if self._removed:
            raise RuntimeError("this Dovecot has been cleaned up; make a new one")
        if self.running:
            return
        attempts = 1 if self._started_once else 3
        for attempt in range(1, attempts + 1):
            try:
                self._start_once()
            except _PortTaken:
                if attempt == attempts:
                    raise RuntimeError(
                        f"dovecot could not bind its ports:\n{self.diagnostics()}"
                    ) from None
                self.port = free_port()
                self.tls_port = free_port() if self.tls else None
                self._write_config()
                continue
            self._started_once = True
            return

    def _start_once(self) -> None:
        offsets = {p: p.stat().st_size if p.exists() else 0 for p in self._output_paths}
        # -F keeps the master in the foreground, so the process we started is the master and
        # we can wait for it, instead of chasing a daemonised pid.
        with self._stderr_path.open("ab") as stderr:
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
                env=without_faketime(os.environ),
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                if "Address already in use" in self._output_since(offsets):
                    raise _PortTaken()
                raise RuntimeError(f"dovecot exited with {code} on start:\n{self.diagnostics()}")
            # Our own greeting, not just an open port: it proves that this server (not some
            # other test's) answers, and it comes only once the login process can reach
            # auth; a server stopped before that point takes seconds to shut down.
            if self._greets(self.port) and (
                self.tls_port is None or _accepts(self.host, self.tls_port)
            ):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"dovecot did not answer within {START_TIMEOUT_S}s:\n{self.diagnostics()}"
                )
            time.sleep(0.01)

    def _greets(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=2.0) as sock:
                greeting = sock.makefile("rb").readline()
                sock.sendall(b"a LOGOUT\r\n")
        except OSError:
            return False
        return greeting.startswith(b"* OK") and self._greeting.encode() in greeting

    @property
    def _output_paths(self) -> tuple[Path, Path]:
        return (self.log_path, self._stderr_path)

    def _output_since(self, offsets: Mapping[Path, int]) -> str:
        text = ""
        for path in self._output_paths:
            if path.exists():
                with path.open("rb") as fh:
                    fh.seek(offsets.get(path, 0))
                    text += fh.read().decode(errors="replace")
        return text

    def stop(self) -> None:
        """Stop the server (and its imap processes); mail and config stay for `start()`."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # The master runs in its own session (start_new_session), so its process group is
        # exactly this server: signalling the group stops every login and imap process at
        # once. The master alone would wait for its children, about a second each time.
        # A master that still lingers (it may sit on its shutdown for a second, or miss a
        # SIGTERM that arrives right after start-up) is killed: this is a throwaway test
        # server, its Maildir is consistent at every step, and speed matters more here.
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=GRACEFUL_STOP_S)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)
        _wait_for_group_exit(process.pid)

    def cleanup(self) -> None:
        """Stop the server and delete its directory (config, certificates, mail, log)."""
        self.stop()
        if not self._removed:
            shutil.rmtree(self.root, ignore_errors=True)
            self._removed = True

    # -- helpers for tests -------------------------------------------------------------------

    def client(self, user: str | None = None, *, timeout: float = 10.0) -> IMAPClient:
        """A logged-in IMAPClient, for a test to APPEND mail or look into folders.

        Over implicit TLS, verified against the test CA, when the server was made with
        `tls=True`. (Dovecot counts loopback as secure, so even that server would take a
        plaintext login on `port`; the helper does not rely on it.)
        """
        user = user or self.user
        client: IMAPClient
        if self.tls:
            assert self.tls_port is not None and self.ca_file is not None
            context = ssl.create_default_context(cafile=str(self.ca_file))
            client = IMAPClient(
                self.host, port=self.tls_port, ssl=True, ssl_context=context, timeout=timeout
            )
        else:
            client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        client.login(user, self.users[user])
        return client

    def mailbox_section(self, **overrides: Any) -> dict[str, Any]:
        """The `[mailbox]` config section for the primary user (plaintext unless overridden)."""
        return {
            "source": "imap",
            "host": self.host,
            "port": self.port,
            "tls": "none",
            "username": self.user,
            "password": self.password,
            **overrides,
        }

    def mailbox_config(self, **overrides: Any) -> MailboxConfig:
        """A MailboxConfig for the primary user of this server (plaintext unless overridden)."""
        return MailboxConfig(**self.mailbox_section(**{"timeout_seconds": 10, **overrides}))

    def diagnostics(self) -> str:
        """The tail of the master's stderr and of dovecot.log, for a failing test's message."""
        parts = []
        for path in (self._stderr_path, self.log_path):
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-40:]
                parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts) or "(no output)"

    # -- setup -------------------------------------------------------------------------------

    def _prepare(self) -> None:
        for directory in (self.base_dir, self.state_dir, self.maildir_root):
            directory.mkdir(mode=0o755)
        if os.geteuid() == 0:
            login_user, internal_user = "dovenull", "dovecot"
            mail_owner = pwd.getpwnam("dovecot")
            uid, gid = mail_owner.pw_uid, mail_owner.pw_gid
            internal_group = "dovecot"
            os.chown(self.maildir_root, uid, gid)
        else:
            # Unprivileged, Dovecot cannot switch users: everything runs as whoever we are.
            me = pwd.getpwuid(os.getuid())
            login_user = internal_user = me.pw_name
            internal_group = grp.getgrgid(os.getgid()).gr_name
            uid, gid = me.pw_uid, me.pw_gid
        self.passwd_path.write_text(
            "".join(f"{name}:{{PLAIN}}{secret}\n" for name, secret in self.users.items())
        )
        self.passwd_path.chmod(0o644)
        self._users_and_groups = (login_user, internal_user, internal_group, uid, gid)
        if self.tls:
            self._tls_files = self._make_certificates()
        self._write_config()

    def _write_config(self) -> None:
        login_user, internal_user, internal_group, uid, gid = self._users_and_groups
        ssl_block = "ssl = no"
        if self._tls_files is not None:
            cert, key = self._tls_files
            ssl_block = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}"
        self.config_path.write_text(
            CONFIG_TEMPLATE.format(
                base_dir=self.base_dir,
                state_dir=self.state_dir,
                log_path=self.log_path,
                greeting=self._greeting,
                login_user=login_user,
                internal_user=internal_user,
                internal_group=internal_group,
                maildir_root=self.maildir_root,
                passwd=self.passwd_path,
                uid=uid,
                gid=gid,
                port=self.port,
                # Port 0 disables the imaps listener on a server without TLS.
                imaps_port=self.tls_port if self.tls_port is not None else 0,
                ssl_block=ssl_block,
                max_userip=self.max_userip_connections,
                capability=(
                    f"imap_capability = {self.imap_capability}" if self.imap_capability else ""
                ),
                service_users=_service_users(internal_user) if os.geteuid() != 0 else "",
                auth_mechanisms="plain login"
                + (" xoauth2 oauthbearer" if self.oauth2_introspection_url else ""),
                oauth2_passdb=self._oauth2_passdb(),
                # Dovecot delays every login from an address after a failed one (its auth
                # penalty, 2 to 15 s); tests that refuse tokens on purpose switch it off, the
                # documented way.
                anvil_extra=(
                    "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"
                    if self.oauth2_introspection_url
                    else ""
                ),
            )
        )

    def _oauth2_passdb(self) -> str:
        if self.oauth2_introspection_url is None:
            return ""
        settings = self.root / "dovecot-oauth2.conf.ext"
        settings.write_text(
            OAUTH2_TEMPLATE.format(introspection_url=self.oauth2_introspection_url)
        )
        settings.chmod(0o644)
        return (
            "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {settings}\n}}\n"
        )

    def _make_certificates(self) -> tuple[Path, Path]:
        """A private CA and a `localhost`/127.0.0.1 certificate it signed, made right now.

        Made per server with the openssl command line (the `cryptography` package is not a
        dependency); P-256 keys keep it to a few milliseconds. No system store trusts this
        CA, which is what lets a test prove that certificate verification is switched on.
        """
        openssl = shutil.which("openssl")
        if openssl is None:
            raise DovecotUnavailable(
                "the `openssl` command is missing (Debian package openssl); TLS tests need it"
            )
        tls_dir = self.root / "tls"
        tls_dir.mkdir(mode=0o755)
        ca_key, ca_cert = tls_dir / "ca.key", tls_dir / "ca.pem"
        key, csr, cert = tls_dir / "server.key", tls_dir / "server.csr", tls_dir / "server.pem"
        ext = tls_dir / "server.ext"
        ext.write_text(
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n"
        )
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run(
            [
                openssl,
                "req",
                "-x509",
                *ec,
                "-keyout",
                ca_key,
                "-out",
                ca_cert,
                "-days",
                "2",
                "-subj",
                "/O=mailtriage tests/CN=mailtriage test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]
        )
        _run([openssl, "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
        _run(
            [
                openssl,
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                ca_cert,
                "-CAkey",
                ca_key,
                "-set_serial",
                "2",
                "-days",
                "2",
                "-extfile",
                ext,
                "-out",
                cert,
            ]
        )
        self.ca_file = ca_cert
        return cert, key


CONFIG_TEMPLATE = """\
# Written by tests/support/dovecot.py for one test run; deleted afterwards.
protocols = imap
listen = 127.0.0.1
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log_path}
info_log_path = {log_path}
login_greeting = {greeting}
{ssl_block}
disable_plaintext_auth = no
auth_mechanisms = {auth_mechanisms}
# A wrong password is answered at once instead of after Dovecot's usual two seconds.
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{maildir_root}/%u
# Tests do not survive power cuts; skipping fsync keeps them fast.
mail_fsync = never

{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={maildir_root}/%u
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
{anvil_extra}}}
{service_users}
protocol imap {{
  mail_max_userip_connections = {max_userip}
  {capability}
}}
"""


# Dovecot's oauth2 passdb (https://doc.dovecot.org/2.3/configuration_manual/authentication/oauth2/):
# every XOAUTH2 login POSTs the token to the introspection URL (RFC 7662) and is accepted
# only when the answer says active and names the login user.
OAUTH2_TEMPLATE = """\
introspection_mode = post
introspection_url = {introspection_url}
username_attribute = email
active_attribute = active
active_value = true
"""


def without_faketime(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without libfaketime. `make test` runs the suite under faketime to find wall-clock
    reads in our code; Dovecot's own timers (login, IDLE notifications) stall under it, and
    the server is not what those runs test, so it keeps real time."""
    env = {k: v for k, v in environ.items() if not k.startswith(("FAKETIME", "DONT_FAKE"))}
    preload = [lib for lib in env.pop("LD_PRELOAD", "").split() if "faketime" not in lib]
    if preload:
        env["LD_PRELOAD"] = " ".join(preload)
    return env


def _service_users(user: str) -> str:
    # Services that default to root must not ask for it when we are not root.
    return "".join(f"service {name} {{\n  user = {user}\n}}\n" for name in ("auth", "auth-worker"))


def _run(argv: list[str | Path]) -> None:
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, timeout=30
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} {argv[1]} failed: {result.stderr.strip()}")


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _wait_for_group_exit(pgid: int, timeout: float = 2.0) -> None:
    """Wait until no live process of the server's group is left; SIGKILL stragglers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _live_group_members(pgid):
            return
        time.sleep(0.01)
    _signal_group(pgid, signal.SIGKILL)


def _live_group_members(pgid: int) -> list[int]:
    """Pids in process group `pgid` that are not zombies.

    A child that outlives the master is re-parented to PID 1; where PID 1 does not reap
    (as in some containers) it stays a zombie for good. It holds no port or file, so it
    must not count as running, but kill(pgid, 0) would still find it.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    live = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            live.append(int(entry.name))
    return live
