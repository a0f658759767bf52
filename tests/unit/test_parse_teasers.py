"""Teasers: related-article boxes inside the article never reach the body."""

from __future__ import annotations

import pytest

from monitor.parse import parse_html
from monitor.parse.boilerplate import drop_contact_tail, drop_teasers, is_furniture
from monitor.parse.quality import key

PARAGRAPH = "The council met on Tuesday and agreed the budget for the coming year in full. " * 3
LINKS = frozenset(
    key(t)
    for t in ("Eskalation in Nahost: Aktuelle News", "Ceasefire talks stall in Cairo", "Logitech MX Master 3")
)


def test_a_run_of_teasers_and_a_trailing_teaser_are_dropped():
    text = "\n\n".join(
        [PARAGRAPH, "Eskalation in Nahost: Aktuelle News", "Ceasefire talks stall in Cairo", PARAGRAPH,
         "Ceasefire talks stall in Cairo"]
    )  # fmt: skip
    assert drop_teasers(text, LINKS) == f"{PARAGRAPH}\n\n{PARAGRAPH}"


def test_a_single_linked_subheading_and_linked_sentences_stay():
    text = "\n\n".join([PARAGRAPH, "Logitech MX Master 3", PARAGRAPH])
    assert drop_teasers(text, LINKS) == text
    sentence = "Ceasefire talks stall in Cairo."
    assert drop_teasers(f"{PARAGRAPH}\n\n{sentence}", LINKS | {key(sentence)}).endswith(sentence)


def test_a_related_box_inside_the_article_is_not_in_the_body():
    page = (
        "<html><head><title>Budget agreed</title></head><body><article><h1>Budget agreed</h1>"
        f"<p>{PARAGRAPH}</p><p>{PARAGRAPH.replace('council', 'mayor')}</p>"
        '<p><a href="/a">Eskalation in Nahost: Aktuelle News</a></p>'
        '<p><a href="/b">Ceasefire talks stall in Cairo</a></p>'
        f"<p>{PARAGRAPH.replace('council', 'board')}</p></article></body></html>"
    )
    body = parse_html(page, "https://gazette.example/budget").body
    assert "Nahost" not in body
    assert "Cairo" not in body
    assert body.count("agreed the budget") == 9


def test_teasers_labelled_with_what_they_lead_to_are_dropped():
    teasers = ["Eskalation in Nahost: Aktuelle News [INSIGHT]|", "Ceasefire talks stall in Cairo (VIDEO)"]
    text = "\n\n".join([PARAGRAPH, *teasers, PARAGRAPH])
    assert drop_teasers(text, LINKS) == f"{PARAGRAPH}\n\n{PARAGRAPH}"
    labelled = frozenset({key("Logitech MX Master 3 review [Video]"), key("Ceasefire talks stall in Cairo")})
    text = "\n\n".join([PARAGRAPH, "Logitech MX Master 3 review [Video]", "Ceasefire talks stall in Cairo"])
    assert drop_teasers(text, labelled) == PARAGRAPH


def test_contact_notes_ending_the_body_are_dropped_and_an_embedded_post_stays():
    contact = "Email Tom Reed at tom.reed@gazette.example or follow him @tomreed."
    follow = "Reach the reporter on Twitter at https://twitter.com/tomreed"
    assert drop_contact_tail("\n\n".join([PARAGRAPH, contact, follow])) == PARAGRAPH
    tweet = "— Gazette (@gazette) November 4, 2019"
    assert drop_contact_tail(f"{PARAGRAPH}\n\n{tweet}").endswith(tweet)
    mid = "\n\n".join([PARAGRAPH, contact, PARAGRAPH])
    assert drop_contact_tail(mid) == mid


@pytest.mark.parametrize(
    ("line", "furniture"),
    [
        ('[button link="https://gazette.example/review/" type="big"] Send us YOUR review[/button]', True),
        ('[caption id="attachment_7" width="300"]', True),
        ("[/caption]", True),
        ("[Updated] The council met again on Tuesday", False),
        ("[1] Source: Office for National Statistics", False),
    ],
)
def test_an_unrendered_shortcode_line_is_furniture(line: str, furniture: bool) -> None:
    assert is_furniture(line) is furniture
