"""Near-duplicate detection: syndicated copies of one story share a story id.

A MinHash signature estimates the Jaccard similarity of two bodies' word 5-gram shingles.
Locality-sensitive hashing is done in the database rather than in memory, so that every
crawl process sees the same index: the 128-permutation signature is cut into 32 bands of 4
rows, each band hashed to an integer key stored in ``story_bands``. Two articles that share
any band key are candidates; a candidate joins the story when the estimated Jaccard
similarity reaches ``SIMILARITY_THRESHOLD``.

numpy does the work, vectorised: it hashes every word and every shingle in one pass over
the text and applies the 128 permutations to all shingle hashes at once (no Python call
per word, shingle or permutation). The permutations are datasketch's "affine32" scheme,
``(a * fmix32(h) + b) mod 2**32``, with fixed constants; datasketch itself is not used: its
import pulls in scipy and costs most of a second of CPU in every crawl and worker process,
more than signing a few hundred articles, and its permutations depend on its version.
Word and shingle hashes use fixed 64-bit constants, never Python's ``hash()``, so a
signature is the same in every process, run and release.

Threshold: 0.5. A wire story republished with other page furniture shares nearly all its
shingles (0.8-1.0 once the parser has removed the furniture); two different stories about
the same alliance share a few names and phrases, well under 0.2. Measured on the pairs in
``tests/integration/test_stories.py`` (through the real parser): the same wire story under
two outlets' headlines, navigation and credits 0.94; the alliance announcement and its
one-year follow-up 0.01. With 32 bands of 4 rows
a pair at 0.5 becomes a candidate with probability 1 - (1 - 0.5**4)**32 = 0.87, at 0.7 with
0.9995, at 0.2 with 0.05.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE_SIZE = 5
SIMILARITY_THRESHOLD = 0.5
_WORD = re.compile(r"\w+")
_SEED = 1  # fixed so signatures stay comparable across processes and releases

_U64 = npt.NDArray[np.uint64]
_MASK64 = (1 << 64) - 1
# ASCII bytes that ``\w`` matches (letters, digits, underscore) map to themselves, all
# other bytes to a space: on ASCII text ``bytes.translate`` then splits words as ``\w+``.
_ASCII_WORDS = bytes(b if b < 128 and (chr(b).isalnum() or b == ord("_")) else 32 for b in range(256))
_MAX_POSITION = 256  # a power of two; a word's bytes past this many reuse the position multipliers


def _constants(count: int, stream: int) -> _U64:
    """``count`` fixed odd 64-bit multipliers (splitmix64 output; numpy's generators are not
    guaranteed to give the same stream in every numpy release)."""
    state = stream * 0x9E3779B97F4A7C15 & _MASK64
    values = []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        values.append((z ^ (z >> 31)) | 1)
    return np.array(values, dtype=np.uint64)


_POSITION_MULTIPLIERS = _constants(_MAX_POSITION, 1)
_LENGTH_MULTIPLIER = _constants(1, 2)[0]
_SHINGLE_MULTIPLIERS = _constants(SHINGLE_SIZE, 3)


@dataclass(frozen=True, slots=True)
class Signature:
    """A MinHash signature of an article body, storable as bytes."""

    values: bytes

    @classmethod
    def of_text(cls, text: str) -> Signature:
        """Signature of the word 5-gram shingles of ``text`` (case and accents folded)."""
        hashes = _shingle_hashes(_word_bytes(text))
        return cls(_min_hashes(hashes) if hashes.size else _EMPTY)

    def similarity(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        mine = np.frombuffer(self.values, dtype=np.uint64)
        theirs = np.frombuffer(other.values, dtype=np.uint64)
        return float(np.count_nonzero(mine == theirs)) / NUM_PERM

    def band_keys(self) -> list[int]:
        """One 63-bit key per band, so it fits a signed BIGINT in every database.

        A key is the BLAKE2b digest of the band's number (2 bytes) and its rows' bytes:
        the stored keys of every story depend on it, so it must never change. Each band
        continues a copy of a hasher that has already read its number, and reads its
        rows straight from ``values``: half the time of hashing joined bytes per band.
        """
        data = self.values
        keys = []
        for band, prefix in enumerate(_BAND_PREFIXES):
            hasher = prefix.copy()
            hasher.update(data[band * _BAND_BYTES : (band + 1) * _BAND_BYTES])
            keys.append(int.from_bytes(hasher.digest(), "big") >> 1)
        return keys


def _fold(text: str) -> str:
    """Case-fold and strip accents: "Citroën" and "CITROEN" both fold to "citroen"."""
    if text.isascii():
        return text.casefold()
    folded = unicodedata.normalize("NFKD", text.casefold())
    # One str.replace per distinct combining mark (a text has a handful), not a Python
    # step per character; no mark is below U+0300.
    for mark in [char for char in set(folded) if char >= "\u0300" and unicodedata.combining(char)]:
        folded = folded.replace(mark, "")
    return folded


def _word_bytes(text: str) -> bytes:
    """The folded words of ``text`` (``\\w+``) as UTF-8, separated by one or more spaces."""
    folded = _fold(text)
    if folded.isascii():
        return folded.encode("ascii").translate(_ASCII_WORDS)
    return " ".join(_WORD.findall(folded)).encode("utf-8")


def _mix64(values: _U64) -> _U64:
    """splitmix64's finaliser, element-wise (uint64 arithmetic wraps around)."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _word_hashes(words: bytes) -> _U64:
    """A 64-bit hash of each space-separated word: the sum of its bytes times a multiplier
    per position, plus its length times another, through ``_mix64``."""
    data = np.frombuffer(words, dtype=np.uint8)
    inside = np.flatnonzero(data != 32)  # offsets of the words' bytes
    if not inside.size:
        return np.empty(0, dtype=np.uint64)
    first = np.empty(inside.size, dtype=bool)  # does a word start at this byte?
    first[0] = True
    np.not_equal(inside[1:], inside[:-1] + 1, out=first[1:])
    starts = np.flatnonzero(first)  # index into ``inside`` of each word's first byte
    position = np.arange(inside.size) - starts[np.cumsum(first) - 1]
    terms = data[inside].astype(np.uint64) * _POSITION_MULTIPLIERS[position & (_MAX_POSITION - 1)]
    sums = np.add.reduceat(terms, starts)
    lengths = np.diff(starts, append=inside.size).astype(np.uint64)
    return _mix64(sums + lengths * _LENGTH_MULTIPLIER)


def _shingle_hashes(words: bytes) -> npt.NDArray[np.uint32]:
    """A 32-bit hash of each word 5-gram (of the whole text if it has fewer words)."""
    hashes = _word_hashes(words)
    count = max(hashes.size - SHINGLE_SIZE + 1, 1) if hashes.size else 0
    width = min(hashes.size, SHINGLE_SIZE)
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(width):
        combined += hashes[offset : offset + count] * _SHINGLE_MULTIPLIERS[offset]
    return (_mix64(combined) >> np.uint64(32)).astype(np.uint32)


# The 128 hash functions of the MinHash: x -> (a * fmix32(x) + b) mod 2**32 with a odd, a
# permutation of the 32-bit values (datasketch's "affine32" scheme, with fixed constants).
_PERMUTATION_A = (_constants(NUM_PERM, 4) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
_PERMUTATION_B = (_constants(NUM_PERM, 5) >> np.uint64(32)).astype(np.uint32)
_EMPTY = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint64).tobytes()  # the MinHash of no shingles
_BAND_BYTES = ROWS * 8  # a band's rows in ``Signature.values``: ROWS uint64s
_BAND_PREFIXES = tuple(hashlib.blake2b(band.to_bytes(2, "big"), digest_size=8) for band in range(BANDS))


def _min_hashes(hashes: npt.NDArray[np.uint32]) -> bytes:
    """For each of the ``NUM_PERM`` permutations, the least permuted value of ``hashes``.

    One row per permutation, so that each minimum is taken along contiguous memory (a
    quarter faster than a column per permutation for an article's ~1,000 shingles).
    """
    permuted = _PERMUTATION_A[:, np.newaxis] * _fmix32(hashes)  # uint32: wraps around mod 2**32
    permuted += _PERMUTATION_B[:, np.newaxis]
    values: bytes = permuted.min(axis=1).astype(np.uint64).tobytes()
    return values


def _fmix32(values: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """MurmurHash3's 32-bit finaliser: spreads every input bit over the whole word."""
    values = (values ^ (values >> np.uint32(16))) * np.uint32(0x85EBCA6B)
    values = (values ^ (values >> np.uint32(13))) * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))
