"""Outgoing mail through Microsoft Graph's sendMail, for tenants without SMTP AUTH.

The daemon composes every mail itself (headers, threading, `Auto-Submitted`, encryption);
Graph is only asked to deliver those bytes: `POST /users/{mailbox}/sendMail` with the MIME,
base64-encoded, as `Content-Type: text/plain`, the documented way to send MIME. Graph takes
the recipients from the MIME's To/Cc/Bcc, not from an envelope, so a mail whose headers
name anyone but the outbox row's recipient is refused here rather than sent to them.

Sent Items: with MIME, sendMail always saves a copy in the mailbox's Sent Items (the
`saveToSentItems` switch exists for JSON messages only). That is kept on purpose: staff who
open the mailbox see what the desk answered, as they would for a colleague. The purge does
not reach those copies; see the README.

How failures are reported to the outbox (`transport.base`):
- 429, 5xx, network failures: temporary, and the round ends (Graph is unavailable for all);
- 401/403/404: temporary and the round ends too: a missing Mail.Send permission, an
  application access policy that leaves this mailbox out, or a wrong mailbox name is a
  configuration fault the operator fixes, not a refusal of this mail; failing every queued
  acknowledgement permanently would lose them;
- other 4xx (400 malformed MIME or a recipient Graph will not take, 413 too large):
  permanent, for this mail only.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import email.utils

from mailtriage.mailbox.graphapi import GraphClient, GraphError
from mailtriage.outgoing.transport.base import DeliveryError

CONFIGURATION_FAULTS = frozenset({401, 403, 404})


class GraphTransport:
    """A `Transport` delivering through one mailbox's sendMail."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    def check(self) -> None:
        """Get a token and look at the mailbox's Sent Items, for `mailtriage check`.

        sendMail has no dry run. Reading Sent Items proves the token and that the mailbox
        exists for the application; a 403 there proves nothing about sending (an app with
        Mail.Send only, reading through IMAP, may not read), so it is not counted a failure.
        """
        try:
            self._client.get_json("/mailFolders/sentitems", {"$select": "id"})
        except GraphError as exc:
            if exc.status == 403:
                return
            raise DeliveryError(exc.reason, permanent=False) from exc

    def send(self, *, sender: str, recipient: str, raw: bytes, key: str) -> None:
        _check_recipients(raw, recipient)
        body = base64.b64encode(raw)
        try:
            self._client.request(
                "POST",
                "/sendMail",
                content=body,
                content_type="text/plain",
                expect=(202,),
                # A lost answer after Graph took the mail must not send it twice; the outbox
                # retries later, as it does after an SMTP connection lost at DATA.
                resend_when_unsure=False,
            )
        except GraphError as exc:
            raise _delivery_error(exc) from exc

    def close(self) -> None:
        self._client.close()


def _delivery_error(exc: GraphError) -> DeliveryError:
    status = exc.status
    if status is None or exc.transient or status in CONFIGURATION_FAULTS:
        return DeliveryError(exc.reason, permanent=False)
    if 400 <= status < 500:
        return DeliveryError(exc.reason, permanent=True, this_message_only=True)
    return DeliveryError(exc.reason, permanent=False)


def _check_recipients(raw: bytes, recipient: str) -> None:
    """Graph delivers to the header recipients: they must be exactly the row's recipient."""
    head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    named = {
        address.lower()
        for field in ("To", "Cc", "Bcc")
        for _, address in email.utils.getaddresses(head.get_all(field, []))
        if address
    }
    if named != {recipient.lower()}:
        raise DeliveryError(
            "the composed mail's To/Cc/Bcc differ from its recipient; Graph would deliver to "
            "the headers, so it is not sent",
            permanent=True,
            this_message_only=True,
        )
