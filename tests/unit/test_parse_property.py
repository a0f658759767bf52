"""Property: for any bytes or text, random or a mutated real-looking page, the parser
returns an Article that keeps its invariants or raises ParseError; nothing else, quickly."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from monitor.article import Article
from monitor.errors import ParseError
from monitor.parse import parse_html

SEED_PAGE = (Path(__file__).parent.parent / "fixtures/pages/autoguide-daimler-renault.html").read_bytes()
TAGS = [
    "html",
    "head",
    "body",
    "div",
    "p",
    "article",
    "h1",
    "script",
    "style",
    "span",
    "a",
    "meta",
    "title",
    "time",
]

# Keep hypothesis's files (example database, constants cache) out of the repository root:
# a ".hypothesis" folder there makes the hypothesis plugin warn at collection, and the
# project's pytest config turns warnings into errors.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "monitor-hypothesis")
SETTINGS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def check(data: bytes | str) -> None:
    start = time.perf_counter()
    try:
        article = parse_html(data, "https://example.com/news/1")
    except ParseError:
        return
    finally:
        assert time.perf_counter() - start < 5
    assert isinstance(article, Article)
    assert isinstance(article.title, str)
    assert isinstance(article.body, str)
    assert article.title or article.body
    for value in (article.published_at, article.modified_at):
        assert value is None or value.utcoffset() is not None


@SETTINGS
@given(st.binary(max_size=4000))
def test_random_bytes(data):
    check(data)


@SETTINGS
@given(st.text(max_size=4000))
def test_random_text(text):
    check(text)


fragment = st.recursive(
    st.text(max_size=80),
    lambda children: st.builds(
        lambda tag, attrs, inner: f"<{tag}{attrs}>{''.join(inner)}</{tag}>",
        st.sampled_from(TAGS),
        st.sampled_from(["", ' class="byline"', ' itemprop="author"', ' datetime="2019-01-01"', ' hidden',
                         ' type="application/ld+json"', ' property="og:title" content="x"', ' lang="de"']),
        st.lists(children, max_size=5),
    ),
    max_leaves=40,
)  # fmt: skip


@SETTINGS
@given(fragment)
def test_random_markup(markup):
    check(f"<html><body>{markup}</body></html>")


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SEED_PAGE)),
            st.integers(min_value=0, max_value=400),
            st.binary(max_size=40),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_mutated_real_page(mutations):
    data = bytearray(SEED_PAGE)
    for position, length, replacement in mutations:
        data[position : position + length] = replacement
    check(bytes(data))
