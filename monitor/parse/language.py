"""Language of a page that does not declare one, guessed from its text.

Declared languages (``<html lang>``, JSON-LD ``inLanguage``, ``og:locale``) always win;
this is the fallback. Scripts that belong to one language (kana, Hangul, Thai...) decide
at once; otherwise the share of each language's commonest function words does. No model
and no dependency: news text is long enough for stop words to separate the languages a
media monitor meets, and it costs microseconds.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+")
_SAMPLE = 4000
_MIN_WORDS = 20
_MIN_SHARE = 0.08

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)

_ANY_SCRIPT = re.compile("[" + "".join(pattern.pattern[1:-1] for _, pattern in _SCRIPTS) + "]")

_STOP_WORDS = {
    "en": "the and of to in is that for it with was on as are be this by have from he said at",
    "de": "der die und das ist nicht mit den von zu sich des auf für ein eine dem im auch wird",
    "fr": "le la les et des est un une du que dans pour qui pas sur au avec ce il sont",
    "es": "el la de que y los en del las un por con una para es se al lo como más",
    "it": "il di che la e per un una del non con sono della le si da nel gli anche è",
    "pt": "o a de que e do da em um para com não uma os no se na por mais as dos é",
    "nl": "de het een en van is dat op te in zijn met voor niet die er ook aan wordt bij",
    "sv": "och att det som en är av för med till den på har inte om ett de var sig",
    "da": "og at det er en til på af med for den de ikke som har et om der var fra",
    "no": "og det er til på som en av for med ikke har de at den et om var fra",
    "pl": "i w na nie z się to że do jest o jak co po ale od za przez dla jego",
    "cs": "a se na je v že to s z do o jako k by ve pro jsou ale tak jeho",
    "tr": "ve bir bu da de için ile çok olarak daha gibi en ne olan sonra kadar ama her",
    "id": "yang dan di ini itu dengan untuk dari dalam tidak akan pada adalah ke juga karena ada oleh",
    "ru": "и в не на что с по это как из к но за у от о для же так его",
    "uk": "і в не на що з та до це як у за від про для але його й ще вже",
}
_STOP_SETS = {code: frozenset(words.split()) for code, words in _STOP_WORDS.items()}


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code for ``text``, or None when the sample is too short or unclear."""
    sample = text[:_SAMPLE]
    letters = _WORD.findall(sample)
    if not letters:
        return None
    if len(_ANY_SCRIPT.findall(sample)) >= 20:  # one pass first: most pages use none of them
        for code, script in _SCRIPTS:
            if len(script.findall(sample)) >= 20:
                if code == "zh" and _SCRIPTS[0][1].search(sample):
                    return "ja"
                return code
    words = [w.casefold() for w in letters]
    if len(words) < _MIN_WORDS:
        return None
    counts = Counter(words)
    scores = {
        code: sum(counts[w] for w in stop if w in counts) / len(words) for code, stop in _STOP_SETS.items()
    }
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] >= _MIN_SHARE else None
