"""Bad input never crashes or hangs the parser: an Article or a clear ParseError, quickly."""

from __future__ import annotations

import gzip
import time

import pytest

from monitor.errors import NoArticleText, ParseError
from monitor.parse import parse_html

SENTENCE = "Renault und Daimler arbeiten künftig bei Kleinwagen zusammen, sagte ein Sprecher in Brüssel. "
PARAGRAPH = f"<p>{SENTENCE * 3}</p>"
JAPANESE = "<p>" + "ダイムラーとルノーが小型車で提携すると発表した。" * 20 + "</p>"


def page(body: str, head: str = "") -> str:
    return (
        f"<html><head>{head}<title>Daimler und Renault</title></head>"
        f"<body><article><h1>Daimler und Renault</h1>{body}</article></body></html>"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\t  ", "empty"),
        (bytes(range(256)) * 100, "binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b'{"title": "x", "body": "<p>hi</p>"}', "JSON"),
        (b'[{"a": 1}]', "JSON"),
        (b"just some plain text without any markup at all", "no HTML"),
        (
            b"<html><head><script>var a=1;</script></head><body><script>go()</script></body></html>",
            "no title",
        ),
        (gzip.compress(b"<html>" + b" " * 100_000_000), "inflation limit"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
    ids=[
        "empty",
        "blank",
        "binary",
        "pdf",
        "png",
        "json-object",
        "json-array",
        "plain",
        "scripts",
        "bomb",
        "bad-gz",
    ],
)
def test_refused_with_a_clear_error(data, message):
    with pytest.raises(ParseError, match=message):
        parse_html(data, "https://example.com/a")


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (page(PARAGRAPH).encode("cp1252"), None),
        (page(PARAGRAPH, '<meta charset="utf-8">').encode("cp1252"), None),
        (page(PARAGRAPH).encode("cp1252"), "utf-8"),
        (page(PARAGRAPH, '<meta charset="iso-8859-1">').encode("utf-8"), None),
        (page(PARAGRAPH).encode("utf-8"), "iso-8859-1"),
        (page(PARAGRAPH).encode("utf-16"), None),
        (b"\xef\xbb\xbf" + page(PARAGRAPH).encode("utf-8"), None),
        (gzip.compress(page(PARAGRAPH).encode("utf-8")), None),
        (page(PARAGRAPH), None),
    ],
    ids=["cp1252", "lying-meta", "lying-header", "latin1-label-on-utf8", "latin1-header-on-utf8", "utf16",
         "bom", "gzip", "str"],
)  # fmt: skip
def test_charsets_are_decoded_right(data, encoding):
    article = parse_html(data, "https://example.com/a", encoding=encoding)
    assert "künftig" in article.body
    assert "Brüssel" in article.body
    assert article.title == "Daimler und Renault"


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_shift_jis(declared):
    head = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">' if declared else ""
    article = parse_html(page(JAPANESE, head).encode("shift_jis"), "https://example.jp/a")
    assert "ダイムラーとルノーが小型車で提携" in article.body


def test_truncated_html_keeps_what_arrived():
    data = page(PARAGRAPH * 3).encode()[:400]
    article = parse_html(data, "https://example.com/a")
    assert article.title == "Daimler und Renault"
    assert article.body.startswith("Renault und Daimler")


def _bounded(seconds, data):
    start = time.perf_counter()
    try:
        result = parse_html(data, "https://example.com/a")
    except ParseError:
        result = None
    assert time.perf_counter() - start < seconds
    return result


def test_huge_page_is_bounded():
    article = _bounded(10, page(PARAGRAPH * 70_000).encode())
    assert article is not None
    assert article.title == "Daimler und Renault"


def test_huge_inline_script_is_dropped():
    blob = "<script>var state='" + "a" * 20_000_000 + "';</script>"
    article = _bounded(
        10,
        page(
            PARAGRAPH + blob,
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"datePublished": "2019-11-19T10:00:00Z"}</script>',
        ).encode(),
    )
    assert article is not None
    assert "künftig" in article.body
    assert article.published_at is not None


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "unclosed"])
def test_ten_thousand_nested_divs(closed):
    html = (
        "<html><body>"
        + "<div>" * 10_000
        + PARAGRAPH
        + ("</div>" * 10_000 if closed else "")
        + "</body></html>"
    )
    article = _bounded(10, html.encode())
    assert article is not None
    assert "künftig" in article.body


def test_deep_json_ld_does_not_recurse_forever():
    deep = '{"a":' * 50_000 + "1" + "}" * 50_000
    html = page(PARAGRAPH, f'<script type="application/ld+json">{deep}</script>')
    article = _bounded(10, html.encode())
    assert article is not None


def test_a_page_of_control_characters_is_a_parse_failure_not_an_empty_article() -> None:
    with pytest.raises(NoArticleText, match="no title and no text"):
        parse_html(b"<html><body>\x08</body></html>", "https://example.com/news/1")


def test_a_page_with_only_its_headline_has_no_article_text() -> None:
    """Told apart from a document that is not HTML: the crawl records it as empty-body."""
    page = b"<html><head><title>Empty</title></head><body><h1>Empty</h1></body></html>"
    with pytest.raises(NoArticleText, match="no article text found"):
        parse_html(page, "https://example.com/news/1")
