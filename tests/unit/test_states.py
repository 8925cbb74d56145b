"""The state table, pair by pair: every allowed (state, action) with the state it leads to,
and every other pair refused with a sentence for staff. The expected table is written out
here on its own, so a change to `TRANSITIONS` has to be made twice, on purpose."""

from __future__ import annotations

import itertools

import pytest

from mailtriage.policy.cases import State
from mailtriage.policy.states import (
    ALLOWED_WHEN_CLOSED,
    ALLOWED_WHEN_PURGED,
    BOOKKEEPING,
    CLOSE_REASONS,
    STAFF_CLOSE_REASONS,
    TRANSITIONS,
    Action,
    IllegalTransition,
    Step,
    allowed_actions,
    is_allowed,
    transition,
    walk,
    with_relay,
)

NEW, ACK, TRI, INFO, FIX, RES, CLOSED = State.ALL
STATUS = {
    Action.TRIAGE: TRI,
    Action.NEEDS_INFO: INFO,
    Action.FIX: FIX,
    Action.RESOLVE: RES,
}
BOOKS = (
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
# What a purged case still takes: consent can always be withdrawn; CWE and CVE are facts
# about the finding (a CVE id often comes after the purge); `#show` only reads.
PURGED_OK = (Action.CREDIT_WITHDRAW, Action.CWE, Action.CVE, Action.SHOW)


def expected_table() -> dict[tuple[str, str], str]:
    table: dict[tuple[str, str], str] = {(NEW, Action.ACKNOWLEDGE): ACK}
    for state in (NEW, ACK, TRI, INFO, FIX, RES):
        for action, target in STATUS.items():
            table[(state, action)] = target
        table[(state, Action.CLOSE)] = CLOSED
        table[(state, Action.DUPLICATE)] = CLOSED
    table[(NEW, Action.RELAY)] = TRI
    table[(ACK, Action.RELAY)] = TRI
    table[(TRI, Action.RELAY)] = TRI
    table[(INFO, Action.RELAY)] = INFO
    table[(FIX, Action.RELAY)] = FIX
    table[(RES, Action.RELAY)] = RES
    table[(CLOSED, Action.REOPEN)] = TRI
    for state in State.ALL:
        for action in BOOKS:
            table[(state, action)] = state
    return table


EXPECTED = expected_table()
PAIRS = list(itertools.product(State.ALL, list(Action)))
ALLOWED = [(s, a, EXPECTED[(s, a)]) for s, a in PAIRS if (s, a) in EXPECTED]
ILLEGAL = [(s, a) for s, a in PAIRS if (s, a) not in EXPECTED]


def pair_id(value: object) -> str:
    return str(value)


def test_the_table_is_exactly_the_expected_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED
    assert len(ALLOWED) + len(ILLEGAL) == len(State.ALL) * len(Action)


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[(CLOSED, Action.RELAY)] = CLOSED  # type: ignore[index]


@pytest.mark.parametrize(("state", "action", "after"), ALLOWED, ids=pair_id)
def test_allowed_pair(state: str, action: Action, after: str) -> None:
    assert transition(state, action) == after
    assert transition(state, str(action)) == after  # plain strings work as well
    assert is_allowed(state, action)
    assert action in allowed_actions(state)


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=pair_id)
def test_illegal_pair(state: str, action: Action) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(state, action)
    error = caught.value
    assert (error.state, error.action, error.purged) == (state, action, False)
    message = str(error)
    assert message and "\n" not in message
    assert not is_allowed(state, action)
    assert action not in allowed_actions(state)
    assert state in message  # every refusal names the state the case is in


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=pair_id)
def test_purged_pair(state: str, action: Action) -> None:
    """On a purged case only '#credit withdraw', '#cwe', '#cve' and '#show' are still
    honoured, whatever the state."""
    if action in PURGED_OK:
        assert transition(state, action, purged=True) == state
        return
    with pytest.raises(IllegalTransition) as caught:
        transition(state, action, purged=True)
    assert caught.value.purged is True
    assert "purged" in str(caught.value)


# -- the messages staff read ---------------------------------------------------------------


@pytest.mark.parametrize("action", list(STATUS), ids=pair_id)
def test_status_on_a_closed_case_says_reopen_first(action: Action) -> None:
    with pytest.raises(
        IllegalTransition, match=r"^a closed case cannot change status; #reopen it first$"
    ):
        transition(CLOSED, action)


def test_relay_on_a_closed_case_says_nothing_was_sent() -> None:
    with pytest.raises(IllegalTransition, match="nothing was sent to the reporter"):
        transition(CLOSED, Action.RELAY)


def test_close_on_a_closed_case_explains_how_to_change_the_reason() -> None:
    with pytest.raises(IllegalTransition, match=r"already closed.*#reopen.*#close"):
        transition(CLOSED, Action.CLOSE)


@pytest.mark.parametrize("state", State.OPEN)
def test_reopen_of_an_open_case_names_its_state(state: str) -> None:
    with pytest.raises(IllegalTransition, match=rf"only a closed case can be reopened.*{state}"):
        transition(state, Action.REOPEN)


def test_reopen_of_a_purged_case() -> None:
    with pytest.raises(IllegalTransition, match=r"^a purged case cannot be reopened"):
        transition(CLOSED, Action.REOPEN, purged=True)


def test_purged_message_names_the_command() -> None:
    with pytest.raises(IllegalTransition, match="'#credit' is no longer possible"):
        transition(CLOSED, Action.CREDIT, purged=True)
    with pytest.raises(IllegalTransition, match="'#status fixing' is no longer possible"):
        transition(CLOSED, Action.FIX, purged=True)


# -- derived views ----------------------------------------------------------------------


def test_allowed_when_closed() -> None:
    assert frozenset({Action.REOPEN, *BOOKS}) == ALLOWED_WHEN_CLOSED
    assert allowed_actions(CLOSED) == (Action.REOPEN, *BOOKS)


def test_allowed_when_purged() -> None:
    assert frozenset(PURGED_OK) == ALLOWED_WHEN_PURGED
    for state in State.ALL:
        assert allowed_actions(state, purged=True) == PURGED_OK


def test_allowed_actions_of_new() -> None:
    assert allowed_actions(NEW) == (
        Action.ACKNOWLEDGE,
        *STATUS,
        Action.RELAY,
        Action.CLOSE,
        Action.DUPLICATE,
        *BOOKS,
    )


def test_bookkeeping_never_changes_the_state() -> None:
    assert tuple(BOOKKEEPING) == BOOKS
    for state in State.ALL:
        for action in BOOKKEEPING:
            assert transition(state, action) == state


def test_close_reasons() -> None:
    assert STAFF_CLOSE_REASONS == ("fixed", "duplicate", "not-applicable", "informative", "spam")
    assert CLOSE_REASONS[:-1] == STAFF_CLOSE_REASONS
    assert CLOSE_REASONS[-1] == "redirected"


@pytest.mark.parametrize(
    ("state", "action"),
    [("purged", Action.NOTE), ("open", Action.RELAY), (NEW, "status:closed"), (NEW, "bogus")],
)
def test_unknown_state_or_action_is_a_programming_error(state: str, action: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        transition(state, action)


def test_allowed_actions_of_an_unknown_state() -> None:
    with pytest.raises(ValueError, match="unknown case state"):
        allowed_actions("purged")


# -- a whole staff mail --------------------------------------------------------------------


def test_walk_returns_every_step() -> None:
    steps = walk(CLOSED, [Action.REOPEN, Action.SEVERITY, Action.FIX, Action.RELAY])
    assert steps == (
        Step(CLOSED, Action.REOPEN, TRI),
        Step(TRI, Action.SEVERITY, TRI),
        Step(TRI, Action.FIX, FIX),
        Step(FIX, Action.RELAY, FIX),
    )


def test_walk_of_nothing() -> None:
    assert walk(ACK, []) == ()


def test_walk_refuses_at_the_first_illegal_step() -> None:
    with pytest.raises(IllegalTransition) as caught:
        walk(ACK, [Action.CLOSE, Action.FIX, Action.REOPEN])
    assert (caught.value.state, caught.value.action) == (CLOSED, Action.FIX)


def test_walk_on_a_purged_case() -> None:
    assert walk(CLOSED, ["credit:withdraw"], purged=True) == (
        Step(CLOSED, Action.CREDIT_WITHDRAW, CLOSED),
    )
    with pytest.raises(IllegalTransition):
        walk(CLOSED, [Action.CREDIT_WITHDRAW, Action.HOLD], purged=True)


def test_first_relay_after_acknowledgement_is_the_first_assessment() -> None:
    assert walk(NEW, [Action.ACKNOWLEDGE, Action.RELAY])[-1].after == TRI


def test_relay_goes_before_close() -> None:
    assert with_relay([Action.SEVERITY, Action.CLOSE]) == (
        Action.SEVERITY,
        Action.RELAY,
        Action.CLOSE,
    )
    assert walk(FIX, with_relay([Action.CLOSE]))[-1].after == CLOSED


def test_relay_goes_before_duplicate() -> None:
    assert with_relay([Action.CWE, Action.DUPLICATE]) == (
        Action.CWE,
        Action.RELAY,
        Action.DUPLICATE,
    )
    assert walk(TRI, with_relay([Action.DUPLICATE]))[-1].after == CLOSED


def test_relay_goes_after_reopen() -> None:
    assert with_relay(["reopen"]) == (Action.REOPEN, Action.RELAY)
    assert walk(CLOSED, with_relay([Action.REOPEN]))[-1].after == TRI


def test_relay_alone() -> None:
    assert with_relay([]) == (Action.RELAY,)


def test_reopen_and_close_again_changes_the_reason_in_one_mail() -> None:
    actions = with_relay([Action.REOPEN, Action.CLOSE])
    assert actions == (Action.REOPEN, Action.RELAY, Action.CLOSE)
    assert walk(CLOSED, actions)[-1].after == CLOSED


def test_relay_on_a_closed_case_is_refused_even_with_close() -> None:
    with pytest.raises(IllegalTransition, match="nothing was sent"):
        walk(CLOSED, with_relay([Action.CLOSE]))
