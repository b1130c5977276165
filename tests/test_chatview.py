"""The chat as data for the review pane: speakers told apart, placeholders muted, gold marked."""

from __future__ import annotations

from roleext.chatview import SPEAKER_COLOURS, chat_view


def test_chat_text_stays_text_markup_and_all() -> None:
    [line] = chat_view("王勇7：<script>alert(1)</script>")
    assert line["who"] == "王勇7" and line["parts"] == [("text", "<script>alert(1)</script>")]


def test_speakers_of_one_chat_get_different_colours() -> None:
    lines = chat_view("王勇7：你好\n李娜3：在的\n王勇7：好的")
    assert [(line["who"], line["colour"]) for line in lines] == [
        ("王勇7", SPEAKER_COLOURS[0]), ("李娜3", SPEAKER_COLOURS[1]), ("王勇7", SPEAKER_COLOURS[0])]


def test_placeholders_are_muted_and_gold_values_marked() -> None:
    [line] = chat_view("李娜3：我电话13812345678[图片]", highlight=["13812345678"])
    assert line["parts"] == [("text", "我电话"), ("mark", "13812345678"), ("ph", "[图片]")]


def test_the_longest_gold_value_is_marked_where_values_overlap_and_one_character_never() -> None:
    [line] = chat_view("李娜3：地址上海市浦东新区", highlight=["上海", "上海市浦东新区", "市", " "])
    assert line["parts"] == [("text", "地址"), ("mark", "上海市浦东新区")]


def test_text_before_the_first_speaker_belongs_to_nobody() -> None:
    lines = chat_view("欢迎大家入群\n王勇7：你好")
    assert [(line["who"], line["colour"], line["parts"]) for line in lines] == [
        (None, None, [("text", "欢迎大家入群")]), ("王勇7", SPEAKER_COLOURS[0], [("text", "你好")])]
