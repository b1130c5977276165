"""The app's sign-in, AppTest on a real project (SQLite and PostgreSQL): none without users; with
users, a form (or the OIDC provider) before any page, and pages by role."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from roleext.assignments import assign, queue
from roleext.backends import OfflineBackend
from roleext.jobs import Job, JobSpec
from roleext.project import ReviewStatus
from roleext.sample import import_sample
from roleext.store import ProjectStore
from roleext.users import UserBook, oidc_providers, oidc_user_name

ROOT = Path(__file__).resolve().parents[1]
OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "roleext", "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://id.example.com/.well-known/openid-configuration"}


@pytest.fixture(autouse=True)
def through_app_py(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run goes through app.py, as in a browser.

    AppTest resets Streamlit's legacy-pages flag before each run; with a pages/ folder beside
    app.py, every run after the first would then run the page alone and skip app.py (and its
    sign-in). A server sets the flag once (pages/legacy_pages.py); this keeps it set here."""
    from streamlit.runtime.pages_manager import PagesManager  # private, as in pages/legacy_pages.py

    original = PagesManager.__init__

    def init(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def project(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProjectStore]:
    monkeypatch.setenv("ROLEEXT_DB", db_url)
    with closing(ProjectStore(db_url)) as store:
        import_sample(store)
        yield store


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def password_box(at: AppTest) -> bool:
    return any(box.key == "sign_in_password" for box in at.text_input)


def shown(markdown: str) -> str:
    """Markdown as the reader sees it: without the escapes that keep user data from being markup."""
    return markdown.replace("\\", "")


def titles(at: AppTest) -> list[str]:
    return [title.value for title in at.title]


def test_without_users_nobody_signs_in(project: ProjectStore) -> None:
    at = app()
    assert not at.exception
    assert titles(at) == ["Data"] and not password_box(at)
    assert at.switch_page("pages/export.py").run().title[0].value == "Export"  # every page, every right


def test_with_users_the_app_asks_who_is_working_before_any_page(project: ProjectStore) -> None:
    UserBook(project).add("ann", "annotator", "ann's pw")
    at = app()
    assert not at.exception and titles(at) == ["Sign in"]
    assert at.text_input(key="sign_in_password").proto.type == at.text_input(key="sign_in_password").proto.PASSWORD
    assert not at.sidebar.get("nav")  # no page is listed, none ran
    sign_in(at, "ann", "wrong")
    assert titles(at) == ["Sign in"]
    assert at.error[0].value.startswith("Wrong name or password")
    sign_in(at, "nobody", "ann's pw")
    assert titles(at) == ["Sign in"] and at.error[0].value.startswith("Wrong name or password")


def test_an_annotator_sees_review_and_evaluate_only(project: ProjectStore) -> None:
    UserBook(project).add("ann", "annotator", "ann's pw")
    at = sign_in(app(), "ann", "ann's pw")
    assert not at.exception
    assert titles(at)[0] == "Review"  # the first page an annotator may use
    assert "Signed in as ann · annotator" in [shown(caption.value) for caption in at.sidebar.caption]
    with pytest.raises(ValueError, match="Known pages"):  # Data, Summarize, Inference, Export: not registered
        at.switch_page("pages/data.py")
    assert at.switch_page("pages/evaluate.py").run().title[0].value == "Evaluate"


def test_only_an_admin_switches_the_offline_rules(project: ProjectStore) -> None:
    Job(project, OfflineBackend(), JobSpec("infer", "train")).run()
    UserBook(project).add("ann", "annotator", "ann's pw")
    UserBook(project).add("root", "admin", "admin pw")
    for name, password, switches in (("ann", "ann's pw", False), ("root", "admin pw", True)):
        at = sign_in(app(), name, password).switch_page("pages/evaluate.py").run()
        boxes = [box for box in at.checkbox if box.key.startswith("rule_switch_")]
        assert boxes and all(box.disabled != switches for box in boxes), name


def test_on_review_an_annotator_reads_others_records_and_edits_their_own(project: ProjectStore) -> None:
    UserBook(project).add("ann", "annotator", "ann's pw")
    assign(project, "train", ["ann", "bob"], overlap=0.0, seed=1)
    at = sign_in(app(), "ann", "ann's pw")
    anns_first = next(q.index for q in queue(project, "ann"))
    assert at.selectbox(key="review_record_train").value == anns_first  # her queue, not record 1
    buttons = {button.label: button for button in at.button}
    assert buttons["Needs fix"].disabled and buttons["Reject"].disabled and not buttons["Accept"].disabled
    bobs = next(q.index for q in queue(project, "bob"))
    at.number_input(key="review_go_to").set_value(bobs).run()
    assert "not assigned to you" in " ".join(info.value for info in at.info)
    assert next(button for button in at.button if button.label == "Accept").disabled
    assert all(area.disabled for area in at.text_area)
    assert not any(button.label == "Add a customer" for button in at.button)
    anns = next(q.index for q in queue(project, "ann"))
    at.number_input(key="review_go_to").set_value(anns).run()
    assert not any("not assigned to you" in info.value for info in at.info)
    next(button for button in at.button if button.label == "Accept").click().run()
    assert not at.exception
    assert project.get_record("train", anns).status == ReviewStatus.PENDING  # a reviewer sets statuses
    assert [q.done for q in queue(project, "ann") if q.index == anns] == [True]


def test_an_admin_sees_every_page_and_edits_carry_their_name(project: ProjectStore) -> None:
    UserBook(project).add("root", "admin", "admin pw")
    at = sign_in(app(), "root", "admin pw")
    assert titles(at)[0] == "Data"
    for name, title in (("summarize", "Summarize"), ("export", "Export"), ("inference", "Inference")):
        assert at.switch_page(f"pages/{name}.py").run().title[0].value == title
    at.switch_page("pages/review.py").run()
    next(button for button in at.button if button.label == "Accept").click().run()
    assert not at.exception
    record = project.get_record("train", 1)
    assert record.status == ReviewStatus.ACCEPTED
    assert [entry.author for entry in project.history_of(record.id) if entry.target == "status"] == ["root"]


def test_a_reviewer_removed_or_signed_out_is_asked_again(project: ProjectStore) -> None:
    book = UserBook(project)
    book.add("rita", "reviewer", "rita pw")
    book.add("root", "admin", "admin pw")
    at = sign_in(app(), "rita", "rita pw")
    assert titles(at)[0] == "Review"
    at.sidebar.button(key="sign_out").click().run()
    assert titles(at) == ["Sign in"]
    sign_in(at, "rita", "rita pw")
    book.remove("rita")
    at.run()
    assert titles(at)[-1] == "Sign in" and "rita is no longer a user" in at.warning[0].value


def test_with_an_oidc_provider_st_login_signs_people_in(project: ProjectStore) -> None:
    UserBook(project).add("ivy@example.com", "reviewer", None)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception and titles(at) == ["Sign in"]
    assert not password_box(at)  # no password form
    if importlib.util.find_spec("authlib") is None:
        assert 'Authlib' in at.error[0].value and 'pip install -e ".[oidc]"' in shown(at.error[0].value)
    else:
        assert [button.label for button in at.button] == ["Sign in"]

    at.user = {"is_logged_in": True, "email": "ivy@example.com", "name": "Ivy"}
    at.run()
    assert not at.exception and titles(at)[0] == "Review"
    assert "Signed in as ivy@example.com · reviewer" in [shown(caption.value) for caption in at.sidebar.caption]

    at.user = {"is_logged_in": True, "email": "mallory@example.com", "name": "Mallory"}
    at.run()
    assert titles(at) == [] or titles(at) == ["Sign in"]
    assert "roleext users add mallory@example.com --role annotator --no-password" in shown(at.error[0].value)

    # A display name is whatever the account holder typed: it never signs anyone in as that user.
    UserBook(project).add("alice", "admin", None)
    at.user = {"is_logged_in": True, "email": "mallory@example.com", "name": "alice"}
    at.run()
    assert "Signed in as alice · admin" not in [shown(caption.value) for caption in at.sidebar.caption]
    assert "roleext users add mallory@example.com" in shown(at.error[0].value)
    at.user = {"is_logged_in": True, "email": "ivy@example.com", "email_verified": False, "name": "Ivy"}
    at.run()
    assert "no verified e-mail" in at.error[0].value


def test_an_oidc_sign_in_stands_for_its_verified_email_only() -> None:
    assert oidc_user_name({"email": "ivy@example.com", "name": "Ivy"}) == "ivy@example.com"
    assert oidc_user_name({"email": "ivy@example.com", "email_verified": True}) == "ivy@example.com"
    assert oidc_user_name({"email": "ivy@example.com", "email_verified": False}) is None
    assert oidc_user_name({"name": "alice", "sub": "1234"}) is None


def test_oidc_providers_of_secrets() -> None:
    assert oidc_providers(OIDC) == [None]
    assert oidc_providers({"redirect_uri": "x", "cookie_secret": "y", "google": {"client_id": "g"},
                           "okta": {"client_id": "o"}}) == ["google", "okta"]
