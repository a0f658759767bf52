"""MinHash signatures of article bodies: stable across processes, folded, and close to the
Jaccard similarity of the word 5-gram shingle sets they stand for."""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
import unicodedata

import numpy as np
import pytest

from monitor.store import stories
from monitor.store.stories import NUM_PERM, SHINGLE_SIZE, Signature

_SYLLABLES = ["ba", "ro", "ne", "ti", "ka", "lu", "mo", "sa", "ve", "di", "gre", "stra", "pol", "en"]


def random_text(seed: int, words: int = 850) -> str:
    """Prose-shaped text: Zipf-ish word frequencies, capitals, commas and full stops."""
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    out = []
    for index, word in enumerate(rng.choices(vocabulary, weights, k=words)):
        out.append(word.capitalize() if index % 15 == 0 else word)
        if index % 15 == 14:
            out[-1] += "."
        elif index % 6 == 5:
            out[-1] += ","
    return " ".join(out)


def reference_shingles(text: str) -> set[str]:
    """The shingle set, computed the plain (slow) way."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    words = re.findall(r"\w+", "".join(c for c in decomposed if not unicodedata.combining(c)))
    if len(words) < SHINGLE_SIZE:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE_SIZE]) for i in range(len(words) - SHINGLE_SIZE + 1)}


def jaccard(first: str, second: str) -> float:
    a, b = reference_shingles(first), reference_shingles(second)
    return len(a & b) / len(a | b)


ARTICLE = random_text(1)
SENTENCES = ARTICLE.split(". ")


def test_signature_is_the_same_in_another_process_with_another_hash_seed() -> None:
    text = ARTICLE + " Citroën, Škoda and Zürich; Москва 日本語."
    script = (
        "import sys; from monitor.store.stories import Signature; "
        "sys.stdout.write(Signature.of_text(sys.stdin.read()).values.hex())"
    )
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], input=text, env=env, capture_output=True, text=True, check=True
        )
        assert result.stdout == Signature.of_text(text).values.hex()


def test_case_and_accents_are_folded() -> None:
    assert Signature.of_text("Citroën and Škoda open a plant in Zürich") == Signature.of_text(
        "CITROEN and Skoda open a plant in zurich"
    )
    assert Signature.of_text("Citroën") == Signature.of_text("citroen")
    # Decomposed input (e + combining diaeresis) folds like the precomposed letter.
    assert Signature.of_text("Citroe\u0308n C4 Picasso arrives today") == Signature.of_text(
        "Citroën C4 Picasso arrives today"
    )
    assert Signature.of_text("Citroën C4 Picasso arrives today") != Signature.of_text(
        "Citroën C5 Picasso arrives today"
    )


def test_non_ascii_words_hash_like_their_ascii_equivalents() -> None:
    # Cyrillic stays non-ASCII after folding, so this text takes the regex path rather than
    # the bytes.translate one: its words must come out (and hash) the same.
    mixed = "Daimler and Renault sign a deal, Москва says"
    assert stories._word_bytes(mixed).split() == [w.encode() for w in re.findall(r"\w+", mixed.casefold())]
    assert stories._word_bytes("Daimler and Renault sign a deal").split() == [
        b"daimler",
        b"and",
        b"renault",
        b"sign",
        b"a",
        b"deal",
    ]
    ascii_hashes = stories._word_hashes(b"daimler  and renault")
    other_path = stories._word_hashes(" ".join(["daimler", "and", "renault"]).encode())
    assert ascii_hashes.tolist() == other_path.tolist()


def test_short_text_is_one_shingle_and_empty_text_is_the_empty_minhash() -> None:
    short = Signature.of_text("Daimler buys Renault shares")
    assert short == Signature.of_text("daimler, buys RENAULT shares!")
    assert short != Signature.of_text("Renault buys Daimler shares")
    assert short.similarity(Signature.of_text("Daimler buys Renault")) == 0.0
    assert len(np.unique(np.frombuffer(short.values, dtype=np.uint64))) > NUM_PERM // 2

    empty = Signature.of_text("")
    assert empty == Signature.of_text("  ... -- !? ")
    assert np.frombuffer(empty.values, dtype=np.uint64).tolist() == [2**32 - 1] * NUM_PERM
    assert empty.similarity(short) == 0.0


def test_values_are_128_uint64_and_band_keys_fit_a_signed_bigint() -> None:
    signature = Signature.of_text(ARTICLE)
    assert len(signature.values) == NUM_PERM * 8
    keys = signature.band_keys()
    assert len(keys) == stories.BANDS
    assert all(0 <= key < 2**63 for key in keys)


def test_band_keys_are_the_blake2b_of_band_number_and_rows() -> None:
    """Stored stories are found again through these keys: their definition must never change."""
    for text in (ARTICLE, "", "Daimler buys Renault"):
        signature = Signature.of_text(text)
        values = np.frombuffer(signature.values, dtype=np.uint64)
        expected = []
        for band in range(stories.BANDS):
            chunk = values[band * stories.ROWS : (band + 1) * stories.ROWS].tobytes()
            digest = hashlib.blake2b(band.to_bytes(2, "big") + chunk, digest_size=8).digest()
            expected.append(int.from_bytes(digest, "big") >> 1)
        assert signature.band_keys() == expected


def test_a_text_is_identical_to_itself() -> None:
    assert Signature.of_text(ARTICLE).similarity(Signature.of_text(ARTICLE)) == 1.0


def test_one_changed_sentence_keeps_the_text_similar() -> None:
    edited = SENTENCES.copy()
    edited[len(edited) // 2] = "The spokesman declined to comment on the figures released on Monday"
    edited_text = ". ".join(edited)
    assert jaccard(ARTICLE, edited_text) > 0.8
    assert Signature.of_text(ARTICLE).similarity(Signature.of_text(edited_text)) > 0.5


def test_unrelated_texts_are_not_similar() -> None:
    assert Signature.of_text(ARTICLE).similarity(Signature.of_text(random_text(2))) < 0.2


@pytest.mark.parametrize("keep", [0.9, 0.7, 0.5, 0.3])
def test_estimate_agrees_with_the_jaccard_of_the_shingle_sets(keep: float) -> None:
    """Keep the first ``keep`` of the sentences, replace the rest with another text's."""
    other = random_text(3).split(". ")
    cut = int(len(SENTENCES) * keep)
    mixed = ". ".join(SENTENCES[:cut] + other[cut:])
    expected = jaccard(ARTICLE, mixed)
    estimate = Signature.of_text(ARTICLE).similarity(Signature.of_text(mixed))
    assert abs(estimate - expected) < 0.15, (estimate, expected)


def test_min_hashes_agree_with_a_plain_reference() -> None:
    """Each value is the least of (a * fmix32(h) + b) mod 2**32 over the shingle hashes."""

    def fmix32(value: int) -> int:
        value = ((value ^ (value >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
        value = ((value ^ (value >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
        return value ^ (value >> 16)

    words = stories._word_bytes(ARTICLE)
    hashes = stories._shingle_hashes(words)
    assert hashes.size == len(words.split()) - SHINGLE_SIZE + 1
    pairs = zip(stories._PERMUTATION_A.tolist(), stories._PERMUTATION_B.tolist(), strict=True)
    expected = [min((a * fmix32(h) + b) & 0xFFFFFFFF for h in hashes.tolist()) for a, b in pairs]
    assert np.frombuffer(Signature.of_text(ARTICLE).values, dtype=np.uint64).tolist() == expected
    assert all(a % 2 == 1 for a in stories._PERMUTATION_A.tolist())  # odd: a permutation of 2**32
    assert len(set(stories._PERMUTATION_A.tolist())) == NUM_PERM


def test_distinct_words_and_shingles_get_distinct_hashes() -> None:
    rng = random.Random(4)
    words = {"".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 9))) for _ in range(50_000)}
    words |= {"ab", "ba", "abc", "cba", "bac", "aab", "aba", "baa", "x" * 300, "x" * 299 + "y"}
    hashes = stories._word_hashes(" ".join(sorted(words)).encode())
    assert len(hashes) == len(words)
    assert len(set(hashes.tolist())) == len(words)
    # 32-bit shingle hashes: on 2,000 shingles a collision would have odds of 1 in 2,000.
    shingles = stories._shingle_hashes(" ".join(sorted(words)[:2004]).encode())
    assert len(set(shingles.tolist())) == len(shingles)
