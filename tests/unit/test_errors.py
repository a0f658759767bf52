"""``quoted``: error messages quote hostile input briefly, whatever its size or depth."""

from __future__ import annotations

from monitor.errors import quoted


def test_a_short_value_is_quoted_whole() -> None:
    assert quoted("Renault") == "'Renault'"


def test_a_huge_string_is_cut_and_its_length_said() -> None:
    text = quoted("x" * 10_000_000)
    assert len(text) < 120
    assert "(10,000,000 characters)" in text


def test_an_alias_bomb_shape_is_quoted_without_expanding() -> None:
    bomb: list[object] = ["lol"]
    for _ in range(64):  # 2**64 leaves: a plain repr would never finish
        bomb = [bomb, bomb]
    assert len(quoted(bomb)) < 120
