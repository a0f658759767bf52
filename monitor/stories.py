"""Near-duplicate detection: syndicated copies of one story share a story id.

datasketch's ``MinHash`` estimates the Jaccard similarity of two bodies' word 5-gram
shingles. Locality-sensitive hashing is done in the database rather than in memory, so
that every crawl process sees the same index: the 128-permutation signature is cut into
32 bands of 4 rows, each band hashed to an integer key stored in ``story_bands``. Two
articles that share any band key are candidates; a candidate joins the story when the
estimated Jaccard similarity reaches ``SIMILARITY_THRESHOLD``.

Threshold: 0.5. A wire story republished with other page furniture shares nearly all its
shingles (0.8-1.0 once the parser has removed the furniture); two different stories about
the same alliance share a few names and phrases, well under 0.2. Measured on the pairs in
``tests/integration/test_stories.py`` (through the real parser): the same wire story under
two outlets' headlines, navigation and credits 0.90; the alliance announcement and its
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

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE_SIZE = 5
SIMILARITY_THRESHOLD = 0.5
_WORD = re.compile(r"\w+")
_SEED = 1  # fixed so signatures stay comparable across processes and releases


@dataclass(frozen=True, slots=True)
class Signature:
    """A MinHash signature of an article body, storable as bytes."""

    values: bytes

    @classmethod
    def of_text(cls, text: str) -> Signature:
        """Signature of the word 5-gram shingles of ``text`` (case and accents folded)."""
        # Imported here: datasketch takes most of a second to import, and every CLI command
        # that only reads the store (alerts, the dispatcher) would pay for it.
        from datasketch import MinHash

        words = _WORD.findall(_fold(text))
        minhash = MinHash(num_perm=NUM_PERM, seed=_SEED)
        if len(words) < SHINGLE_SIZE:
            shingles = [" ".join(words)] if words else []
        else:
            shingles = [" ".join(words[i : i + SHINGLE_SIZE]) for i in range(len(words) - SHINGLE_SIZE + 1)]
        if shingles:
            minhash.update_batch([shingle.encode("utf-8") for shingle in shingles])
        return cls(np.asarray(minhash.hashvalues, dtype=np.uint64).tobytes())

    def similarity(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        mine = np.frombuffer(self.values, dtype=np.uint64)
        theirs = np.frombuffer(other.values, dtype=np.uint64)
        return float(np.count_nonzero(mine == theirs)) / NUM_PERM

    def band_keys(self) -> list[int]:
        """One 63-bit key per band, so it fits a signed BIGINT in every database."""
        values = np.frombuffer(self.values, dtype=np.uint64)
        keys = []
        for band in range(BANDS):
            chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
            digest = hashlib.blake2b(band.to_bytes(2, "big") + chunk, digest_size=8).digest()
            keys.append(int.from_bytes(digest, "big") >> 1)
        return keys


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
