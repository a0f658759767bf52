"""A body the template split around an ad keeps its later part."""

from __future__ import annotations

from monitor.parse import parse_html

SENTENCE = "The coalition debated the migration bill for hours before the vote in the Bundestag. "


def page(second_class: str) -> str:
    first = "".join(f"<p>Part one, paragraph {n}. {SENTENCE * 2}</p>" for n in range(4))
    second = "".join(f"<p>Part two, paragraph {n}. {SENTENCE * 2}</p>" for n in range(3))
    return (
        "<html><head><title>Bill fails</title></head><body><article><h1>Bill fails</h1>"
        f'<div class="row"><div class="body articleBody">{first}</div></div>'
        '<div class="row ad"><div class="advert">Advertisement</div></div>'
        f'<div class="row"><div class="{second_class}">{second}</div></div>'
        "</article></body></html>"
    )


def test_the_part_after_the_ad_in_a_namesake_container_is_kept():
    body = parse_html(page("body articleBody"), "https://gazette.example/a").body
    assert "Part one, paragraph 0." in body
    assert body.index("Part two, paragraph 2.") > body.index("Part one, paragraph 3.")
