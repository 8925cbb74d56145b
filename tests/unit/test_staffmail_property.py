"""Property: a staff mail that contains `#note` anywhere relays nothing to the reporter.

Tested on the pure decision (`staffmail.read_staff_mail`), which is the only thing that says
what a relay carries: generated staff texts (greetings, sentences, closings, signatures,
valid command blocks), with `#note` in any case, with blanks or invisible characters inside,
alone on a line or inside one, anywhere above the desk's quoted notification, and the
notification quoted below as Thunderbird, Outlook or Gmail quote it, or not at all.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtriage.desk.staffcommands import REGISTRY
from mailtriage.policy.staffmail import read_staff_mail

LINES = (
    "Beste onderzoeker,",
    "Dear researcher,",
    "Team,",
    "Dank voor je melding. We hebben het lek kunnen naspelen.",
    "Thank you for your report; a fix is planned for next week.",
    "Intern: dit is een dubbele melding van 0001.",
    "Internal: the hosting party has not been told yet.",
    "Met vriendelijke groet,",
    "Kind regards,",
    "Groet,",
    "Alice de Wit",
    "Security Officer | PZEM",
    "T +31 118 123 456 | M +31 6 12 34 56 78",
    "Verzonden vanaf mijn iPhone",
    "-- ",
    "",
)
COMMAND_BLOCKS = ("", "#status fixing\n", "#severity high\n#credit Sanne de Vries\n", "#hold\n")
NOTIFICATION = (
    "A new case has been opened: PZEM-SEC-2026-0001.\n\n"
    "Hallo,\nIk heb een kwetsbaarheid gevonden.\n"
)
QUOTES = (
    "",
    "\nOp 27-11-2026 om 14:05 schreef PZEM Security Team:\n"
    + "".join(f"> {line}\n" for line in NOTIFICATION.split("\n")),
    "\n________________________________\nVan: PZEM Security Team <security@example.nl>\n"
    "Verzonden: vrijdag 27 november 2026 14:05\nAan: security-team@example.nl\n"
    "Onderwerp: [PZEM-SEC-2026-0001] New report\n\n" + NOTIFICATION,
    "\nOn Fri, 27 Nov 2026 at 14:05, PZEM Security Team <\nsecurity@example.nl> wrote:\n\n"
    + "".join(f"> {line}\n" for line in NOTIFICATION.split("\n")),
)
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

# Text on the same line as the note: anything but a line break.
same_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=LINE_BREAKS),
    max_size=30,
)


@st.composite
def note_marks(draw: st.DrawFn) -> str:
    """`#note` as staff might type it: any case, blanks or invisible characters after the
    hash, the full-width hash some keyboards give."""
    hash_mark = draw(st.sampled_from(("#", "＃")))
    gap = draw(st.sampled_from(("", " ", "\u200b", "\xa0", "  ")))
    word = "".join(
        letter.upper() if draw(st.booleans()) else letter for letter in draw(st.just("note"))
    )
    return f"{hash_mark}{gap}{word}"


@st.composite
def staff_mails(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.sampled_from(LINES), min_size=0, max_size=12))
    mark = draw(note_marks())
    where = draw(st.integers(min_value=0, max_value=len(lines)))
    note_line = draw(same_line) + mark + draw(same_line)
    if draw(st.booleans()) and lines and where < len(lines):
        lines[where] = lines[where] + " " + note_line  # inside a line
    else:
        lines.insert(where, note_line)  # a line of its own
    commands = draw(st.sampled_from(COMMAND_BLOCKS))
    quote = draw(st.sampled_from(QUOTES))
    line_end = draw(st.sampled_from(("\n", "\r\n")))
    body = commands + "\n".join(lines) + "\n" + quote
    return body.replace("\n", line_end)


@settings(max_examples=1000, deadline=None)
@given(staff_mails())
def test_a_mail_containing_note_anywhere_relays_nothing(text: str) -> None:
    reading = read_staff_mail(text, REGISTRY, staff_domains=("example.nl",))
    assert reading.relay == ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LINES[:5]), min_size=1, max_size=5), st.sampled_from(QUOTES))
def test_without_note_a_plain_answer_is_relayed(lines: list[str], quote: str) -> None:
    """The property above is not met by relaying nothing ever."""
    text = "\n".join(lines) + "\n" + quote
    reading = read_staff_mail(text, REGISTRY, staff_domains=("example.nl",))
    assert reading.relay.strip() == "\n".join(lines).strip()


def test_a_note_below_a_greeting_is_refused_and_given_back() -> None:
    reading = read_staff_mail("Team,\n#note\nIntern: dubbele melding.\n", REGISTRY)
    assert reading.relay == "" and reading.refused
    assert any("below the top" in problem for problem in reading.problems)
    assert reading.written == "Team,\n#note\nIntern: dubbele melding."


def test_a_note_keeps_only_the_staff_text() -> None:
    text = "#note\nHosting is gebeld.\n\nGroet,\nAlice de Wit\nT +31 118 123 456\n" + QUOTES[1]
    reading = read_staff_mail(text, REGISTRY)
    assert reading.parsed.note and not reading.refused
    assert reading.own_text == "Hosting is gebeld.\n\nGroet,"
    assert reading.relay == ""
