"""`#duplicate REF2`: this case reports what REF2 already tracks.

The case is closed as `duplicate` and linked to REF2 (to the root of REF2's own links, see
`mailtriage.desk.duplicates`); its reporter is told in their language that the issue is known and
that they will hear when it is resolved — or, when REF2 is resolved or closed `fixed`
already, gets the closing notice saying so at once. Refused before anything is applied: an
unknown REF2, the case itself, a REF2 that is this case's own duplicate, a REF2 closed for
another reason than `fixed` (nothing would ever follow for this reporter to hear about).
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.duplicates import find_case, is_fixed, root_of, tell_linked
from mailtriage.desk.staffcommands.base import ArgumentError, Precheck, StaffCommand, StepContext
from mailtriage.policy.findings import FindingError, parse_case_ref
from mailtriage.policy.states import Action
from mailtriage.store.models import Case, CaseEvent


class Duplicate(StaffCommand):
    NAME = "duplicate"
    USAGE = "#duplicate REF2"
    TAKES_ARGUMENT = True
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.DUPLICATE,)

    def parse(self, argument: str) -> str:
        try:
            return parse_case_ref(argument)
        except FindingError as exc:
            raise ArgumentError(f"#duplicate: {exc}") from None

    def refusal_on(self, argument: str, check: Precheck) -> str | None:
        other = find_case(check.session, argument)
        if other is None:
            return f"#duplicate: there is no case {argument}"
        if other.id == check.case.id:
            return f"#duplicate: {argument} is this case itself; give the case it duplicates"
        root = root_of(other)
        if root.id == check.case.id:
            return (
                f"#duplicate: {argument} is recorded as a duplicate of this case; "
                "the link would go round in a circle"
            )
        if root.state == "closed" and not is_fixed(root):
            return (
                f"#duplicate: {root.ref} is closed ({root.close_reason}), so its reporter "
                "will never hear of a fix; #close this case with its own reason instead"
            )
        return None

    def apply(self, context: StepContext) -> str:
        case, session = context.case, context.session
        other = find_case(session, context.argument)
        assert other is not None  # refusal_on said so, in this transaction
        original = root_of(other)
        case.close_reason = "duplicate"
        case.closed_at = context.now
        case.next_update_due = None
        case.duplicate_of = original
        for earlier in list(case.duplicates):  # they duplicate the original too
            earlier.duplicate_of = original
        context.event("duplicate", {"of": original.ref})
        original.events.append(
            CaseEvent(at=context.now, kind="duplicate-linked", detail={"duplicate": case.ref})
        )
        via = f" (via {other.ref})" if other.id != original.id else ""
        line = f"closed as a duplicate of {original.ref}{via}; "
        if is_fixed(original):
            # This reporter, and any handed on from this case, hear of the fix at once.
            session.flush()  # so `original.duplicates` lists the links just made
            tell_linked(session, original, context.replies, context.now)
            told = _told(case)
            return line + (
                f"{original.ref} is fixed already, so the reporter was sent the closing message"
                if told
                else "no closing message could be sent to the reporter"
            )
        refusal = context.replies.reporter_notice(session, case, "duplicate_notice", {})
        if refusal is not None:
            return line + f"the reporter was not told ({refusal})"
        return line + "the reporter was told the issue is known and that they will hear of the fix"


def _told(case: Case) -> bool:
    """Whether the closing notice `tell_linked` just recorded for `case` was queued."""
    last = next((e for e in reversed(case.events) if e.kind == "duplicate-resolved"), None)
    return bool(last is not None and (last.detail or {}).get("told"))
