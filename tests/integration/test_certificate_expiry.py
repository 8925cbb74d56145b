"""Staff hear that the Entra ID client certificate runs out: 30, 7 and 1 days before, once
each, and a desk that starts late sends only the warning that is due, not the ones it missed."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest
from cryptography import x509

from mailtriage.config import load_config
from mailtriage.service.wiring import App, build
from mailtriage.store.models import OutboxMail
from tests.support.clock import FakeClock
from tests.support.config import write_config
from tests.support.oauth2_server import make_client_certificate

pytestmark = pytest.mark.integration

STAFF = "security-team@example.nl"


def desk(tmp_path: Path, certificate: Path, clock: FakeClock) -> App:
    config = write_config(
        tmp_path,
        {
            "cases": {"staff_notify": STAFF},
            "oauth2": {
                "provider": "microsoft",
                "client_id": "3b7c9d2e-0000-4000-8000-0000000a9911",
                "tenant_id": "8f0e4b1c-0000-4000-8000-00000000c0de",
                "certificate_file": str(certificate),
            },
        },
    )
    return build(load_config(config), clock)


def warnings_sent(tmp_path: Path) -> list[str]:
    """Subjects of the certificate warnings the desk delivered (to its Maildir transport)."""
    subjects = []
    for path in sorted((tmp_path / "outbox").rglob("*")):
        if path.is_file():
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if "OAuth2 certificate" in str(mail["Subject"]):
                assert mail["To"] == STAFF
                subjects.append(str(mail["Subject"]))
    return subjects


def expiry(certificate: Path) -> dt.datetime:
    return x509.load_pem_x509_certificate(certificate.read_bytes()).not_valid_after_utc


def test_staff_are_warned_30_7_and_1_days_before_the_certificate_expires(tmp_path: Path) -> None:
    certificate, _ = make_client_certificate(tmp_path, days=60)
    end = expiry(certificate)
    clock = FakeClock(end - dt.timedelta(days=45))
    app = desk(tmp_path, certificate, clock)
    try:
        for days_before in (45, 31, 29.5, 29, 20, 6.5, 6, 2, 0.5, 0.25):
            clock.set(end - dt.timedelta(days=days_before))
            app.jobs.certificate_expiry()
            app.sender.deliver_due()
        subjects = warnings_sent(tmp_path)
    finally:
        app.close()
    assert len(subjects) == 3, subjects
    for words in ("expires in 29 days", "expires in 6 days", "expires within a day"):
        assert sum(words in s for s in subjects) == 1, (words, subjects)


def test_a_desk_started_five_days_before_expiry_sends_only_the_seven_day_warning(
    tmp_path: Path,
) -> None:
    certificate, _ = make_client_certificate(tmp_path, days=60)
    clock = FakeClock(expiry(certificate) - dt.timedelta(days=5))
    app = desk(tmp_path, certificate, clock)
    try:
        app.jobs.run_all()
        app.jobs.run_all()
        with app.store.session() as session:
            kinds = [row.kind for row in session.query(OutboxMail)]
    finally:
        app.close()
    assert kinds.count("staff_certificate_expiry") == 1
