"""Staff's warning that the OAuth2 client certificate runs out (30, 7 and 1 days before).

When the certificate an Entra ID app registration trusts expires, no token can be had and the
desk stops reading and answering mail. Renewing it takes an administrator and an upload, so
staff hear about it a month ahead, again a week ahead, and the day before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class CertificateExpiryPayload(Payload):
    expires_at: dt.datetime
    days_left: int
    subject: str
    thumbprint: str
    certificate_file: str
    client_id: str
    tenant_id: str


class StaffCertificateExpiry(MailKind[CertificateExpiryPayload]):
    name = "staff_certificate_expiry"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> CertificateExpiryPayload:
        saved = source.saved
        return CertificateExpiryPayload(
            expires_at=source.local(saved["expires_at"]),
            days_left=int(saved["days_left"]),
            subject=str(saved.get("subject", "")),
            thumbprint=str(saved.get("thumbprint", "")),
            certificate_file=str(saved.get("certificate_file", "")),
            client_id=str(saved.get("client_id", "")),
            tenant_id=str(saved.get("tenant_id", "")),
        )


KINDS = (StaffCertificateExpiry,)
