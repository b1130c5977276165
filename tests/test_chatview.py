"""The chat as HTML: escaped, speakers told apart, placeholders muted, gold marked."""

from __future__ import annotations

from roleext.chatview import SPEAKER_COLOURS, chat_html


def test_chat_text_cannot_inject_markup() -> None:
    html = chat_html("王勇7：<script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_speakers_of_one_chat_get_different_colours() -> None:
    html = chat_html("王勇7：你好\n李娜3：在的\n王勇7：好的")
    assert f'color:{SPEAKER_COLOURS[0]}">王勇7' in html and f'color:{SPEAKER_COLOURS[1]}">李娜3' in html


def test_placeholders_are_muted_and_gold_values_marked() -> None:
    html = chat_html("李娜3：我电话13812345678[图片]", highlight=["13812345678"])
    assert "<mark>13812345678</mark>" in html
    assert '<span class="ph">[图片]</span>' in html
