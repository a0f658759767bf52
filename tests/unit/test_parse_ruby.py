"""Ruby annotations: read as the publisher's plain-text fallback when it wrote one."""

from __future__ import annotations

from monitor.parse import parse_html

SENTENCE = "大統領は緊急談話を出し、野党が国政をまひさせているとして宣言した。"


def page(ruby: str) -> str:
    paragraph = f"<p>韓国の{ruby}{SENTENCE}</p>"
    return (
        '<html lang="ja"><head><title>韓国が戒厳令</title></head><body><article><h1>韓国が戒厳令</h1>'
        + paragraph
        + f"<p>{SENTENCE * 3}</p><p>{SENTENCE * 2}</p></article></body></html>"
    )


def test_a_reading_in_rp_parentheses_stays_after_its_base():
    ruby = "<ruby><rb>尹錫悦</rb><rp>（</rp><rt>ユンソンニョル</rt><rp>）</rp></ruby>"
    assert f"韓国の尹錫悦（ユンソンニョル）{SENTENCE}" in parse_html(page(ruby)).body


def test_a_reading_without_parentheses_is_dropped_not_glued():
    ruby = "<ruby>尹錫悦<rt>ユンソンニョル</rt></ruby>"
    body = parse_html(page(ruby)).body
    assert f"韓国の尹錫悦{SENTENCE}" in body
    assert "ユンソンニョル" not in body
