"""The registry of outgoing mail kinds: every kind renders in every language it may be sent
in from a realistic typed payload, every shipped template belongs to a kind, and the registry
refuses the mistakes that would otherwise surface as an undeliverable mail."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from mailtriage.config import parse_config
from mailtriage.desk.replies import Replies
from mailtriage.outgoing.mailkinds import (
    KINDS,
    KindRegistry,
    MailKind,
    Payload,
    Source,
    UnknownKind,
)
from mailtriage.outgoing.mailkinds.closing import STAFF_WORDS_RULE, ClosingPayload
from mailtriage.outgoing.render import BILINGUAL_SEPARATOR, Renderer, packaged_templates_dir
from mailtriage.store import Store
from tests.support.clock import QUIET_WORKDAY_MORNING, FakeClock
from tests.support.mailkinds import EXAMPLES, REF, STAFF_TEXT


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_every_registered_kind_has_an_example_and_no_example_is_stale() -> None:
    assert set(EXAMPLES) == set(KINDS.names())


SENDABLE = [(kind.name, language) for kind in KINDS for language in kind.languages()]


@pytest.mark.parametrize(("name", "language"), SENDABLE)
def test_every_kind_renders_in_every_language_it_may_be_sent_in(
    renderer: Renderer, name: str, language: str
) -> None:
    kind = KINDS.get(name)
    payload = EXAMPLES[name]
    mail = kind.render(renderer, language, payload)
    assert mail.subject.strip()
    assert mail.body.endswith("\n") and mail.body.strip()
    if any(f.name == "ref" for f in fields(payload)):
        assert REF in mail.subject + mail.body
    if kind.audience == "reporter" and language == "unsure" and "unsure" not in kind.forms:
        assert BILINGUAL_SEPARATOR in mail.body  # the renderer's Dutch-then-English frame


def test_reporter_kinds_are_sent_in_dutch_english_and_bilingual_and_staff_in_english() -> None:
    for kind in KINDS:
        expected = ("nl", "en", "unsure") if kind.audience == "reporter" else ("en",)
        assert kind.languages() == expected, kind.name


@pytest.mark.parametrize("name", KINDS.names("reporter"))
def test_reporter_kinds_speak_dutch_and_english(renderer: Renderer, name: str) -> None:
    kind, payload = KINDS.get(name), EXAMPLES[name]
    dutch = kind.render(renderer, "nl", payload)
    english = kind.render(renderer, "en", payload)
    assert dutch.body != english.body


def test_every_template_file_belongs_to_a_registered_kind() -> None:
    shipped = {path.name for path in packaged_templates_dir().glob("*.txt")}
    declared = {name for kind in KINDS for name in kind.template_files()}
    assert shipped == declared


def test_relay_has_its_own_bilingual_file_with_the_words_once(renderer: Renderer) -> None:
    mail = KINDS.get("relay").render(renderer, "unsure", EXAMPLES["relay"])
    assert mail.body.count(STAFF_TEXT) == 1


def test_closing_with_staff_words_puts_them_once_above_the_bilingual_notice(
    renderer: Renderer,
) -> None:
    closing = KINDS.get("closing")
    words = ClosingPayload(**{**EXAMPLES["closing"].context(), "text": STAFF_TEXT})  # type: ignore[arg-type]
    mail = closing.render(renderer, "unsure", words)
    assert mail.body.startswith(STAFF_TEXT + "\n\n" + STAFF_WORDS_RULE + "\n\n")
    assert mail.body.count(STAFF_TEXT) == 1
    assert BILINGUAL_SEPARATOR in mail.body
    assert closing.carries_staff_words(words)
    assert not closing.carries_staff_words(EXAMPLES["closing"])


def test_only_a_persons_words_carry_attachments() -> None:
    carrying = {kind.name for kind in KINDS if kind.carries_staff_words(EXAMPLES[kind.name])}
    assert carrying == {"relay"}


def test_only_reporter_kinds_pass_the_automatic_mail_guard() -> None:
    for kind in KINDS:
        if kind.audience == "staff":
            assert kind.guard == "none", kind.name
    guarded = {kind.name for kind in KINDS if kind.guard == "automatic"}
    assert guarded == {"acknowledgement", "redirect", "progress_update"}


def test_payloads_are_frozen() -> None:
    with pytest.raises(AttributeError):
        EXAMPLES["relay"].text = "changed"  # type: ignore[misc]


# --------------------------------------------------------------------------- the registry


def _kind(name: str, audience: str = "staff", forms: tuple[str, ...] = ("en",)) -> type:
    class Made(MailKind[Payload]):
        def build(self, source: Source) -> Payload:
            return Payload()

    Made.name, Made.audience, Made.forms, Made.guard = name, audience, forms, "none"  # type: ignore[assignment]
    return Made


def test_the_registry_refuses_two_kinds_of_one_name() -> None:
    with pytest.raises(ValueError, match="two mail kinds"):
        KindRegistry([_kind("staff_x"), _kind("staff_x")])


def test_the_registry_refuses_unknown_kinds() -> None:
    registry = KindRegistry([_kind("staff_x")])
    assert "staff_x" in registry and "staff_y" not in registry
    with pytest.raises(UnknownKind):
        registry.get("staff_y")
    with pytest.raises(UnknownKind):
        KINDS.get("acknowledgment")


@pytest.mark.parametrize(
    ("made", "why"),
    [
        (_kind("Bad-Name"), "not a kind name"),
        (_kind("x" * 41), "not a kind name"),
        (_kind("staff_x", forms=("nl", "en")), "English only"),
        (_kind("note", audience="reporter", forms=("en",)), "Dutch and English"),
    ],
)
def test_the_registry_refuses_kinds_it_could_not_send(made: type, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        KindRegistry([made])


def test_replies_refuse_to_queue_a_kind_no_module_declares(tmp_path: Path) -> None:
    config = parse_config(
        {
            "mailbox": {"source": "maildir", "path": "spool"},
            "smtp": {"transport": "maildir", "path": "out", "from_address": "security@example.nl"},
            "cases": {"staff_notify": "team@example.nl"},
        },
        base_dir=tmp_path,
    )
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.upgrade()
    replies = Replies(config, FakeClock(QUIET_WORKDAY_MORNING))
    with store.session() as session:
        with pytest.raises(UnknownKind):
            replies.notify_staff(session, "staff_reminderr", {})
        assert replies.notify_staff(session, "staff_purge_incomplete", {"wal_bytes": 1})
