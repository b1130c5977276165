"""The team pages headless (AppTest) on a real project database: Agreement, and Review's "my queue"."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.customers_editor import edit_toggle_key
from roleext.annotations import assignees, get_annotation, save_annotation
from roleext.assignments import assign
from roleext.resolution import disagreements
from roleext.sample import import_sample
from roleext.store import ProjectStore
from tests.test_team import STUCK, label_hand_fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProjectStore:
    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    store = ProjectStore(db)
    import_sample(store)
    return store


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=30)


def test_the_agreement_page_shows_the_table_and_resolves_a_disagreement(project: ProjectStore) -> None:
    label_hand_fixture(project)
    at = page("agreement").run()
    assert not at.exception
    table = at.dataframe[0].value
    stuck = table[table["field"] == STUCK].iloc[0]
    assert (stuck["agreement"], stuck["kappa"]) == ("60.0%", "0.167")
    listed = at.dataframe[1].value
    assert len(listed) == 3 and set(listed["field"]) == {STUCK, "咨询类型"}
    assert "3 of 3 unresolved" in at.caption[1].value

    first = disagreements(project, "train")[0]
    key = f"resolve_{first.cell.record_id}_{first.cell.customer}_{first.cell.field}"
    assert at.radio(key=f"{key}_choice").value is None  # nothing chosen for the reviewer
    assert at.button(key=f"{key}_save").disabled
    at.radio(key=f"{key}_choice").set_value("second").run()
    at.button(key=f"{key}_save").click().run()
    assert not at.exception
    resolved = disagreements(project, "train")[0].resolution
    assert resolved is not None and resolved.value == first.cell.b
    assert "2 of 3 unresolved" in at.caption[1].value


def test_review_shows_my_queue_and_jumps_to_the_next_record_to_label(project: ProjectStore,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEEXT_USER", "ann")
    assign(project, "train", ["ann", "bob"], overlap=0.0, seed=5)
    mine = [r for r in project.iter_records("train") if "ann" in assignees(project, r.id)]
    save_annotation(project, mine[0].id, "ann", mine[0].gold, 0, "ann")
    at = page("review").run()
    assert not at.exception
    assert "ann: 1 of 5 labelled" in at.sidebar.get("progress")[0].proto.text
    at.sidebar.button(key="my_queue_next").click().run()
    assert not at.exception
    assert at.query_params == {"split": "train", "record": str(mine[1].index)}
    assert at.selectbox(key="review_record_train").value == mine[1].index


def test_review_in_team_mode_edits_the_annotators_own_labels(project: ProjectStore,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEEXT_USER", "ann")
    assign(project, "train", ["ann", "bob"], overlap=1.0)
    record = project.get_record("train", 1)
    at = page("review")
    at.query_params.update(split="train", record="1")
    at.run()
    at.toggle(key=edit_toggle_key("gold", str(record.id))).set_value(True).run()  # the customers' widgets
    at.pills(key="gold_0_客户购买阶段").set_value("赢单").run()
    assert not at.exception
    assert project.get_record("train", 1).gold == record.gold
    labels = get_annotation(project, record.id, "ann")
    assert labels is not None and labels.infos[0]["客户购买阶段"] == "赢单"
    assert get_annotation(project, record.id, "bob") is None
