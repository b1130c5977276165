"""The local scorer: the competition metric with its unpublished choices made explicit."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from roleext.evaluation import field_rows, mistake_rows
from roleext.io import load_chat_file
from roleext.schema import FIELD_NAMES, FIELDS, MAX_RECORD_SCORE, empty_customer
from roleext.scoring import baselines, compare_customers, field_points, score_predictions


def gold_of(path: Path) -> dict[int, list[dict[str, Any]]]:
    return {r.index: r.infos for r in load_chat_file(path).records}


def all_empty_by_hand(gold: dict[int, list[dict[str, Any]]]) -> float:
    """An empty answer earns a field's weight exactly where the gold value is empty too."""
    per_record = []
    for customers in gold.values():
        earned = [sum(f.weight for f in FIELDS if not c[f.name]) for c in customers]
        per_record.append(sum(earned) / len(earned))
    return sum(per_record) / len(per_record)


def test_gold_against_itself_scores_full_marks(sample_train: Path) -> None:
    gold = gold_of(sample_train)
    report = score_predictions(gold, gold)
    assert report.score == MAX_RECORD_SCORE and report.mistakes == []


def test_all_empty_baseline_matches_a_hand_computation(sample_train: Path) -> None:
    gold = gold_of(sample_train)
    assert baselines(gold)["all-empty"] == pytest.approx(all_empty_by_hand(gold))


def test_all_empty_baseline_on_the_real_data(shared_train: Path) -> None:
    gold = gold_of(shared_train)
    base = baselines(gold)
    assert base["all-empty"] == pytest.approx(all_empty_by_hand(gold))
    assert base["all-empty"] < base["prior"] < MAX_RECORD_SCORE


def test_customers_pair_by_name_whatever_their_order(sample_train: Path) -> None:
    gold = gold_of(sample_train)
    swapped = copy.deepcopy(gold)
    swapped[3] = list(reversed(swapped[3]))
    assert score_predictions(gold, swapped).score == MAX_RECORD_SCORE


def test_list_fields_compare_as_sets() -> None:
    spec = next(f for f in FIELDS if f.name == "咨询类型")
    assert field_points(spec, ["询价", "答疑"], ["答疑", "询价"]) == spec.weight
    assert field_points(spec, ["询价", "答疑"], ["答疑"]) == 0


def test_free_text_earns_partial_credit() -> None:
    spec = next(f for f in FIELDS if f.name == "下一步跟进计划-具体事项")
    partial = field_points(spec, "发送会话存档正式报价单", "发送报价单")
    assert 0 < partial < spec.weight
    assert field_points(spec, "", "") == spec.weight
    assert field_points(spec, "发送报价单", "") == 0


def test_a_wrong_value_costs_what_an_empty_one_earns(sample_train: Path) -> None:
    gold = gold_of(sample_train)
    guessed = {i: [c | {"客户预算-预算是否充足": "不充足"} for c in cs] for i, cs in gold.items()}
    empty = {i: [empty_customer()] for i in gold}
    guessed_empty = {i: [empty_customer() | {"客户预算-预算是否充足": "不充足"}] for i in gold}
    assert score_predictions(gold, guessed).score < MAX_RECORD_SCORE
    assert score_predictions(gold, guessed_empty).score < score_predictions(gold, empty).score


def test_missing_predictions_score_as_empty_and_mistakes_point_at_records(sample_train: Path) -> None:
    gold = gold_of(sample_train)
    report = score_predictions(gold, {})
    assert report.score == pytest.approx(all_empty_by_hand(gold))
    assert {m.index for m in report.mistakes} == set(gold)
    first = next(m for m in report.mistakes if m.index == 1 and m.field == "基本信息-姓名")
    assert (first.gold, first.predicted, first.earned) == ("李娜3", "", 0)


def test_records_without_gold_are_skipped_not_scored_zero(sample_train: Path) -> None:
    gold = gold_of(sample_train) | {99: []}
    report = score_predictions(gold, gold)
    assert report.skipped == 1 and report.score == MAX_RECORD_SCORE


def test_field_table_adds_up_to_the_score(sample_train: Path) -> None:
    gold = gold_of(sample_train)
    report = score_predictions(gold, {i: [json.loads(json.dumps(empty_customer()))] for i in gold})
    assert sum(f.earned for f in report.fields) == pytest.approx(report.score)


def test_compare_customers_marks_exactly_the_fields_that_lost_points(sample_train: Path) -> None:
    gold = gold_of(sample_train)[1]
    predicted = copy.deepcopy(gold)
    predicted[0]["购买异议点"] = ["工时"]  # gold: 价格
    predicted[0]["下一步跟进计划-具体事项"] = gold[0]["下一步跟进计划-具体事项"] + "吧"
    cells = compare_customers(gold, predicted)
    assert [c.field for c in cells] == list(FIELD_NAMES) * len(gold)
    wrong = [c.field for c in cells if c.wrong]
    assert gold[0]["购买异议点"] == ["价格"]
    assert wrong == ["购买异议点", "下一步跟进计划-具体事项"]  # a near miss of a similarity field too
    report = score_predictions({1: gold}, {1: predicted})
    assert [m.field for m in report.mistakes] == wrong  # the score and the comparison agree


def test_evaluate_tables_follow_the_schema_and_read_as_text() -> None:
    gold = {1: [dict(empty_customer(), **{"购买异议点": ["价格", "工时"], "基本信息-姓名": "李娜3"})]}
    report = score_predictions(gold, {1: [empty_customer()]})
    assert [row["field"] for row in field_rows(report)] == list(FIELD_NAMES)
    rows = mistake_rows(report)
    assert [(r["field"], r["gold"], r["predicted"]) for r in rows] == [
        ("基本信息-姓名", "李娜3", "(empty)"), ("购买异议点", "价格、工时", "(empty)")]
