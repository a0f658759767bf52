"""Choosing the body among alternative extractions when the main one failed.

The main extraction (trafilatura's fast mode) is kept whenever ``quality.assess`` finds
nothing wrong with it, so the alternatives cost time only on the pages that need them.
Otherwise they are produced in order (trafilatura's full, recall and precision modes,
the publisher's JSON-LD ``articleBody``, the readability-style main block, the
``og:description`` last) and ranked by ``quality.quality``: the words that are not link
texts. A candidate with a hard problem (empty, only the title, a menu) never wins; a
"short" main extraction is replaced only by a clearly longer candidate, since the page's
main block may itself be a comment thread or a teaser list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from monitor.parse.quality import Extraction, PageSignals, assess, is_hard, quality

#: A fallback must have this many times the main extraction's quality to replace a "short" one.
CLEARLY_BETTER = 1.5
#: An earlier (more precise) alternative is kept unless a later one beats it by this factor.
LATER_MARGIN = 1.15


def choose(
    main: tuple[str, str],
    alternatives: Sequence[tuple[str, Callable[[], str]]],
    page: PageSignals,
    titles: Iterable[str] = (),
) -> Extraction:
    """The main extraction if sound, else the best alternative; empty with a reason if none."""
    titles = list(titles)
    method, text = main
    problem = assess(text, page, titles)
    if problem is None:
        return Extraction(text, method)
    best: tuple[float, str, str, str | None] | None = None  # quality, method, text, problem
    tried = [f"{method}: {problem}"]
    seen = {text}
    for name, produce in alternatives:
        candidate = produce()
        if candidate in seen:
            continue
        seen.add(candidate)
        issue = assess(candidate, page, titles)
        if is_hard(issue):
            tried.append(f"{name}: {issue}")
            continue
        score = quality(candidate, page) * (1.0 if issue is None else 0.5)
        if best is None or score > best[0] * LATER_MARGIN:
            best = (score, name, candidate, issue)
    reason = "; ".join(tried)
    if best is None:
        return Extraction("", "none", reason)
    if not is_hard(problem) and best[0] < CLEARLY_BETTER * quality(text, page):
        return Extraction(text, method, problem)
    return Extraction(best[2], best[1], f"{method} rejected ({problem})")
