"""Parsing model output: a corpus of malformed answers, each read to what the model meant."""

from __future__ import annotations

from typing import Any

import pytest

from roleext.parsing import parse_output
from roleext.schema import FIELD_NAMES

CHAT = "王勇7：您好\n李娜3：我电话13812345678，邮箱lina@huihuang.com，公司在浙江省杭州市\n钱芳6：好的"

NAME = '"基本信息-姓名": "李娜3"'
# (raw answer, expected non-empty fields of each parsed customer)
CORPUS: list[tuple[str, list[dict[str, Any]]]] = [
    (f"[{{{NAME}}}]", [{"基本信息-姓名": "李娜3"}]),
    (f"```json\n[{{{NAME}}}]\n```", [{"基本信息-姓名": "李娜3"}]),
    (f"```\n{{{NAME}}}\n```", [{"基本信息-姓名": "李娜3"}]),
    (f"好的，抽取结果如下：\n[{{{NAME}}}]\n希望对您有帮助。", [{"基本信息-姓名": "李娜3"}]),
    (f"{{{NAME}}}", [{"基本信息-姓名": "李娜3"}]),
    (f'{{{NAME}}}\n{{"基本信息-姓名": "钱芳6"}}', [{"基本信息-姓名": "李娜3"}, {"基本信息-姓名": "钱芳6"}]),
    (f"[{{{NAME},}}]", [{"基本信息-姓名": "李娜3"}]),
    (f"[{{{NAME}, \"咨询类型\": [\"答疑\",]}}]", [{"基本信息-姓名": "李娜3", "咨询类型": ["答疑"]}]),
    ("[{'基本信息-姓名': '李娜3'}]", [{"基本信息-姓名": "李娜3"}]),
    (f"[{{{NAME}", [{"基本信息-姓名": "李娜3"}]),
    ('[{"基本信息-姓名": "李娜3", "咨询类型": ["答疑"', [{"基本信息-姓名": "李娜3", "咨询类型": ["答疑"]}]),
    ('[{" 基本信息-姓名 ": "李娜3"}]', [{"基本信息-姓名": "李娜3"}]),
    ('[{"基本信息－姓名": "李娜3"}]', [{"基本信息-姓名": "李娜3"}]),
    ('[{"基本信息_姓名": "李娜3"}]', [{"基本信息-姓名": "李娜3"}]),
    ('[{"姓名": "李娜3", "手机号码": "13812345678"}]',
     [{"基本信息-姓名": "李娜3", "基本信息-手机号码": "13812345678"}]),
    ('[{"咨询类型": "答疑"}]', [{"咨询类型": ["答疑"]}]),
    ('[{"咨询类型": "答疑、询价"}]', [{"咨询类型": ["答疑", "询价"]}]),
    ('[{"购买异议点": "价格,工时"}]', [{"购买异议点": ["价格", "工时"]}]),
    ('[{"客户是否有意向": ["有意向"]}]', [{"客户是否有意向": "有意向"}]),
    ('[{"客户是否有意向": "没有意向"}]', [{}]),
    ('[{"客户预算-预算是否充足": "预算不充足"}]', [{"客户预算-预算是否充足": "不充足"}]),
    ('[{"客户购买阶段": "方案交流阶段"}]', [{"客户购买阶段": "方案交流"}]),
    ('[{"客户购买阶段": "正在考虑"}]', [{}]),
    ('[{"意向产品": ["会话存档", "飞机"]}]', [{"意向产品": ["会话存档"]}]),
    ('[{"意向产品": ["ＣＲＭ"]}]', [{"意向产品": ["CRM"]}]),
    ('[{"基本信息-性别": "无"}]', [{}]),
    ('[{"基本信息-邮箱": "未知"}]', [{}]),
    ('[{"基本信息-姓名": null}]', [{}]),
    ('[{"基本信息-姓名": "王五"}]', [{}]),
    ('[{"基本信息-手机号码": "13900000000"}]', [{}]),
    ('[{"基本信息-地区": "浙江省杭州市"}]', [{"基本信息-地区": "浙江省杭州市"}]),
    ('[{"下一步跟进计划-参与人": ["王勇7", "李娜3"]}]', [{"下一步跟进计划-参与人": ["王勇7、李娜3"]}]),
    ('[{"下一步跟进计划-参与人": "王勇7、李娜3"}]', [{"下一步跟进计划-参与人": ["王勇7、李娜3"]}]),
    # What base models answer to the built-in prompt: wrappers, prose with brackets, JSON fences.
    (f'{{"客户": [{{{NAME}}}]}}', [{"基本信息-姓名": "李娜3"}]),
    (f'{{"customers": [{{{NAME}}}, {{"基本信息-姓名": "钱芳6"}}]}}',
     [{"基本信息-姓名": "李娜3"}, {"基本信息-姓名": "钱芳6"}]),
    (f'{{"李娜3": {{{NAME}, "咨询类型": ["答疑"]}}}}', [{"基本信息-姓名": "李娜3", "咨询类型": ["答疑"]}]),
    (f"根据对话内容[图片]，抽取结果如下：\n```JSON\n[{{{NAME}}}]\n```\n说明：李娜3是客户。",
     [{"基本信息-姓名": "李娜3"}]),
    (f"输出：\n```json\n{{{NAME}, \"咨询类型\": [\"答疑\"]}}\n```", [{"基本信息-姓名": "李娜3", "咨询类型": ["答疑"]}]),
    (f"```json\n[{{{NAME}}}, // 唯一的客户\n]\n```", [{"基本信息-姓名": "李娜3"}]),
    ('[{"下一步跟进计划-具体事项": ["发报价", "约会议"]}]', [{"下一步跟进计划-具体事项": "发报价、约会议"}]),
    ('{"infos": [{"基本信息-姓名": "李娜3"}], "index": 1}', [{"基本信息-姓名": "李娜3"}]),
    ('[[{"基本信息-姓名": "李娜3"}]]', [{"基本信息-姓名": "李娜3"}]),
    ('[{"不存在的字段": "x", "基本信息-姓名": "李娜3"}]', [{"基本信息-姓名": "李娜3"}]),
    ('[{"客户预算-总体预算金额": 36000}]', [{"客户预算-总体预算金额": "36000"}]),
    ("{}", [{}]),
]


def filled(customer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in customer.items() if v}


@pytest.mark.parametrize(("raw", "expected"), CORPUS)
def test_malformed_answers_are_read_as_meant(raw: str, expected: list[dict[str, Any]]) -> None:
    result = parse_output(raw, CHAT)
    assert result.ok, result.error
    assert [filled(c) for c in result.customers] == expected
    assert all(list(c) == list(FIELD_NAMES) for c in result.customers)


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("raw", ["", "抱歉，我无法回答这个问题。", "null", "[]"])
def test_no_json_is_a_parse_error_not_an_exception(raw: str) -> None:
    result = parse_output(raw, CHAT)
    assert not result.ok and result.customers == []


def test_every_repair_and_drop_is_recorded() -> None:
    result = parse_output('[{"姓名": "王五", "咨询类型": "答疑", "意向产品": ["飞机"]}]', CHAT)
    changes = "\n".join(result.changes)
    assert "'姓名' read as '基本信息-姓名'" in changes
    assert "'王五' is not in the chat, dropped" in changes
    assert "a string, read as the list ['答疑']" in changes
    assert "'飞机' is not a known value, dropped" in changes


def test_unverified_values_can_be_kept_on_request() -> None:
    result = parse_output('[{"基本信息-姓名": "王五"}]', CHAT, drop_unverified=False)
    assert result.customers[0]["基本信息-姓名"] == "王五"
