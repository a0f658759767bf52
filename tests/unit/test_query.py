"""The query parser: text → tree, and every syntax error with its column."""

from __future__ import annotations

import pytest

from monitor.matching.query import QuerySyntaxError, caret, parse
from monitor.matching.tree import render

ENTITIES = {"Daimler": ["Daimler AG", "Mercedes-Benz", "Daimler*"]}


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("Renault", "title|body:renault"),
        ("RENAULT", "title|body:renault"),
        ("Citroën", "title|body:citroen"),
        ('"small car"', 'title|body:"small car"'),
        ("Mercedes-Benz", 'title|body:"mercedes benz"'),
        ("Land Rover's", '(title|body:land AND title|body:"rover s")'),
        ("Daimler Renault", "(title|body:daimler AND title|body:renault)"),
        ("Daimler AND Renault", "(title|body:daimler AND title|body:renault)"),
        ("a OR b c", "(title|body:a OR (title|body:b AND title|body:c))"),
        ("(a OR b) c", "((title|body:a OR title|body:b) AND title|body:c)"),
        ("a -b", "(title|body:a AND NOT title|body:b)"),
        ("a NOT b", "(title|body:a AND NOT title|body:b)"),
        ("a AND NOT (b OR c)", "(title|body:a AND NOT (title|body:b OR title|body:c))"),
        ("a -(b c)", "(title|body:a AND NOT (title|body:b AND title|body:c))"),
        ("a OR b OR c", "(title|body:a OR title|body:b OR title|body:c)"),
        ("partner*", "title|body:partner*"),
        ("Renault-Nis*", 'title|body:"renault nis*"'),
        ("a NEAR/5 b", "(title|body:a NEAR/5 title|body:b)"),
        ("a ONEAR/0 b", "(title|body:a ONEAR/0 title|body:b)"),
        ("a NEAR/2 b NEAR/3 c", "((title|body:a NEAR/2 title|body:b) NEAR/3 title|body:c)"),
        ("a NEAR/5 b c", "((title|body:a NEAR/5 title|body:b) AND title|body:c)"),
        (
            "(a OR b) NEAR/20 (c OR d)",
            "((title|body:a OR title|body:b) NEAR/20 (title|body:c OR title|body:d))",
        ),
        ('"a b"~3', "(title|body:a NEAR/3 title|body:b)"),
        ('"a"~3', "title|body:a"),
        ("title:Renault", "title:renault"),
        ('body:"small car"', 'body:"small car"'),
        ("author:(Colum OR Wood)", "(author:colum OR author:wood)"),
        ("url:autoguide source:x", "(url:autoguide AND source:x)"),
        ("title:(a OR body:b)", "(title:a OR body:b)"),
        ("@Daimler", '(title|body:"daimler ag" OR title|body:"mercedes benz" OR title|body:daimler*)'),
        ("title:@daimler", '(title:"daimler ag" OR title:"mercedes benz" OR title:daimler*)'),
        ("near Paris", "(title|body:near AND title|body:paris)"),
        ("\u201csmart car\u201d", 'title|body:"smart car"'),
        ("https://example.com/a", 'title|body:"https example com a"'),
    ],
)
def test_parse(query, tree):
    assert render(parse(query, ENTITIES)) == tree


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("", "empty query", 1),
        ("   ", "empty query", 1),
        ("(Daimler OR Mercedes", "unbalanced parenthesis: this '(' is never closed", 1),
        ("Daimler (", "unbalanced parenthesis: this '(' is never closed", 9),
        ("Daimler)", "unbalanced parenthesis: this ')' has no matching '('", 8),
        ('Daimler "small car', "unbalanced quote: this '\"' is never closed", 9),
        ("Daimler AND", "AND at end of query", 12),
        ("Daimler OR", "OR at end of query", 11),
        ("Daimler NOT", "NOT at end of query", 12),
        ("Daimler NEAR/5", "NEAR/5 at end of query", 15),
        ("AND Daimler", "AND at start of query", 1),
        ("OR Daimler", "OR at start of query", 1),
        ("Daimler OR AND Renault", "AND right after OR", 12),
        ("Daimler AND OR Renault", "OR right after AND", 13),
        ("(Daimler AND) Renault", "AND needs a term before this ')'", 13),
        ("()", "empty parentheses", 1),
        ('""', "empty phrase: there are no letters or digits between the quotes", 1),
        ("Daimler NEAR Renault", "NEAR needs a number of words, as in NEAR/5", 9),
        ("Daimler NEAR/x Renault", "NEAR needs a number of words, as in NEAR/5", 9),
        ("Daimler ONEAR/ Renault", "ONEAR needs a number of words, as in ONEAR/5", 9),
        ("Daimler near/5 Renault", "write NEAR/5 in capitals", 9),
        ("Daimler NEAR/5000 Renault", "a distance can be at most 1000 words", 14),
        ('"a b"~', "'~' needs a number of words, as in \"a b\"~5", 6),
        ("a~2", '\'~\' works only after a "phrase", as in "a b"~5', 2),
        (
            "(a AND b) NEAR/3 c",
            "NEAR works on terms, phrases and OR groups; this side has AND or NOT"
            " (quote words that belong together)",
            1,
        ),
        (
            "a NEAR/3 -b",
            "NEAR works on terms, phrases and OR groups; this side has AND or NOT"
            " (quote words that belong together)",
            10,
        ),
        (
            "a and b",
            "lowercase 'and' would be searched as a word; write AND for the operator"
            ' or "and" to search for the word',
            3,
        ),
        (
            "a or b",
            "lowercase 'or' would be searched as a word; write OR for the operator"
            ' or "or" to search for the word',
            3,
        ),
        (
            "titel:Renault",
            "unknown field 'titel:' (did you mean 'title:'?); fields are title, body, author, url, source",
            1,
        ),
        ("title: Renault", "'title:' needs a term, \"phrase\" or (group) right after the colon", 1),
        ("par*ner", "a wildcard works only at the end of a word, as in partner*", 4),
        ("*ner", "a wildcard works only at the end of a word, as in partner*", 1),
        ("pa*", "a wildcard needs at least 3 letters before '*', as in partner*", 3),
        ("@Daimlr", "unknown entity '@Daimlr' (did you mean '@Daimler'?)", 1),
        ("x @", "'@' needs an entity name, as in @Daimler", 3),
        ("a & b", "'&' has no letters or digits to search for", 3),
        ("a -", "'-' must be followed by the term to exclude, as in -formula", 3),
        ("a - b", "'-' must be followed by the term to exclude, as in -formula", 3),
    ],
)
def test_syntax_errors(query, message, column):
    with pytest.raises(QuerySyntaxError) as info:
        parse(query, ENTITIES)
    assert (info.value.message, info.value.column) == (message, column)


@pytest.mark.parametrize("query", ["NOT formula", "-formula", "a OR -b", "-a -b"])
def test_rule_queries_need_a_positive_term(query):
    with pytest.raises(QuerySyntaxError, match="contain none of its terms"):
        parse(query, require_positive=True)


@pytest.mark.parametrize("query", ["a -b", "a OR (b NOT c)", "(a OR b) -c"])
def test_positive_queries_pass(query):
    parse(query, require_positive=True)


def test_caret_points_at_the_column():
    assert caret("Daimler AND (Renault", 13) == "    Daimler AND (Renault\n                ^"
