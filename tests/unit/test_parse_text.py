"""element_text: blocks on their own lines, no words glued at tag boundaries."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from monitor.parse.text import element_text


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (
            "<div><h3>Eskalation in Nahost:</h3><p>Aktuelle News</p></div>",
            "Eskalation in Nahost:\nAktuelle News",
        ),
        ("<p><a>Jeff Foust</a><span>Monday</span></p>", "Jeff Foust Monday"),
        ("<h1><span>पुलिस ने पकड़ा:</span>दो दिनों</h1>", "पुलिस ने पकड़ा: दो दिनों"),
        ("<p><b>J</b>ohn <i>Doe</i>s</p>", "John Does"),  # markup inside a word keeps it whole
        ("<p>www.<b>example</b>.com</p>", "www.example.com"),
        ("<div>one<br>two<script>var x;</script><!-- note -->three</div>", "one\ntwothree"),
    ],
)
def test_element_text(markup, expected):
    assert element_text(lxml_html.fragment_fromstring(markup)) == expected


def test_block_separator():
    element = lxml_html.fragment_fromstring("<ul><li>a</li><li>b</li></ul>")
    assert element_text(element, " ") == "a b"
