"""The hand-off log: what a dead sender leaves for its successor (outgoing/handoffs.py)."""

from __future__ import annotations

from pathlib import Path

from mailtriage.outgoing.handoffs import HandoffLog, handoff_directory, logs_in, read_log

OWNER = "desk.example.nl|boot/pid:[1]|4242|1000"
WRITER = "desk.example.nl|boot/pid:[1]|4243|1001"


def test_a_log_names_its_owner_and_writer_and_the_rows_the_server_accepted(tmp_path: Path):
    log = HandoffLog(tmp_path, OWNER, "sender4243", writer=WRITER)
    log.open()
    for row in (7, 8, 12):
        log.accepted(row)
    left = read_log(log.path)
    assert left is not None
    assert (left.owner, left.writer, left.accepted()) == (OWNER, WRITER, frozenset({7, 8, 12}))


def test_a_torn_last_line_names_no_row(tmp_path: Path):
    """A crash in the middle of a write: the row is sent again rather than taken as sent."""
    path = tmp_path / "torn.handoffs"
    path.write_bytes(f"{OWNER}\n{OWNER}\n5\n6\n1".encode())
    left = read_log(path)
    assert left is not None and left.accepted() == frozenset({5, 6})


def test_recorded_starts_afresh_and_a_clean_close_removes_the_log(tmp_path: Path):
    log = HandoffLog(tmp_path, OWNER, 0)
    log.accepted(1)
    log.recorded()
    log.accepted(2)
    left = read_log(log.path)
    assert left is not None and left.accepted() == frozenset({2}) and left.writer == OWNER
    log.recorded()
    log.close()
    assert not log.path.exists()


def test_a_log_with_unrecorded_rows_outlives_the_call_for_the_successor(tmp_path: Path):
    log = HandoffLog(tmp_path, OWNER, 3)
    log.accepted(9)
    log.close()  # the record failed: the store does not know row 9 went
    assert [left.accepted() for left in logs_in(tmp_path)] == [frozenset({9})]


def test_a_directory_that_cannot_be_written_costs_the_log_not_the_mail(tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    log = HandoffLog(blocked / "handoffs", OWNER, 0)
    log.open()
    log.accepted(1)  # no exception: sending goes on without a log
    log.close()
    assert list(logs_in(blocked / "handoffs")) == []


def test_the_log_lives_in_systemds_state_directory_else_beside_a_sqlite_store(tmp_path: Path):
    sqlite = "sqlite:////srv/desk/store.sqlite"
    state = {"STATE_DIRECTORY": "/var/lib/mailtriage"}
    assert handoff_directory(sqlite, state).parent == Path("/var/lib/mailtriage/handoffs")
    assert handoff_directory(sqlite, {}).parent == Path("/srv/desk/handoffs")
    xdg = {"XDG_STATE_HOME": str(tmp_path)}
    postgres = "postgresql+psycopg://desk:geheim@db.example.nl/mailtriage"
    folder = handoff_directory(postgres, xdg)
    assert folder.parent == tmp_path / "mailtriage" / "handoffs"
    assert "geheim" not in str(folder), "the URL's password never shows in a path"


def test_each_store_has_a_folder_of_its_own():
    """A desk removes every dead sender's log it reads: another store's must not be there."""
    one = handoff_directory("postgresql+psycopg://desk@/mailtriage_a", {})
    other = handoff_directory("postgresql+psycopg://desk@/mailtriage_b", {})
    assert one != other and one.parent == other.parent
