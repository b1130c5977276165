"""Long chats: cleaning, chunking, merging, and every call within the model's limit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from roleext.backends import SparkBackend, SparkSettings
from roleext.chunking import split_units
from roleext.cleaning import clean_chat, learn_profile
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.ledger import Ledger
from roleext.merging import merge_customers, merge_summaries
from roleext.schema import empty_customer
from roleext.store import ProjectStore
from tests import fake_spark
from tests.fake_spark import FakeSpark, prompt_of

LIMIT = 12_000


def test_chunks_fit_cover_everything_in_order_and_overlap() -> None:
    units = [f"王勇7：第{i}条消息" + "很长" * (i % 7) for i in range(200)] + ["超长消息" * 400]
    chunks = split_units(units, 300, overlap=2)
    assert all(len(chunk) <= 300 for chunk in chunks)
    seen = [line for chunk in chunks for line in chunk.split("\n")]
    assert [u for u in units[:-1] if u in seen] == units[:-1]
    assert "".join(c for c in chunks if c.startswith("超长消息")).count("超长消息") == 400
    assert chunks[1].split("\n")[0] in chunks[0].split("\n")  # the overlap carried over


def test_boilerplate_is_learnt_from_the_chats_and_removed() -> None:
    blurb = "客户到店频次提升50%，驰加是如何与巨石蓝海一起基于企业微信做增长的？"
    chats = [f"王艳9：{blurb}\n客户{i}号：我的电话1380000{i:04d}" for i in range(10)]
    profile = learn_profile(chats)
    assert profile.boilerplate == {blurb}
    cleaned = clean_chat(chats[0], profile)
    assert blurb not in cleaned.text and "13800000000" in cleaned.text
    assert cleaned.chars_after < cleaned.chars_before


def test_customers_merge_by_name_with_positives_winning() -> None:
    first = empty_customer() | {"基本信息-姓名": "郑伟9", "意向产品": ["CRM"], "客户是否有卡点": "无卡点"}
    second = empty_customer() | {"基本信息-姓名": "郑伟9", "意向产品": ["开放接口", "CRM"],
                                 "客户是否有卡点": "有卡点", "基本信息-手机号码": "18900001234"}
    other = empty_customer() | {"基本信息-姓名": "王磊8", "客户是否有意向": "无意向"}
    merged = merge_customers([[first], [second, other]])
    assert [c["基本信息-姓名"] for c in merged] == ["郑伟9", "王磊8"]
    assert merged[0]["意向产品"] == ["CRM", "开放接口"]
    assert merged[0]["客户是否有卡点"] == "有卡点" and merged[0]["基本信息-手机号码"] == "18900001234"
    (one,) = merge_customers([[first], [second, other]], collapse=True)
    assert one["基本信息-姓名"] == "郑伟9" and one["客户是否有意向"] == "无意向"


def test_chunk_summaries_join_under_the_four_headings() -> None:
    merged = merge_summaries(["**客户基本信息**：郑伟9\n跟进计划信息：研发评估", "客户基本信息：电话18900001234"])
    assert merged.startswith("客户基本信息：\n郑伟9\n电话18900001234")
    assert "跟进计划信息：\n研发评估" in merged


@pytest.fixture
def spark() -> Iterator[FakeSpark]:
    def answer(request: dict[str, object]) -> str:
        prompt = prompt_of(request)  # type: ignore[arg-type]
        if "你是一个数据分析大师" in prompt or "合并成一份摘要" in prompt:
            return "客户基本信息：郑伟9\n客户意向与预算信息：开放接口"
        names = [n for n in ("郑伟9", "李娜3", "孙芳6") if n in prompt]
        return json.dumps([{"基本信息-姓名": n, "咨询类型": ["答疑"]} for n in (names or [""])[:1]], ensure_ascii=False)

    server = FakeSpark(answer=answer, too_long_over=LIMIT).start()
    yield server
    server.stop()


def spark_backend(server: FakeSpark) -> SparkBackend:
    return SparkBackend(SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, fake_spark.API_SECRET,
                                      url=server.url, domain="generalv3"))


def over_limit(server: FakeSpark) -> int:
    return sum(len(prompt_of(r)) > LIMIT for r in server.requests)


def long_train_file(sample_train: Path) -> bytes:
    """The sample train file with record 8 doubled to about 17,800 characters."""
    records = json.loads(sample_train.read_text("utf-8"))
    long_chat = records[7]["chat_text"]
    records[7]["chat_text"] = long_chat + "\n" + long_chat.replace("第", "再来第")
    return json.dumps(records, ensure_ascii=False).encode()


def long_project(store: ProjectStore, sample_train: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(long_train_file(sample_train)))
    return store


def test_the_default_budget_keeps_every_request_under_the_limit(store: ProjectStore, sample_train: Path,
                                                                spark: FakeSpark) -> None:
    project = long_project(store, sample_train)
    summarized = Job(project, spark_backend(spark), JobSpec("summarize", "train", **FAST)).run()
    inferred = Job(project, spark_backend(spark), JobSpec("infer", "train", input_source="chat", **FAST)).run()
    assert (summarized.failed, inferred.failed) == (0, 0)
    assert over_limit(spark) == 0 and spark.too_long == 0
    detail = Ledger(project).states("summarize")[project.get_record("train", 8).id].detail or ""
    assert "chunks of at most" in detail and "cleaned" in detail
    prediction = project.get_record("train", 8).prediction
    assert prediction is not None and prediction.raw_output.startswith("--- chunk 1/")
    assert [c["基本信息-姓名"] for c in prediction.infos] == ["郑伟9"]


def test_a_too_long_answer_halves_the_chunks_until_they_fit(store: ProjectStore, sample_train: Path,
                                                             spark: FakeSpark) -> None:
    project = long_project(store, sample_train)
    spec = JobSpec("summarize", "train", max_input_chars=30_000, **FAST)  # far more than the model takes
    progress = Job(project, spark_backend(spark), spec).run()
    assert progress.failed == 0 and spark.too_long >= 1
    assert over_limit(spark) == spark.too_long  # only requests the job then split went over
    detail = Ledger(project).states("summarize")[project.get_record("train", 8).id].detail or ""
    assert "the model answered too long at" in detail and "halved" in detail


def test_a_single_inference_call_answered_too_long_is_split_and_retried(
        cli: Callable[..., tuple[int, str, str]], tmp_path: Path, sample_train: Path, spark: FakeSpark) -> None:
    (tmp_path / "train.json").write_bytes(long_train_file(sample_train))
    assert cli("import", str(tmp_path / "train.json"))[0] == 0
    code, out, err = cli("infer", "--split", "train", "--input", "chat", "--backend", "spark",
                         "--spark-url", spark.url, "--domain", "generalv3", "--app-id", fake_spark.APP_ID,
                         "--api-key", fake_spark.API_KEY, "--api-secret", fake_spark.API_SECRET,
                         "--max-input-chars", "30000")  # the whole chat fits in what we think it takes
    assert code == 0, err
    assert out.strip().startswith("infer train: 10/10 done, 0 failed") and spark.too_long == 1
    project = ProjectStore(tmp_path / "cli.db")
    record = project.get_record("train", 8)
    detail = Ledger(project).states("infer")[record.id].detail or ""
    project.close()
    assert detail.startswith("2 chunks of at most") and "the model answered too long at" in detail
    assert "halved" in detail
    assert record.prediction is not None and record.prediction.raw_output.startswith("--- chunk 1/2 ---")
    assert [c["基本信息-姓名"] for c in record.prediction.infos] == ["郑伟9"]


def test_the_real_records_fit_with_no_failure(store: ProjectStore, shared_train: Path, spark: FakeSpark) -> None:
    store.import_chat_file(load_chat_file(shared_train))
    summarized = Job(store, spark_backend(spark), JobSpec("summarize", "train", concurrency=8, **FAST)).run()
    inferred = Job(store, spark_backend(spark), JobSpec("infer", "train", concurrency=8, **FAST)).run()
    assert (summarized.failed, inferred.failed) == (0, 0)
    assert over_limit(spark) == spark.too_long


FAST = {"backoff_initial": 0.01, "backoff_max": 0.05}


def test_the_offline_backend_reads_a_chat_whole_whatever_the_characters_per_request(
        store: ProjectStore, write_json: Callable[..., Path]) -> None:
    """A budget per request chunked the chat, each chunk got a digest of its own, and their join
    outgrew the digest's budget (rows the platform then refuses): the offline backend ignores it."""
    from roleext.backends import OfflineBackend
    from roleext.digest import DEFAULT_BUDGET

    lines = [f"客户{n % 3}：第{n}条消息，预算要等下季度审批，联系电话1380013{n:04d}" for n in range(900)]
    store.import_chat_file(load_chat_file(write_json([{"chat_text": "\n".join(lines), "infos": []}], "long.json"),
                                          split="test"))
    Job(store, OfflineBackend(), JobSpec("summarize", "test", max_input_chars=4_000)).run()
    record = store.get_record("test", 1)
    assert record.summary is not None and len(record.summary.text) <= DEFAULT_BUDGET
    assert record.summary.text == OfflineBackend().summarize(record.chat_text, "").text
