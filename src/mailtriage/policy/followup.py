"""An untagged mail from a reporter who already has a case: a follow-up or a new report?

Reporters do not always reply to our acknowledgement; some write a fresh mail, "Aanvulling
op mijn melding van gisteren", without the case tag. Opening a second case for it sends a
second full acknowledgement and splits the report in two (observed). Joining every mail of
a known sender to their case would be as wrong: a researcher may report a second issue.

So a mail joins an earlier case only when both hold: its own text *plainly refers to an
earlier report* (phrases below, Dutch and English) and exactly one open case of that sender
fits. Otherwise it opens a case as usual and staff are told which earlier cases of the same
sender may match, so a person decides. The sender's address is only a claim; that is
acceptable here because joining sends the sender nothing and changes nothing but the
case's timeline (a reply by tag trusts the same claim).

Pure: `triage.decide` asks it, given the sender's open cases the store found.
"""

from __future__ import annotations

import re

__all__ = ["refers_to_earlier_report"]

_SCAN_CHARS = 2_000  # the reference is in the subject or the opening lines

_EARLIER = re.compile(
    r"(?:"
    # Dutch
    r"\baanvulling\s+(?:op|bij)\s+(?:mijn|de|onze)\s+(?:eerdere\s+|vorige\s+)?"
    r"(?:melding|mail|e-mail|bericht|rapport)"
    r"|\b(?:mijn|onze)\s+(?:eerdere|vorige|eerste)\s+(?:melding|mail|e-mail|bericht|rapport)"
    r"|\b(?:mijn|onze)\s+melding\s+van\s+(?:gisteren|eergisteren|vanochtend|vanmorgen|"
    r"vorige\s+week|afgelopen|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|\d)"
    r"|\bnaar\s+aanleiding\s+van\s+mijn\s+(?:melding|mail|e-mail|bericht)"
    r"|\b(?:zoals|wat)\s+(?:ik\s+)?(?:eerder|gisteren)\s+(?:al\s+)?(?:gemeld|meldde)"
    r"|\bnog\s+een\s+aanvulling\b"
    # English
    r"|\b(?:follow[- ]?up|addition|addendum|update|further)\s+(?:to|on)\s+my\s+"
    r"(?:earlier\s+|previous\s+|last\s+|recent\s+)?(?:report|e-?mail|message)"
    r"|\bmy\s+(?:earlier|previous|prior|last|first)\s+(?:report|e-?mail|message)"
    r"|\bmy\s+report\s+(?:from|of)\s+(?:yesterday|earlier|last\s+week|this\s+morning|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d)"
    r"|\bfurther\s+to\s+my\s+(?:report|e-?mail|message)"
    r"|\bas\s+(?:i\s+)?(?:reported|mentioned)\s+(?:earlier|yesterday|before)"
    r")",
    re.IGNORECASE,
)


def refers_to_earlier_report(subject: str, text: str) -> bool:
    """The subject or the opening of the sender's own text plainly names an earlier report."""
    return bool(_EARLIER.search(subject[:500]) or _EARLIER.search(text[:_SCAN_CHARS]))
