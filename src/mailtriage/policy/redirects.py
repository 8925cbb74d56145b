"""Which new mails are not for the security desk: the `redirect` category.

The disclosure policy ("Waar is dit meldpunt niet voor bedoeld?") sends suspected fraud, fake
and phishing e-mails and complaints about the service to customer service. People write to
security@ about exactly those: a customer forwards a phishing mail and asks whether it is
real, complains about an invoice, reports a power cut. Those get a redirect reply pointing at
the contact form instead of an acknowledgement and a case.

The hard direction is the other one. Researchers write about phishing too ("this open
redirect enables phishing", "without DMARC anyone can spoof mail from your domain"), about
invoices (the invoice portal is where the bug is) and about customer service (the chat widget
leaks other customers' conversations). Sending a researcher away is worse than a wasted
acknowledgement, so the decision is lopsided on purpose:

- every redirect rule that matches adds its weight (`REDIRECT_RULES`);
- every report signal that matches subtracts its weight (`REPORT_SIGNALS`), and a veto signal
  (technical vocabulary, an encrypted mail, a proof-of-concept attachment) rules a redirect
  out altogether;
- a mail is redirected only when what is left reaches `REDIRECT_THRESHOLD`. Anything else is
  a report.

The tables are in `redirect_rules.py`, where an operator reads and extends them; this module
is the engine that applies them: it builds the `MailView` (`mailview.py`) the rules read,
matches, scores and decides. It re-exports the tables, so callers import everything from here.

Pure: no I/O, no logging (mail text and addresses never reach a log).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from mailtriage.inbound.message import InboundMail
from mailtriage.policy.mailview import MailView
from mailtriage.policy.redirect_rules import (
    REDIRECT_RULES,
    REPORT_SIGNALS,
    RedirectRule,
    ReportSignal,
)

__all__ = [
    "REDIRECT_RULES",
    "REDIRECT_THRESHOLD",
    "REPORT_SIGNALS",
    "Explanation",
    "MailView",
    "RedirectRule",
    "ReportSignal",
    "explain",
    "redirect_reason",
]

REDIRECT_THRESHOLD = 3

_SPACE = " "
_ANY_SPACE = r"\s+"


@functools.lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    body = "|".join("(?:" + p.replace(_SPACE, _ANY_SPACE) + ")" for p in patterns)
    # \b rather than (?<!\w): a run of spaces or dashes then fails at once at every position.
    return re.compile(rf"\b(?:{body})")


def _matches(rule: RedirectRule | ReportSignal, view: MailView) -> bool:
    if rule.when is not None and not rule.when(view):
        return False
    if not rule.patterns:
        return True
    regex = _compiled(rule.patterns)
    return any(regex.search(view.field(name)) for name in rule.fields)


# --------------------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Explanation:
    """Everything the decision saw, for tests and for an operator tuning the tables."""

    reason: str | None
    rules: tuple[str, ...]
    signals: tuple[str, ...]
    score: int  # redirect weights minus report-signal weights (vetoes not counted)
    vetoed: bool


def explain(mail: InboundMail) -> Explanation:
    """All rules and signals `mail` matches, and the resulting reason (slower than the decision)."""
    view = MailView.of(mail)
    rules = tuple(r for r in REDIRECT_RULES if _matches(r, view))
    signals = tuple(s for s in REPORT_SIGNALS if _matches(s, view))
    return Explanation(
        reason=_decide(view),
        rules=tuple(r.name for r in rules),
        signals=tuple(s.name for s in signals),
        score=sum(r.weight for r in rules) - sum(s.weight for s in signals if not s.veto),
        vetoed=any(s.veto for s in signals),
    )


def redirect_reason(mail: InboundMail) -> str | None:
    """The name of the rule saying `mail` is not for the security desk, or None (a report).

    Meant for new, unthreaded mail that the automated-mail rules let through.
    """
    return _decide(MailView.of(mail))


def _decide(view: MailView) -> str | None:
    for rule in REDIRECT_RULES:
        if rule.decisive and _matches(rule, view):
            return rule.name
    # Vetoes first: a report usually names its vulnerability in the subject or first lines, so
    # the search stops early and the redirect rules never have to read the whole mail.
    if any(signal.veto and _matches(signal, view) for signal in REPORT_SIGNALS):
        return None
    matched = [r for r in REDIRECT_RULES if not r.decisive and _matches(r, view)]
    score = sum(rule.weight for rule in matched)
    for signal in REPORT_SIGNALS:
        if score < REDIRECT_THRESHOLD:
            return None
        if not signal.veto and _matches(signal, view):
            score -= signal.weight
    if score < REDIRECT_THRESHOLD:
        return None
    # The heaviest rule names the reason; the table order breaks ties.
    return max(matched, key=lambda rule: rule.weight).name
