"""The one guard in front of every automatic mail (acknowledgements, redirects, updates).

A security mailbox that answers machines starts mail loops and can be used to send mail to
third parties; RFC 3834 says which mail must never be answered. The guard is pure: the caller
hands in the facts (when the triggering mail arrived, if there is one, and how many automatic
mails this recipient already had today) and gets back None (may send) or the reason it must
not.

Whether the triggering mail was sent by a machine is not asked again here: triage asked it
(`triage.automated_reason`) before deciding, and only mail it found to be a person's gets a
decision that answers (an acknowledgement or a redirect). What the guard checks is what holds
for every automatic mail, those the jobs send included: who the recipient is, how old the
trigger is, and how many this recipient already had. (The recipient checks also cover the
trigger's sender, since an answer goes to the reporter: our own and staff addresses, and
machine addresses.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class GuardPolicy:
    own_addresses: frozenset[str]
    max_per_recipient_per_day: int
    max_age: dt.timedelta


def autoreply_refusal(
    policy: GuardPolicy,
    recipient: str | None,
    sent_to_recipient_today: int,
    trigger_arrived_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """Why no automatic mail may go to `recipient` now, or None when it may."""
    if not recipient or "@" not in recipient:
        return "no-usable-address"
    recipient = recipient.lower()
    if recipient in policy.own_addresses:
        return "own-address"
    if recipient.split("@", 1)[0] in ("mailer-daemon", "postmaster", "noreply", "no-reply"):
        return "machine-address"
    too_old = (
        trigger_arrived_at is not None
        and now is not None
        and now - trigger_arrived_at > policy.max_age
    )
    if too_old:
        return "too-old"
    if sent_to_recipient_today >= policy.max_per_recipient_per_day:
        return "daily-cap"
    return None
