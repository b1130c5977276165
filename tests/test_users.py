"""The team: `roleext users`, password hashes, and what each role may do, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import closing

import pytest
from sqlalchemy import select

from roleext.cli import main
from roleext.errors import InvalidUserError, SignInError, UnknownUserError, UserExistsError
from roleext.roles import PAGE_RIGHTS, Person, may, may_edit_record, pages_for, single_user
from roleext.store import ProjectStore
from roleext.users import UserBook, read_password

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def users_cli(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`roleext users ...` in-process on this test's database, `stdin` piped in (not a terminal)."""

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--db", db_url, "users", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_users_add_list_remove_from_the_command_line(users_cli: Cli, db_url: str) -> None:
    code, out, _ = users_cli("add", "alice", "--role", "annotator", stdin="correct horse\n")
    assert code == 0 and "alice" in out and "annotator" in out
    assert users_cli("add", "王芳", "--role", "reviewer", stdin="电池 staple\n")[0] == 0
    code, out, _ = users_cli("list", "--json")
    assert [(u["name"], u["role"], u["password"]) for u in json.loads(out)] == [
        ("alice", "annotator", True), ("王芳", "reviewer", True)]
    code, out, _ = users_cli("list")
    assert out.splitlines()[0].startswith("alice  annotator  since ")
    with closing(ProjectStore(db_url)) as store:
        assert UserBook(store).verify("王芳", "电池 staple").role == "reviewer"  # the line's spaces are kept

    code, out, err = users_cli("remove", "alice")
    assert code == 0 and "single-user" not in err
    assert [u["name"] for u in json.loads(users_cli("list", "--json")[1])] == ["王芳"]
    code, _, err = users_cli("remove", "王芳")
    assert code == 0 and "single-user mode" in err  # the last one: the app is open again, and it says so
    with closing(ProjectStore(db_url)) as store:
        assert not UserBook(store).team_mode()
    assert "no users" in users_cli("list")[1]


def test_users_add_refuses_a_duplicate_an_unknown_role_and_an_empty_password(users_cli: Cli, db_url: str) -> None:
    assert users_cli("add", "bob", "--role", "admin", stdin="first\n")[0] == 0
    code, _, err = users_cli("add", "bob", "--role", "reviewer", stdin="second\n")
    assert code == 1 and "already exists" in err and "users passwd bob" in err
    code, _, err = users_cli("add", "carol", "--role", "boss", stdin="pw\n")
    assert code == 2 and "unknown role 'boss'" in err and "annotator, reviewer, admin" in err
    code, _, err = users_cli("add", "carol", "--role", "reviewer", stdin="\n")
    assert code == 2 and "password is empty" in err
    code, _, err = users_cli("add", "generated", "--role", "reviewer", stdin="pw\n")
    assert code == 2 and "history uses it" in err
    code, _, err = users_cli("remove", "nobody")
    assert code == 1 and "no user named 'nobody'" in err
    assert [(u["name"], u["role"]) for u in json.loads(users_cli("list", "--json")[1])] == [("bob", "admin")]
    with closing(ProjectStore(db_url)) as store:
        assert UserBook(store).verify("bob", "first").role == "admin"  # the refused duplicate changed nothing


def test_users_passwd_replaces_the_password(users_cli: Cli, db_url: str) -> None:
    users_cli("add", "dora", "--role", "reviewer", stdin="old one\n")
    code, out, _ = users_cli("passwd", "dora", stdin="new one\n")
    assert code == 0 and "dora" in out
    with closing(ProjectStore(db_url)) as store:
        book = UserBook(store)
        assert book.verify("dora", "new one").name == "dora"
        with pytest.raises(SignInError):
            book.verify("dora", "old one")
    assert users_cli("passwd", "nobody", stdin="x\n")[0] == 1
    assert users_cli("passwd", "dora", stdin="\n")[0] == 2


def test_the_stored_value_is_a_salted_hash_not_the_password(store: ProjectStore) -> None:
    book = UserBook(store)
    book.add("erin", "annotator", "hunter2 hunter2")
    book.add("finn", "annotator", "hunter2 hunter2")
    with store.engine.connect() as conn:
        rows = conn.execute(select(book.users.c.name, book.users.c.password_hash))
        hashes = {row.name: row.password_hash for row in rows}
    assert all(h.startswith("$argon2id$") and "hunter2" not in h for h in hashes.values())
    assert hashes["erin"] != hashes["finn"]  # salted: the same password hashes differently
    assert book.verify("erin", "hunter2 hunter2").role == "annotator"
    for name, password in (("erin", "hunter2"), ("erin", ""), ("nobody", "hunter2 hunter2")):
        with pytest.raises(SignInError, match="wrong name or password"):
            book.verify(name, password)


def test_typed_errors_of_the_user_book(store: ProjectStore) -> None:
    book = UserBook(store)
    assert not book.team_mode()
    book.add("  gus  ", "admin", "pw")
    assert book.team_mode() and book.get("gus") is not None  # the name is stored stripped
    with pytest.raises(UserExistsError):
        book.add("gus", "reviewer", "pw")
    with pytest.raises(InvalidUserError):
        book.add("hal", "owner", "pw")
    with pytest.raises(InvalidUserError):
        book.add(" ", "admin", "pw")
    with pytest.raises(InvalidUserError):
        book.add("x" * 65, "admin", "pw")
    with pytest.raises(UnknownUserError):
        book.set_password("nobody", "pw")


def test_a_user_without_a_password_never_signs_in_with_one(store: ProjectStore) -> None:
    """An OIDC-only user (`--no-password`): no password at all verifies, not even an empty one."""
    book = UserBook(store)
    book.add("ivy@example.com", "reviewer", None)
    assert book.list_users()[0].has_password is False
    for password in ("", "!", "anything"):
        with pytest.raises(SignInError):
            book.verify("ivy@example.com", password)


def test_a_password_is_read_twice_at_a_terminal_once_from_a_pipe() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["s3cret", "s3cret"])
    assert read_password(Terminal(), lambda prompt: next(answers)) == "s3cret"
    answers = iter(["s3cret", "typo"])
    with pytest.raises(InvalidUserError, match="differ"):
        read_password(Terminal(), lambda prompt: next(answers))
    assert read_password(io.StringIO("  spaced pw \r\nsecond line\n")) == "  spaced pw "


def test_rights_of_each_role() -> None:
    annotator, reviewer, admin = Person("a", "annotator"), Person("r", "reviewer"), Person("d", "admin")
    assert pages_for(annotator) == ["review", "evaluate"]
    assert pages_for(reviewer) == ["review", "agreement", "evaluate"]  # a reviewer resolves disagreements
    assert pages_for(admin) == list(PAGE_RIGHTS) == pages_for(single_user("me"))
    for right in ("import", "assign", "run_jobs", "export"):
        assert may(admin, right) and not may(reviewer, right) and not may(annotator, right)
    assert may(reviewer, "set_status") and not may(annotator, "set_status")
    assert may(reviewer, "resolve") and not may(annotator, "resolve")
    assert all(may(single_user("me"), right) for right in ("import", "export", "set_status", "edit_any"))


def test_an_annotator_edits_only_the_records_assigned_to_them() -> None:
    annotator, reviewer = Person("a", "annotator"), Person("r", "reviewer")
    mine = {3, 5}
    assert may_edit_record(annotator, 3, mine) and not may_edit_record(annotator, 4, mine)
    assert may_edit_record(annotator, 5, lambda record: record in mine)
    assert not may_edit_record(annotator, 4, lambda record: record in mine)
    assert may_edit_record(reviewer, 4, set()) and may_edit_record(Person("d", "admin"), 4, set())
    assert may_edit_record(single_user("me"), 4, set())
