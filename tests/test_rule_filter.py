"""The rules as a precision filter: each field takes the LLM's value, the rules', or the LLM's
where the rules agree, chosen on train gold, and never scores below the better of the two there."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roleext.cleaning import learn_profile
from roleext.extract import extract_customers
from roleext.rule_filter import SOURCES, Source, combine, cross_validate, filter_scores, learn_sources
from roleext.schema import FIELD_NAMES, FIELDS, NAME_FIELD, Customer, complete_customer, empty_customer
from roleext.scoring import score_predictions

Cli = Callable[..., tuple[int, str, str]]
PHONE, STAGE, KIND, PRODUCT = "基本信息-手机号码", "客户购买阶段", "咨询类型", "意向产品"


def customer(**values: Any) -> Customer:
    """A customer from keyword values: name=, and the field names' ASCII stand-ins below."""
    keys = {"name": NAME_FIELD, "phone": PHONE, "stage": STAGE, "kind": KIND, "product": PRODUCT}
    return complete_customer({keys[k]: v for k, v in values.items()})


def every(source: Source) -> dict[str, Source]:
    return dict.fromkeys(FIELD_NAMES, source)


# --- combine ------------------------------------------------------------------------------------

def test_each_source_gives_its_value_and_agree_keeps_the_llm_only_where_the_rules_say_the_same() -> None:
    llm = [customer(name="王勇7", phone="13800000000", stage="报价", kind=["询价", "答疑"], product=["CRM"])]
    rules = [customer(name="王勇7", phone="13800000000", stage="", kind=["答疑", "询价"], product=[])]
    assert combine(llm, rules, every("llm")) == llm
    assert combine(llm, rules, every("rules")) == rules
    (agreed,) = combine(llm, rules, every("agree"))
    assert agreed[PHONE] == "13800000000" and agreed[KIND] == ["询价", "答疑"]  # lists agree as sets
    assert agreed[STAGE] == "" and agreed[PRODUCT] == []  # disagreement: the empty answer


def test_agree_falls_back_to_the_prior_on_the_prior_fields() -> None:
    llm = [{**customer(name="王勇7", kind=["吐槽"]), "客户是否有卡点": "有卡点"}]
    rules = [customer(name="王勇7", kind=["询价"])]
    (agreed,) = combine(llm, rules, every("agree"))
    assert agreed[KIND] == ["答疑"] and agreed["客户是否有卡点"] == "无卡点"


def test_customers_are_paired_by_name_and_follow_the_names_source() -> None:
    llm = [customer(name="李娜3", stage="报价"), customer(name="王勇7", stage="方案交流")]
    rules = [customer(name="王勇7", phone="13800000000", kind=["询价"])]
    mixed = {**every("llm"), PHONE: "rules", KIND: "rules"}
    first, second = combine(llm, rules, mixed)
    assert second[PHONE] == "13800000000" and second[STAGE] == "方案交流"  # by name, not position
    assert first[PHONE] == "" and first[KIND] == ["答疑"]  # no rules customer: the rules' prior answer
    (only,) = combine(llm, rules, {**mixed, NAME_FIELD: "rules"})
    assert only[NAME_FIELD] == "王勇7" and only[STAGE] == "方案交流"
    assert [c[NAME_FIELD] for c in combine(llm, rules, {**mixed, NAME_FIELD: "agree"})] == ["", "王勇7"]
    assert combine([], rules, every("llm")) == [] and combine(llm, [], {NAME_FIELD: "rules"}) == []


# --- learn_sources ------------------------------------------------------------------------------

def test_each_field_takes_the_source_that_earns_most_and_a_tie_goes_to_the_llm() -> None:
    gold = {1: [customer(name="王勇7", phone="13800000000", stage="")],
            2: [customer(name="李娜3", phone="13900000000", stage="报价")],
            3: [customer(name="周杰5", phone="", stage="")]}
    llm = {1: [customer(name="王勇7", phone="13800000000", stage="报价")],  # stage: often wrong
           2: [customer(name="李娜3", phone="13900000000", stage="报价")],
           3: [customer(name="周杰5", phone="", stage="需求调研")]}
    rules = {1: [customer(name="王勇7", stage="")], 2: [customer(name="李娜3", stage="报价")],
             3: [customer(name="周杰5", stage="")]}
    sources = learn_sources(gold, llm, rules)
    assert sources[PHONE] == "llm"  # the rules find no phone here
    assert sources[STAGE] in ("rules", "agree")  # both 3 of 3: the LLM only 1 of 3
    assert sources[NAME_FIELD] == "llm" and sources["竞品信息"] == "llm"  # ties
    scores = filter_scores(gold, llm, rules, sources)
    assert scores.combined == pytest.approx(36.0)
    assert scores.combined > max(scores.llm, scores.rules)


def _random_customer(rng: random.Random, names: list[str]) -> Customer:
    out = empty_customer()
    out[NAME_FIELD] = rng.choice(names)
    for spec in FIELDS[1:]:
        if rng.random() < 0.5:
            continue
        out[spec.name] = (rng.sample(list(spec.known) or ["甲", "乙", "丙"], rng.randint(0, 2)) if spec.kind == "list"
                          else rng.choice(list(spec.known) or ["甲", "乙", "甲乙", ""]))
    return out


def test_the_combination_never_scores_below_the_better_source_on_what_it_was_learnt_on() -> None:
    """Many small made-up record sets, with several customers, names that differ and missing ones."""
    rng = random.Random(7)
    names = ["王勇7", "李娜3", "周杰5", ""]
    for _ in range(40):
        indices = range(1, rng.randint(1, 8) + 1)
        gold, llm, rules = ({i: [_random_customer(rng, names) for _ in range(rng.randint(lo, 2))] for i in indices}
                            for lo in (1, 0, 0))
        sources = learn_sources(gold, llm, rules)
        scores = filter_scores(gold, llm, rules, sources)
        assert scores.combined >= max(scores.llm, scores.rules) - 1e-9
        for candidate in SOURCES:  # nor below any single source for every field
            everywhere = {i: combine(llm.get(i, []), rules.get(i, []), every(candidate)) for i in gold}
            assert scores.combined >= score_predictions(gold, everywhere).score - 1e-9


def test_held_out_figure_chooses_each_records_sources_without_it() -> None:
    """One record alone: learnt on nothing, every field takes the LLM's value."""
    gold = {1: [customer(name="王勇7", stage="")]}
    llm = {1: [customer(name="王勇7", stage="报价")]}
    rules = {1: [customer(name="王勇7", stage="")]}
    assert filter_scores(gold, llm, rules, learn_sources(gold, llm, rules)).combined == pytest.approx(36.0)
    held = cross_validate(gold, llm, rules, folds=5)
    assert held.combined == pytest.approx(held.llm) and held.records == 1


def test_on_the_real_records_the_filter_is_at_least_the_better_of_the_two(shared_train: Path) -> None:
    """The "LLM" here is the offline extractor without its speaker rules and price rule, names
    decorated: what differs is real data, what is learnt is the per-field choice."""
    records = json.loads(shared_train.read_text("utf-8"))
    chats = [r["chat_text"] for r in records]
    test_file = shared_train.with_name("test_data.json")
    if test_file.exists():
        chats += [r["chat_text"] for r in json.loads(test_file.read_text("utf-8"))]
    staff = learn_profile(chats).staff
    gold = {i: r["infos"] for i, r in enumerate(records, start=1)}
    rules = {i: extract_customers(r["chat_text"], staff) for i, r in enumerate(records, start=1)}
    llm = {i: extract_customers(r["chat_text"], staff, {"pseudonym_customer", "price_question"})
           for i, r in enumerate(records, start=1)}
    scores = filter_scores(gold, llm, rules, learn_sources(gold, llm, rules))
    assert scores.records == 100 and scores.combined >= max(scores.llm, scores.rules) - 1e-9
    held = cross_validate(gold, llm, rules)
    assert held.llm == scores.llm and 0 < held.combined <= scores.combined + 1e-9


# --- the command line ---------------------------------------------------------------------------

def _figures(out: str, label: str) -> dict[str, float]:
    line = next(line for line in out.splitlines() if line.startswith(label))
    parts = line.split(": ", 1)[1].split(" · ")
    return {part.split()[0]: float(part.split()[-1]) for part in parts}


def test_filter_run_makes_a_run_that_is_listed_scored_and_exported(cli: Cli, sample_train: Path, sample_test: Path,
                                                                   tmp_path: Path) -> None:
    cli("import", str(sample_train))
    cli("import", str(sample_test))
    assert cli("infer", "--split", "train", "--input", "chat", "--disable-rule", "price_question")[0] == 0
    assert cli("infer", "--input", "chat", "--disable-rule", "price_question")[0] == 0

    code, out, err = cli("filter-run", "--run", "1")
    assert code == 0, err
    assert "learnt on 10 train records of run 1" in out and f"  {KIND}" in out
    train = _figures(out, "train")
    assert train["combined"] >= max(train["LLM"], train["rules"])
    assert out.strip().splitlines()[-1] == "run 3: 10 records of run 1 filtered"
    assert cli("score", "--run", "3")[1].splitlines()[-1] == f"score: {train['combined']:.4f}"

    code, out, err = cli("filter-run", "--run", "2")  # a test run: learnt on the train run
    assert code == 0 and "learnt on 10 train records of run 1" in out and "note:" not in out, err
    runs = {run["id"]: run for run in json.loads(cli("runs", "--json")[1])}
    assert runs[4]["split"] == "test" and runs[4]["backend"] == "rules-filter" and runs[4]["records"] == 5
    assert runs[4]["model"].startswith("run 2 offline") and runs[4]["options"]["learned_from"] == 1
    assert set(runs[4]["options"]["sources"]) == set(FIELD_NAMES)
    assert runs[3]["score"] == pytest.approx(train["combined"], abs=1e-4) and runs[4]["score"] is None
    submit = tmp_path / "submit.json"
    assert cli("export", "submission", str(submit), "--run", "4")[0] == 0
    assert len(json.loads(submit.read_text("utf-8"))) == 5


def test_filter_run_refuses_without_train_gold_or_a_train_run(cli: Cli, sample_train: Path,
                                                             sample_test: Path) -> None:
    cli("import", str(sample_test))
    cli("infer", "--input", "chat")
    code, _, err = cli("filter-run", "--run", "1")
    assert code == 2 and "no record of the train split has gold" in err
    cli("import", str(sample_train))
    code, _, err = cli("filter-run", "--run", "1")
    assert code == 2 and "no inference run on train to learn from" in err
    code, _, err = cli("filter-run", "--run", "1", "--learn-from", "1")
    assert code == 2 and "--learn-from needs a train run" in err
    assert [run["id"] for run in json.loads(cli("runs", "--json")[1])] == [1]  # nothing was made


def test_filter_run_speaks_the_terminals_language(cli: Cli, sample_train: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cli("import", str(sample_train))
    cli("infer", "--split", "train", "--input", "chat")
    monkeypatch.setenv("LANGUAGE", "zh")
    code, out, _ = cli("filter-run", "--run", "1")
    assert code == 0 and "learnt" not in out and "规则" in out
