"""The state table: the one place that says what may happen to a case in which state.

Every change to a case — the acknowledgement being queued, a staff command, a staff reply
relayed to the reporter — is an `Action`. `TRANSITIONS[(state, action)]` is the state the case
is in afterwards; a pair that is not in the table is not allowed, and `transition` raises
`IllegalTransition` with a sentence staff can act on. Nothing else in the code base decides
whether an action is allowed: callers ask `transition` (or `walk` for a whole staff mail)
before they change anything, so a refused mail changes nothing and relays nothing.

The table, and why:

- `acknowledge` (the acknowledgement was queued): `new` → `acknowledged`, and only from `new`.
- `#status triaged|needs-info|fixing|resolved`: from every open state to any of the four,
  including `new` and `acknowledged` (staff may assess before the acknowledgement went out,
  or after answering the reporter some other way) and backwards (`resolved` → `fixing` is a
  regression, `fixing` → `needs-info` a question). Naming the current state is allowed and
  changes nothing. The process is not linear in practice; refusing a status change would only
  cost staff a round trip. A closed case cannot change status: it is `#reopen`ed first.
- `relay` (a staff reply sent to the reporter): from `new` and `acknowledged` → `triaged`
  (the first relay is the first assessment the policy promises); from `triaged`,
  `needs-info`, `fixing` and `resolved` the state stays. Not from `closed`: mail to the
  reporter of a closed case needs a deliberate `#reopen` (the reporter has been told the
  report is complete and when their data will be erased).
- `#close REASON`: from every open state → `closed`. The reason is stored beside the state
  (`CLOSE_REASONS`), not in it. Closing a closed case again is refused: `#reopen` and
  `#close` with the new reason, so the timeline shows both.
- `#duplicate REF2` closes like `#close duplicate` (from every open state → `closed`) and
  links the case to REF2; a relay in the same mail goes before it, as with `#close`.
- `#reopen`: `closed` → `triaged`, and only from `closed`. A reopened case has had staff
  attention, so it does not go back to waiting for a first assessment.
- `#note`, `#severity`, `#assign`, `#credit NAME`, `#credit withdraw`, `#hold`, `#release`,
  `#lang nl|en`, `#cwe`, `#cve`, `#embargo`, `#attachments`, `#show`, `#exploited`,
  `#incident`, `#reported STEP` do not change the state and are allowed in every state,
  `closed` included: a closed case still gets notes, its severity and owner may be corrected,
  the reporter may give or withdraw consent to be credited until the purge (the closing mail
  invites exactly that), a legal hold matters most after closing, when the purge clock runs,
  and a reporting duty (an exploited vulnerability, an incident) may come to light, or be
  filed, after the case was closed.

A purged case has no state of its own here: `purged` is a flag on a closed case (its
`purged_at`), passed as `purged=True`. Its reporter's data is gone, so only
`#credit withdraw` is still honoured (`ALLOWED_WHEN_PURGED`), with `#cwe`, `#cve` (facts
about the finding, often known only after publication) and `#show`: withdrawing consent must
always be possible, while recording a name, a note, a hold or a reopening would have
nothing left to act on.

Pure: no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from mailtriage.policy.cases import State


class Action(StrEnum):
    """Everything that can happen to a case. The values are what the timeline records."""

    ACKNOWLEDGE = "acknowledge"
    TRIAGE = "status:triaged"
    NEEDS_INFO = "status:needs-info"
    FIX = "status:fixing"
    RESOLVE = "status:resolved"
    RELAY = "relay"
    CLOSE = "close"
    DUPLICATE = "duplicate"
    REOPEN = "reopen"
    NOTE = "note"
    SEVERITY = "severity"
    ASSIGN = "assign"
    CREDIT = "credit"
    CREDIT_WITHDRAW = "credit:withdraw"
    HOLD = "hold"
    RELEASE = "release"
    LANG = "lang"
    CWE = "cwe"
    CVE = "cve"
    EMBARGO = "embargo"
    ATTACHMENTS = "attachments"
    SHOW = "show"
    EXPLOITED = "exploited"
    INCIDENT = "incident"
    REPORTED = "reported"


# `#status X` names its target state; this is the vocabulary of that command.
STATUS_ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        State.TRIAGED: Action.TRIAGE,
        State.NEEDS_INFO: Action.NEEDS_INFO,
        State.FIXING: Action.FIX,
        State.RESOLVED: Action.RESOLVE,
    }
)

# `#close X`: the reasons staff may give. `redirected` is the daemon's own (a mail that was
# not for the desk) and cannot be given by command.
STAFF_CLOSE_REASONS: tuple[str, ...] = (
    "fixed",
    "duplicate",
    "not-applicable",
    "informative",
    "spam",
)
CLOSE_REASONS: tuple[str, ...] = (*STAFF_CLOSE_REASONS, "redirected")

# Actions that record something beside the state and leave the state as it is.
BOOKKEEPING: tuple[Action, ...] = (
    Action.NOTE,
    Action.SEVERITY,
    Action.ASSIGN,
    Action.CREDIT,
    Action.CREDIT_WITHDRAW,
    Action.HOLD,
    Action.RELEASE,
    Action.LANG,
    Action.CWE,
    Action.CVE,
    Action.EMBARGO,
    Action.ATTACHMENTS,
    Action.SHOW,
    Action.EXPLOITED,
    Action.INCIDENT,
    Action.REPORTED,
)

# CWE and CVE describe the finding, not the finder: a CVE id is often assigned after
# publication, long after the purge. `#show` only reads what is left.
ALLOWED_WHEN_PURGED: frozenset[Action] = frozenset(
    {Action.CREDIT_WITHDRAW, Action.CWE, Action.CVE, Action.SHOW}
)


def _table() -> dict[tuple[str, str], str]:
    table: dict[tuple[str, str], str] = {(State.NEW, Action.ACKNOWLEDGE): State.ACKNOWLEDGED}
    for state in State.OPEN:
        for target, action in STATUS_ACTIONS.items():
            table[(state, action)] = target
        table[(state, Action.CLOSE)] = State.CLOSED
        table[(state, Action.DUPLICATE)] = State.CLOSED
    table[(State.NEW, Action.RELAY)] = State.TRIAGED
    table[(State.ACKNOWLEDGED, Action.RELAY)] = State.TRIAGED
    for state in (State.TRIAGED, State.NEEDS_INFO, State.FIXING, State.RESOLVED):
        table[(state, Action.RELAY)] = state
    table[(State.CLOSED, Action.REOPEN)] = State.TRIAGED
    for state in State.ALL:
        for action in BOOKKEEPING:
            table[(state, action)] = state
    return table


TRANSITIONS: Mapping[tuple[str, str], str] = MappingProxyType(_table())
"""`(state, action) -> state afterwards`. A pair that is missing is not allowed."""

ALLOWED_WHEN_CLOSED: frozenset[Action] = frozenset(
    Action(action) for (state, action) in TRANSITIONS if state == State.CLOSED
)
"""What a closed (not purged) case still accepts; derived from `TRANSITIONS`."""


class IllegalTransition(Exception):
    """`action` is not allowed on a case in `state`; `str(error)` says why, for staff."""

    def __init__(self, state: str, action: str, *, purged: bool = False) -> None:
        self.state = state
        self.action = action
        self.purged = purged
        super().__init__(_why(state, action, purged))


class Step(NamedTuple):
    before: str
    action: Action
    after: str


def _check_known(state: str, action: str) -> Action:
    if state not in State.ALL:
        raise ValueError(f"unknown case state {state!r}")
    try:
        return Action(action)
    except ValueError:
        raise ValueError(f"unknown action {action!r}") from None


def transition(state: str, action: str, *, purged: bool = False) -> str:
    """The state after `action` on a case in `state`; raises `IllegalTransition` when the
    table does not allow it. An unknown state or action is a programming error (ValueError)."""
    checked = _check_known(state, action)
    if purged and checked not in ALLOWED_WHEN_PURGED:
        raise IllegalTransition(state, checked, purged=True)
    try:
        return TRANSITIONS[(state, checked)]
    except KeyError:
        raise IllegalTransition(state, checked, purged=purged) from None


def is_allowed(state: str, action: str, *, purged: bool = False) -> bool:
    try:
        transition(state, action, purged=purged)
    except IllegalTransition:
        return False
    return True


def allowed_actions(state: str, *, purged: bool = False) -> tuple[str, ...]:
    """The actions allowed in `state`, in `Action` order."""
    if state not in State.ALL:
        raise ValueError(f"unknown case state {state!r}")
    return tuple(a for a in Action if is_allowed(state, a, purged=purged))


def walk(state: str, actions: Iterable[str], *, purged: bool = False) -> tuple[Step, ...]:
    """Check a whole sequence of actions (one staff mail) against the table, in order, before
    anything is done: the steps taken, or `IllegalTransition` for the first refused one."""
    steps: list[Step] = []
    for action in actions:
        after = transition(state, action, purged=purged)
        steps.append(Step(state, Action(action), after))
        state = after
    return tuple(steps)


def with_relay(actions: Iterable[str]) -> tuple[Action, ...]:
    """A staff mail's command actions with its relay put where it belongs: just before the
    first `close` (so "#close fixed" above a last word to the reporter sends that word before
    the case closes), else last (so "#reopen" above a text reopens first, then sends)."""
    ordered = [Action(a) for a in actions]
    closing = [i for i, a in enumerate(ordered) if a in (Action.CLOSE, Action.DUPLICATE)]
    at = closing[0] if closing else len(ordered)
    ordered.insert(at, Action.RELAY)
    return tuple(ordered)


def _why(state: str, action: str, purged: bool) -> str:
    if purged:
        if action == Action.REOPEN:
            return "a purged case cannot be reopened: its reporter's data has been erased"
        return (
            f"the case has been purged (its reporter's data is erased), so '{_label(action)}' "
            "is no longer possible; only '#credit withdraw' still is"
        )
    if state == State.CLOSED:
        if action in STATUS_ACTIONS.values():
            return "a closed case cannot change status; #reopen it first"
        if action == Action.RELAY:
            return (
                "the case is closed, so nothing was sent to the reporter; #reopen it first, "
                "or start the mail with #note for an internal note"
            )
        if action == Action.CLOSE:
            return (
                "the case is already closed; to change the close reason, "
                "#reopen it and #close it again"
            )
        if action == Action.DUPLICATE:
            return "the case is already closed; to link it as a duplicate, #reopen it first"
    if action == Action.REOPEN:
        return f"only a closed case can be reopened; this case is {state}"
    if action == Action.ACKNOWLEDGE:
        return f"only a new case is acknowledged; this case is {state}"
    return f"'{_label(action)}' is not allowed on a case that is {state}"


def _label(action: str) -> str:
    """How staff write the action: '#status fixing', '#credit withdraw', 'a reply'."""
    if action == Action.RELAY:
        return "a reply to the reporter"
    if action == Action.ACKNOWLEDGE:
        return "an acknowledgement"
    return "#" + action.replace(":", " ", 1)
