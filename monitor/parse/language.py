"""Language of a page's text, identified by py3langid (a langid.py model shipped in the package).

py3langid does the heavy lifting: a naive Bayes model over byte n-grams, trained on 97
languages, that tells Bulgarian from Russian, Romanian from Portuguese, knows Finnish, and
does not call a Chinese text Japanese for one "・". It needs no download and classifies a
sample in well under a millisecond. Probabilities are normalised so that ``page`` can
trust a confident detection over a publisher's declaration (``inLanguage: "kr"`` on a
Korean page, a site-wide ``<html lang="en">`` on a German article).
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

_SAMPLE = 3000
#: Fewer letters than this are too little to identify a language with.
_MIN_LETTERS = 20
#: A detection at least this probable wins over a declared language.
CONFIDENT = 0.95
_IDENTIFIER: LanguageIdentifier | None = None


def _identifier() -> LanguageIdentifier:
    global _IDENTIFIER  # loaded on first use: the model takes a few hundred milliseconds
    if _IDENTIFIER is None:
        _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


def identify(text: str) -> tuple[str, float] | None:
    """The ISO 639-1 code of ``text`` and its probability, or None for too little text."""
    sample = text[:_SAMPLE]
    if sum(ch.isalpha() for ch in sample) < _MIN_LETTERS:
        return None
    code, probability = _identifier().classify(sample)
    return str(code), float(probability)


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code for ``text``, or None when the sample is too short."""
    found = identify(text)
    return found[0] if found else None


def resolve_language(declared: str | None, text: str) -> str | None:
    """The declared language, unless a confident detection of ``text`` says otherwise."""
    found = identify(text)
    if found is None:
        return declared
    code, probability = found
    if declared is None or (code != declared and probability >= CONFIDENT):
        return code if len(code) == 2 else declared
    return declared
