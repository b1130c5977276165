"""HTML that rode along with pasted links never reaches a digest, a profile or the rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roleext.chat import parse_messages, strip_markup
from roleext.cleaning import clean_chat, learn_profile
from roleext.digest import make_digest
from roleext.extract import extract_customers
from roleext.io import load_chat_file

# The shape found in 50 of the 100 shared train chats: a link whose `<a href="` was lost, its
# attribute values copying the chat (other pseudonyms, real line breaks), then `>` and the chat.
PASTED_LINK = (
    "钱伟9：【收集表】 2023年度服务满意度评价&nbsp; https://doc.weixin.qq.com/forms/AA4\""
    " data-online-sheet-link='[\"周杰8：我在上海市西藏省杭州市繁华大道1号楼15楼\\n周杰8：好的\",5,2]'"
    " data-sheet-href='http://周杰8：我在上海市西藏省杭州市繁华大道1号楼15楼\n周杰8：好的\n'"
    " data-sheets-hyperlink='{\"linkIconStatus\":1,\"hyperlinkType\":7}' title=\"\""
    " style=\"cursor: default;color: blue;pointer-events: auto\" >吴伟7：您好我有个问题\n"
    "王艳9：用标签来区分的哈\n"
)
# The same, as some exports write it: every double quote doubled.
DOUBLED = PASTED_LINK.replace('"', '""')
JUNK = re.compile(r"data-[\w-]+=|style=|title=|&nbsp;|<a[\s>]|</a>")


@pytest.mark.parametrize("chat", [PASTED_LINK, DOUBLED], ids=["quotes", "doubled quotes"])
def test_a_pasted_links_attributes_are_stripped_and_the_chat_after_it_kept(chat: str) -> None:
    stripped = strip_markup(chat)
    assert not JUNK.search(stripped)
    assert "周杰8" not in stripped  # the copy in the attributes, with its phantom speaker
    speakers = [m.speaker for m in parse_messages(stripped)]
    assert speakers == ["钱伟9", "吴伟7", "王艳9"]  # the `>` no longer glues 吴伟7 to the link


def test_tags_and_entities_go_but_angle_brackets_that_are_not_html_stay() -> None:
    chat = ('李娜3：看<a href="http://x.cn/?a=1&amp;b=2" target=_blank>这个链接</a>&nbsp;好的<br/>谢谢\n'
            "郑勇2：ECS<华北2(北京)-小程序/172.21.200.77>于<2024-01-01 16:46:49>报警，A&B 不是实体")
    stripped = strip_markup(chat)
    assert "李娜3：看这个链接 好的\n谢谢" in stripped
    assert "<华北2(北京)-小程序/172.21.200.77>于<2024-01-01 16:46:49>报警，A&B 不是实体" in stripped


def test_a_chat_without_markup_is_returned_unchanged() -> None:
    chat = "李娜3：我在浙江省苏州市\n王艳9：好的 data 已收到 a=b"
    assert strip_markup(chat) == chat


def test_the_digest_and_its_address_clues_hold_no_markup() -> None:
    digest = make_digest(PASTED_LINK)
    assert not JUNK.search(digest.text)
    assert "繁华大道" not in digest.facts  # the address existed only inside an attribute
    assert "吴伟7：您好我有个问题" in digest.text
    assert "周杰8" not in digest.text


def test_profiles_and_rules_read_the_stripped_chat() -> None:
    chats = [PASTED_LINK.replace("吴伟7", f"客户{i}号") for i in range(10)]
    profile = learn_profile(chats)
    assert not any(JUNK.search(text) for text in profile.boilerplate)
    assert "周杰8" not in profile.staff
    (customer,) = extract_customers(PASTED_LINK)
    assert customer["基本信息-姓名"] != "周杰8"


def test_no_real_digest_keeps_markup(shared_train: Path) -> None:
    files = [shared_train, shared_train.parent / "test_data.json"]
    for path in (p for p in files if p.exists()):
        records = load_chat_file(path).records
        assert sum(bool(JUNK.search(r.chat_text)) for r in records) > 30  # the data still has it
        profile = learn_profile(r.chat_text for r in records)
        for record in records:
            assert not JUNK.search(make_digest(record.chat_text, profile=profile).text), (path.name, record.index)
            assert not JUNK.search(clean_chat(record.chat_text, profile).text), (path.name, record.index)
