"""What inference sends: the built-in prompt to a base model, the trained input to a fine-tuned
one, worked examples from the train split within the budget; checked on the fake servers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from roleext.backends import OfflineBackend, SparkBackend, SparkSettings
from roleext.backends.openai_compat import OpenAICompatBackend, OpenAISettings
from roleext.fewshot import ExamplePool
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.ledger import Ledger
from roleext.project import ReviewStatus
from roleext.prompts import extraction_prompt, inference_prompt, with_examples
from roleext.schema import FIELD_NAMES, FIELDS, complete_customer
from roleext.store import ProjectStore
from tests import fake_openai, fake_spark
from tests.fake_openai import FakeOpenAI
from tests.fake_spark import FakeSpark, prompt_of

FAST = {"backoff_initial": 0.01, "backoff_max": 0.05}
BASE_MODEL_ANSWER = ('好的，根据群聊内容，抽取结果如下：\n```json\n{"基本信息-姓名": "李娜3", "咨询类型": ["答疑"], '
                     '"客户是否有卡点": "无卡点"}\n```\n以上是唯一的客户[微笑]。')


@pytest.fixture
def project(store: ProjectStore, sample_train: Path, sample_test: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    store.import_chat_file(load_chat_file(sample_test))
    return store


@pytest.fixture
def spark() -> Iterator[FakeSpark]:
    server = FakeSpark(answer=lambda request: BASE_MODEL_ANSWER).start()
    yield server
    server.stop()


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(answer=lambda request: BASE_MODEL_ANSWER).start()
    yield server
    server.stop()


def spark_backend(server: FakeSpark, patch_id: str | None = None) -> SparkBackend:
    return SparkBackend(SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, fake_spark.API_SECRET,
                                      url=server.url, domain="generalv3", patch_id=patch_id))


def openai_backend(server: FakeOpenAI, fine_tuned: bool = False) -> OpenAICompatBackend:
    return OpenAICompatBackend(OpenAISettings(server.base_url, "qwen", fake_openai.API_KEY, fine_tuned=fine_tuned))


def openai_prompt(request: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in request["messages"])


def gold_json(store: ProjectStore, index: int) -> str:
    return json.dumps([complete_customer(c) for c in store.get_record("train", index).gold], ensure_ascii=False)


def test_the_built_in_prompt_names_every_field_its_type_and_the_known_values() -> None:
    prompt = extraction_prompt("chat")
    for spec in FIELDS:
        line = next(line for line in prompt.splitlines() if line.startswith(f"- {spec.name}（"))
        assert ("列表" in line) == (spec.kind == "list")
        assert all(value in line for value in spec.known)
    assert "留空" in prompt and "只输出JSON" in prompt and "每位客户一个对象" in prompt
    assert "摘要" in extraction_prompt("summary") and "摘要" not in extraction_prompt("chat")


def test_which_prompt_each_model_gets(spark: FakeSpark, openai: FakeOpenAI) -> None:
    assert inference_prompt(spark_backend(spark), None, "chat").origin == "builtin"
    assert inference_prompt(spark_backend(spark, "res-1"), None, "chat").text == ""
    assert inference_prompt(openai_backend(openai), None).origin == "builtin"
    assert inference_prompt(openai_backend(openai, fine_tuned=True), None).origin == "trained"
    mine = inference_prompt(openai_backend(openai), "抽取客户：{content}")
    assert (mine.origin, mine.text) == ("instruction", "抽取客户：{content}")
    assert inference_prompt(OfflineBackend(), None).origin == "rules"


def test_a_base_spark_model_gets_the_fields_and_its_answer_is_parsed(project: ProjectStore,
                                                                     spark: FakeSpark) -> None:
    progress = Job(project, spark_backend(spark), JobSpec("infer", "test", input_source="chat", **FAST)).run()
    assert (progress.done, progress.failed) == (5, 0)
    for request in spark.requests:
        sent = prompt_of(request)
        assert all(name in sent for name in FIELD_NAMES) and "{examples}" not in sent
        assert "patch_id" not in request["header"]
    chats = {project.get_record("test", i).chat_text for i in range(1, 6)}
    assert {chat for chat in chats if any(prompt_of(r).endswith(chat) for r in spark.requests)} == chats
    prediction = project.get_record("test", 1).prediction
    assert prediction is not None and prediction.error is None
    assert prediction.infos[0]["咨询类型"] == ["答疑"] and prediction.infos[0]["客户是否有卡点"] == "无卡点"


def test_a_fine_tuned_spark_model_gets_exactly_the_input_it_was_trained_on(project: ProjectStore,
                                                                          spark: FakeSpark) -> None:
    for record in project.iter_records("train"):
        project.save_summary(record.id, f"客户基本信息：第{record.index}条摘要", "offline", "digest", "p1")
    spec = JobSpec("infer", "train", few_shot=3, **FAST)  # examples are for base models: none here
    Job(project, spark_backend(spark, patch_id="res-123"), spec).run()
    sent = sorted(prompt_of(r) for r in spark.requests)
    assert sent == sorted(f"客户基本信息：第{i}条摘要" for i in range(1, 11))
    assert all(r["header"]["patch_id"] == ["res-123"] for r in spark.requests)


def test_an_openai_model_marked_fine_tuned_gets_the_input_alone(project: ProjectStore, openai: FakeOpenAI) -> None:
    Job(project, openai_backend(openai, fine_tuned=True), JobSpec("infer", "test", input_source="chat")).run()
    chats = sorted(project.get_record("test", i).chat_text for i in range(1, 6))
    assert sorted(openai_prompt(r) for r in openai.requests) == chats
    openai.requests.clear()
    Job(project, openai_backend(openai), JobSpec("infer", "test", input_source="chat")).run()
    assert all(all(name in openai_prompt(r) for name in FIELD_NAMES) for r in openai.requests)
    assert len(openai.requests) == 5  # another prompt: every record asked again


def test_few_shot_examples_are_other_train_records_gold_never_the_records_own(project: ProjectStore,
                                                                              openai: FakeOpenAI) -> None:
    spec = JobSpec("infer", "train", input_source="chat", few_shot=2)
    progress = Job(project, openai_backend(openai), spec).run()
    assert progress.failed == 0 and len(openai.requests) >= 10
    golds = {i: gold_json(project, i) for i in range(1, 11)}
    for request in openai.requests:
        sent = openai_prompt(request)
        read = max(sent.split("****群聊对话****\n")[-1].splitlines(), key=len)  # a line of the input (or chunk)
        own = next(i for i in golds if read in project.get_record("train", i).chat_text)
        assert golds[own] not in sent
        assert sum(golds[i] in sent for i in golds if i != own) == 2
    states = Ledger(project).states("infer")
    detail = states[project.get_record("train", 1).id].detail or ""
    assert "2 worked examples (train records" in detail


def test_accepted_records_come_first_and_rejected_ones_never(project: ProjectStore, openai: FakeOpenAI) -> None:
    for index, status in ((6, ReviewStatus.ACCEPTED), (3, ReviewStatus.REJECTED)):
        record = project.get_record("train", index)
        project.set_status(record.id, status, record.version)
    Job(project, openai_backend(openai), JobSpec("infer", "test", input_source="chat", few_shot=1)).run()
    accepted, rejected = gold_json(project, 6), gold_json(project, 3)
    assert all(accepted in openai_prompt(r) and rejected not in openai_prompt(r) for r in openai.requests)


def test_examples_and_input_stay_within_the_budget(store: ProjectStore, sample_train: Path,
                                                   openai: FakeOpenAI) -> None:
    store.import_chat_file(load_chat_file(sample_train))
    budget = 3_000  # less than the long record 8 (8,887 characters): it is chunked, examples beside it
    spec = JobSpec("infer", "train", input_source="chat", few_shot=3, max_input_chars=budget)
    progress = Job(store, openai_backend(openai), spec).run()
    assert progress.failed == 0
    lengths = [len(openai_prompt(r)) for r in openai.requests]
    assert max(lengths) <= budget
    assert sum("****示例1****" in openai_prompt(r) for r in openai.requests) >= 10
    detail = Ledger(store).states("infer")[store.get_record("train", 8).id].detail or ""
    assert "chunks of at most" in detail and "worked examples (train records" in detail


def test_the_pool_ranks_the_most_similar_chat_first(project: ProjectStore) -> None:
    pool = ExamplePool.of(project.iter_records("train"), "chat")
    record = project.get_record("train", 3)
    twin_text = record.chat_text + "\n补充：谢谢"  # what a near copy of record 3 would read
    others = [r for r in project.iter_records("train") if r.index != 3]
    ranked = pool.choose(others[0], twin_text, 3, None)
    assert ranked[0].index == 3 and all(e.index != others[0].index for e in ranked)
    assert pool.choose(record, record.chat_text, 9, None)[0].index != 3
    assert len(pool.choose(record, record.chat_text, 9, 10)) == 0  # nothing fits in 10 characters


def test_examples_go_where_the_prompt_says_or_before_the_input() -> None:
    assert with_examples("A{examples}B{content}", "EX") == "AEXB{content}"
    assert with_examples("A\n{content}", "EX") == "A\nEX\n{content}"
    assert with_examples("A", "EX") == "A\nEX"
    assert with_examples("A{examples}{content}", "") == "A{content}"
    assert with_examples("A{examples}{content}", "chat with {content} in it") == "Achat with { content } in it{content}"


def test_the_cli_says_which_prompt_it_sends_and_takes_few_shot(cli: Callable[..., tuple[int, str, str]],
                                                               sample_train: Path, openai: FakeOpenAI) -> None:
    assert cli("import", str(sample_train))[0] == 0
    common = ("infer", "--split", "train", "--input", "chat", "--backend", "openai", "--base-url", openai.base_url,
              "--model", "qwen", "--api-key", fake_openai.API_KEY)
    code, _, err = cli(*common, "--few-shot", "2")
    assert code == 0, err
    assert "prompt: the built-in extraction prompt" in err and "up to 2 worked examples" in err
    assert all("****示例2****" in openai_prompt(r) for r in openai.requests)
    openai.requests.clear()
    code, _, err = cli(*common, "--fine-tuned", "--few-shot", "2")
    assert code == 0 and "the input alone" in err and "--few-shot is ignored" in err
    assert all("****示例" not in openai_prompt(r) for r in openai.requests)
