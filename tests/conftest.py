"""Shared pytest fixtures. Server fixtures live in tests/support; this file only wires them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dovecot import Dovecot, DovecotUnavailable
from tests.support.smtp import SmtpServer


def _dovecot(tls: bool) -> Iterator[Dovecot]:
    try:
        server = Dovecot(tls=tls)
    except DovecotUnavailable as exc:
        missing = str(exc)
    else:
        with server:
            yield server
        return
    # Fail, never skip: a suite that quietly skips its IMAP tests proves nothing.
    pytest.fail(missing, pytrace=False)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A fresh private Dovecot (plaintext IMAP on loopback) for one test; starts in ~15 ms."""
    yield from _dovecot(tls=False)


@pytest.fixture
def dovecot_tls() -> Iterator[Dovecot]:
    """A fresh private Dovecot that requires TLS: imaps on `tls_port`, STARTTLS on `port`,
    certificates from a test CA at `ca_file`."""
    yield from _dovecot(tls=True)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a loopback port, recording what it accepts."""
    with SmtpServer() as server:
        yield server
