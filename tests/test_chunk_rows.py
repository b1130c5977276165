"""Fine-tuning rows from chunks of long chats: each row fits, each target holds what its chunk holds."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from roleext.chat import squash
from roleext.chunk_rows import ChunkOptions, chunk_target
from roleext.chunking import split_units
from roleext.errors import ExportError
from roleext.exports import MAX_ROW_CHARS, MIN_TRAIN_ROWS, export_train_jsonl, row_chars
from roleext.io import load_chat_file
from roleext.schema import FIELDS, empty_customer
from roleext.store import ProjectStore

PHONE, ADDRESS, EMAIL = "13812345678", "浙江省杭州市繁华大道1号楼15楼", "lina@huihuang.com"


def long_chat(rounds: int = 240) -> str:
    """About 20,000 characters: 李娜3 gives her phone early, 钱芳6 joins late and gives the address."""
    lines = ["王勇7：我是巨石蓝海企微管家的王勇7", f"李娜3：你好，我的电话是{PHONE}，邮箱{EMAIL}"]
    for i in range(rounds):
        lines.append(f"李娜3：第{i}个问题，客户标签能不能批量导入，导入以后怎么同步到企业微信的通讯录里面")
        lines.append(f"王勇7：您好，第{i}个问题可以的，在客户管理-标签管理里面有批量导入，模板是excel表格")
    lines.append(f"钱芳6：我是新来的同事，合同寄到{ADDRESS}")
    lines.append("王勇7：好的，下周三我们安排线上会议讲解会话存档方案")
    return "\n".join(lines)


def customer(**values: object) -> dict[str, object]:
    base = empty_customer() | {"咨询类型": ["答疑"], "客户是否有卡点": "无卡点", "意向产品": ["会话存档"]}
    personal = ("姓名", "手机号码", "邮箱", "详细地址")
    return base | {f"基本信息-{k}" if k in personal else k: v for k, v in values.items()}


GOLD = [customer(姓名="李娜3", 手机号码=PHONE, 邮箱=EMAIL, **{"下一步跟进计划-具体事项": "线上会议讲解会话存档方案"}),
        customer(姓名="钱芳6", 详细地址=ADDRESS, **{"下一步跟进计划-具体事项": "线上会议讲解会话存档方案"})]


@pytest.fixture
def project(store: ProjectStore) -> ProjectStore:
    data = [{"chat_text": long_chat(), "infos": GOLD},
            {"chat_text": f"李娜3：你好\n王勇7：您好\n李娜3：电话{PHONE}",
             "infos": [customer(姓名="李娜3", 手机号码=PHONE)]}]
    store.import_chat_file(load_chat_file(json.dumps(data, ensure_ascii=False).encode()))
    return store


def export(store: ProjectStore, **options: int) -> tuple[list[dict[str, str]], list[str], object]:
    out = io.BytesIO()
    report = export_train_jsonl(store, out, repeat=1, chunks=ChunkOptions(**options))
    rows = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    return rows, report.lines(), report


def test_a_long_chat_becomes_rows_that_fit_each_keeping_what_its_chunk_holds(project: ProjectStore) -> None:
    rows, lines, report = export(project)
    assert len(long_chat()) > 2 * MAX_ROW_CHARS
    long_rows = [r for r in rows if "个问题" in r["input"]]  # record 1's
    assert len(long_rows) >= 3 and all(row_chars(r) <= MAX_ROW_CHARS for r in rows)
    assert all(len(r["input"]) <= 7_100 for r in rows)
    for row in long_rows:
        target = json.loads(row["output"])
        names = [c["基本信息-姓名"] for c in target]
        assert all(c["咨询类型"] == ["答疑"] and c["客户是否有卡点"] == "无卡点" for c in target)  # labels everywhere
        assert ("钱芳6" in names) == ("钱芳6" in row["input"])
        for c in target:
            assert (c["基本信息-手机号码"] == PHONE) == (PHONE in row["input"])
            assert (c["基本信息-详细地址"] == ADDRESS) == (ADDRESS in row["input"] and c["基本信息-姓名"] == "钱芳6")
    first, last = long_rows[0], long_rows[-1]
    assert PHONE in first["input"] and PHONE not in last["input"]
    last_target = json.loads(last["output"])
    assert [c["下一步跟进计划-具体事项"] for c in last_target] == ["线上会议讲解会话存档方案"] * len(last_target)
    assert all(c["下一步跟进计划-具体事项"] == "" for c in json.loads(first["output"]))
    text = "\n".join(lines)
    assert f"record 1: {len(long_rows)} chunks kept" in text and "record 2:" not in text
    assert "gold values in no chunk's row: 0 of" in text
    assert report.rows == len(rows)  # type: ignore[attr-defined]


def test_consecutive_chunks_overlap_by_at_most_the_overlap(project: ProjectStore) -> None:
    rows, _, _ = export(project, chunk_chars=3_000, overlap_chars=400)
    chunks = [r["input"] for r in rows if "第" in r["input"]]
    for before, after in itertools.pairwise(chunks):
        shared = [line for line in after.splitlines() if line in before.splitlines()]
        assert shared and len("\n".join(shared)) <= 400
        assert after.startswith("\n".join(shared))
    assert all(len(c) <= 3_000 for c in chunks)


def test_the_split_carries_at_most_the_overlap_characters() -> None:
    units = [f"王勇7：第{i}条消息" + "很长" * (i % 9) for i in range(300)]
    chunks = split_units(units, 500, overlap_chars=80)
    for before, after in itertools.pairwise(chunks):
        carried = [u for u in after.split("\n") if u in before.split("\n")]
        assert 0 < len("\n".join(carried)) <= 80
    assert all(len(c) <= 500 for c in chunks)
    assert [u for u in units if any(u in c.split("\n") for c in chunks)] == units


def test_free_text_stays_where_the_chunk_supports_it() -> None:
    gold = [customer(姓名="李娜3", **{"下一步跟进计划-具体事项": "线上会议讲解会话存档方案",
                                     "下一步跟进计划-参与人": ["王勇7、李娜3"]})]
    (here,) = chunk_target(gold, "李娜3：好\n王勇7：下周安排线上会议，讲解会话存档的方案")
    assert here["下一步跟进计划-具体事项"] and here["下一步跟进计划-参与人"] == ["王勇7、李娜3"]
    (elsewhere,) = chunk_target(gold, "李娜3：标签怎么导入")
    assert elsewhere["下一步跟进计划-具体事项"] == "" and elsewhere["下一步跟进计划-参与人"] == []
    (nobody,) = chunk_target(gold, "王勇7：大家好，本周五系统升级")
    assert nobody["基本信息-姓名"] == "" and nobody["意向产品"] == ["会话存档"]  # labels judge the whole chat


def test_a_row_never_exceeds_the_limit_even_with_long_gold(store: ProjectStore) -> None:
    many = [customer(姓名=f"客户{i}号", **{"客户预算-预算明细": "明细" * 150}) for i in range(5)]
    chat = "\n".join(f"客户{i % 5}号：预算明细{'明细' * 150}，第{i}次说明" for i in range(60))
    store.import_chat_file(load_chat_file(json.dumps([{"chat_text": chat, "infos": many}], ensure_ascii=False)
                                          .encode()))
    rows, _, report = export(store)
    assert len(rows) > 1 and all(row_chars(r) <= MAX_ROW_CHARS for r in rows)
    assert not [p for p in report.problems if "exceed" in p]  # type: ignore[attr-defined]


def test_a_bad_overlap_is_refused(project: ProjectStore) -> None:
    with pytest.raises(ExportError, match="under half the chunk"):
        export(project, chunk_chars=1_000, overlap_chars=600)


def test_the_cli_writes_chunk_rows_and_their_report(cli: Callable[..., tuple[int, str, str]], tmp_path: Path,
                                                    write_json: Callable[..., Path]) -> None:
    path = write_json([{"chat_text": long_chat(), "infos": GOLD}], "train.json")
    assert cli("import", str(path))[0] == 0
    out = tmp_path / "chunks.jsonl"
    code, printed, err = cli("export", "chunks", str(out), "--chunk-chars", "4000", "--chunk-overlap", "300")
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(rows) >= MIN_TRAIN_ROWS and all(len(r["input"]) <= 4_000 for r in rows)
    assert "fine-tuning JSONL of chat chunks" in printed and "record 1: " in printed and "chunks kept" in printed
    code, _, err = cli("export", "chunks", str(out), "--chunk-chars", "1000", "--chunk-overlap", "900")
    assert code != 0 and "under half the chunk" in err


def test_the_real_chunk_rows_fit_and_ask_for_nothing_their_chunk_lacks(store: ProjectStore,
                                                                       shared_train: Path) -> None:
    store.import_chat_file(load_chat_file(shared_train))
    rows, lines, _ = export(store)
    assert len(rows) >= 100 and all(row_chars(r) <= MAX_ROW_CHARS for r in rows)
    verbatim = [spec.name for spec in FIELDS if spec.verbatim]
    for row in rows:
        for c in json.loads(row["output"]):
            assert all(squash(c[name]) in squash(row["input"]) for name in verbatim if c[name])
    assert any(line.startswith("gold values in no chunk's row:") for line in lines)

