"""Golden tests over hand-written fixture pages: URL -> file -> expected fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.parse import parse_file
from monitor.parse.language import detect_language, resolve_language

PAGES = Path(__file__).parent.parent / "fixtures" / "pages"


def test_german_page_in_undeclared_windows_1252():
    article = parse_file(
        PAGES / "motorwelt-de-kooperation.html",
        "https://www.motorwelt.example/wirtschaft/daimler-renault-kooperation-a-1042.html?utm_medium=rss",
    )
    assert article.title == "Daimler und Renault besiegeln Kooperation"
    assert (
        article.canonical_url
        == "https://www.motorwelt.example/wirtschaft/daimler-renault-kooperation-a-1042.html"
    )
    assert article.authors == ("Karl Schrauber", "Anna Kolben")
    assert article.published_at == datetime(2010, 4, 7, 9, 15, tzinfo=UTC)
    assert article.language == "de"
    assert article.site_name == "Motorwelt Online"
    paragraphs = article.body.split("\n\n")
    # The standfirst is part of the article (issue 13: rules must match the lead).
    assert paragraphs[0] == "Die beiden Autobauer wollen Plattformen und Motoren teilen."
    assert paragraphs[1].startswith("Daimler und Renault-Nissan haben am Mittwoch in Brüssel")
    assert paragraphs[-1].endswith("über fünf Jahre.")
    assert len(paragraphs) == 4
    for furniture in ("Von Karl", "Lesen Sie auch", "Kommentare",
                      "Diskutieren", "Impressum", "Rechte vorbehalten", "Artikel teilen"):  # fmt: skip
        assert furniture not in article.body


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("German automaker Daimler AG and French car manufacturer Renault have agreed on a new strategy that "
         "will see both parties create a global small-car alliance, sharing the costs of development.", "en"),
        ("Renault und Daimler arbeiten künftig bei Kleinwagen zusammen, sagte ein Sprecher in Brüssel. "
         "Die beiden Konzerne wollen auch Motoren teilen und die Kosten für die Entwicklung senken.", "de"),
        ("Le constructeur allemand Daimler et le français Renault ont conclu une alliance dans les petites "
         "voitures, selon un porte-parole qui a parlé mardi à Bruxelles avec des journalistes.", "fr"),
        ("Daimler y Renault han acordado una alianza para los coches pequeños, según informó el martes un "
         "portavoz de la empresa en Bruselas, que no dio más detalles sobre el acuerdo con la prensa.", "es"),
        ("ダイムラーとルノーが小型車で提携すると発表した。両社は小型車の開発費を分担する。", "ja"),
        ("Renault и Daimler будут сотрудничать в области малолитражных автомобилей, сообщил во вторник "
         "представитель компании в Брюсселе, и это не первый такой случай для них.", "ru"),
        ("Министърът на финансите заяви, че бюджетът ще бъде приет до края на месеца, "
         "въпреки протестите на опозицията.", "bg"),
        ("Guvernul a anunțat că bugetul va fi adoptat până la sfârșitul lunii, în ciuda protestelor "
         "opoziției.", "ro"),
        ("Hallitus ilmoitti, että talousarvio hyväksytään kuun loppuun mennessä opposition "
         "vastustuksesta huolimatta.", "fi"),
        ("国务院新闻办公室今天举行发布会・介绍经济运行情况，国家统计局负责人回答记者提问。", "zh"),
        ("Too short to tell.", None),
        ("", None),
    ],
)  # fmt: skip
def test_detect_language(text, code):
    assert detect_language(text) == code


@pytest.mark.parametrize(
    ("declared", "expected"),
    [("ko", "ko"), ("en", "ko"), (None, "ko")],
)
def test_a_confident_detection_wins_over_the_declared_language(declared, expected):
    text = (
        "국무총리는 오늘 국회에서 내년도 예산안에 대한 시정연설을 했다. "
        "정부는 경제 회복을 최우선 과제로 삼겠다고 밝혔다."
    )
    assert resolve_language(declared, text) == expected
    assert resolve_language(declared, "OK") == declared
