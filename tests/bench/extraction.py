"""Body-extraction benchmark: monitor.parse against trafilatura on the aeb-dev pages.

Run with ``make bench-extraction``. The metric is the article-extraction-benchmark's own:
tokens are ``\\w+`` runs, each body is cut into word 4-grams, and per page the true
positives, false positives and false negatives over the 4-gram multiset are counted and
normalised to sum 1. Precision and recall are averaged over pages, F1 is their harmonic
mean, and accuracy is the share of pages whose token sequence equals the ground truth.
Both extractors get the same decompressed bytes in the same run; timing excludes reading
the files. Pages are read from the shared data folder, never copied into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.parse import parse_html  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import trafilatura

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "aeb-dev"
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Page:
    """One benchmark page: its id, URL, raw HTML bytes and ground-truth body."""

    key: str
    url: str
    html: bytes
    truth: str


@dataclass(frozen=True)
class Output:
    """What one extractor produced for one page."""

    body: str
    title: str = ""
    authors: int = 0
    date: bool = False


def tokens(text: str) -> list[str]:
    """The benchmark's tokenisation: runs of word characters."""
    return _TOKEN.findall(text or "")


def shingles(text: str, n: int = 4) -> Counter[str]:
    """Word n-grams of ``text`` as a multiset (one shorter shingle for short texts)."""
    words = tokens(text)
    return Counter(" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words)


def match(truth: str, predicted: str) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) of one page over the 4-gram multisets."""
    true_sh, pred_sh = shingles(truth), shingles(predicted)
    tp = fp = fn = 0
    for key in true_sh.keys() | pred_sh.keys():
        t, p = true_sh.get(key, 0), pred_sh.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Score:
    """Aggregate figures of one extractor over all pages."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    pages_per_s: float
    title: float
    authors: float
    date: float
    per_page: dict[str, float]


def score(pages: list[Page], outputs: dict[str, Output], seconds: float) -> Score:
    """Precision and recall averaged over pages, F1 as their harmonic mean."""
    precisions, recalls, exact, per_page = [], [], [], {}
    for page in pages:
        out = outputs[page.key]
        tp, fp, fn = match(page.truth, out.body)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        precisions.append(p)
        recalls.append(r)
        exact.append(tokens(page.truth) == tokens(out.body))
        per_page[page.key] = 2 * p * r / (p + r) if p + r else 0.0
    precision, recall = statistics.mean(precisions), statistics.mean(recalls)
    n = len(pages)
    return Score(
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        accuracy=sum(exact) / n,
        pages_per_s=n / seconds,
        title=sum(bool(o.title.strip()) for o in outputs.values()) / n,
        authors=sum(o.authors > 0 for o in outputs.values()) / n,
        date=sum(o.date for o in outputs.values()) / n,
        per_page=per_page,
    )


def run_ours(page: Page) -> Output:
    """monitor.parse: the whole Article (body and every metadata field)."""
    article = parse_html(page.html, page.url)
    return Output(article.body, article.title, len(article.authors), article.published_at is not None)


def run_trafilatura(page: Page) -> Output:
    """trafilatura's default extraction of the body (no metadata: that is timed apart)."""
    return Output(trafilatura.extract(page.html, url=page.url) or "")


def trafilatura_metadata(page: Page) -> tuple[str, int, bool]:
    """trafilatura's own metadata, for the coverage columns only (not timed)."""
    meta = trafilatura.extract_metadata(page.html, default_url=page.url)
    if meta is None:
        return "", 0, False
    authors = [a for a in (meta.author or "").split(";") if a.strip()]
    return meta.title or "", len(authors), bool(meta.date)


def timed(
    pages: list[Page], extractors: dict[str, Callable[[Page], Output]], repeat: int
) -> dict[str, tuple[dict[str, Output], float]]:
    """Run every extractor on each page in turn, ``repeat`` times; per page keep the fastest.

    Interleaving page by page means a burst of load on the machine slows both extractors
    alike instead of whichever happened to be running.
    """
    best: dict[str, dict[str, float]] = {name: {} for name in extractors}
    outputs: dict[str, dict[str, Output]] = {name: {} for name in extractors}
    for _ in range(repeat):
        for page in pages:
            for name, extractor in extractors.items():
                start = time.perf_counter()
                outputs[name][page.key] = extractor(page)
                elapsed = time.perf_counter() - start
                best[name][page.key] = min(elapsed, best[name].get(page.key, elapsed))
    return {name: (outputs[name], sum(best[name].values())) for name in extractors}


def load(data: Path, limit: int | None) -> list[Page]:
    """Read the ground truth and the gzipped pages (outside any timing)."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key].get("url", ""), html, truth[key].get("articleBody", "")))
    return pages


def main(argv: list[str] | None = None) -> int:
    """Print both extractors' figures and one summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="aeb-dev folder")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes (fastest time per page kept)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--pages", action="store_true", help="print per-page F1 where the two differ")
    args = parser.parse_args(argv)
    if not (args.data / "ground-truth.json").exists():
        print(f"no benchmark data in {args.data}", file=sys.stderr)
        return 2
    pages = load(args.data, args.limit)
    run_ours(pages[0]), run_trafilatura(pages[0])  # warm imports and caches
    results = timed(pages, {"ours": run_ours, "trafilatura": run_trafilatura}, args.repeat)
    (ours_out, ours_s), (traf_out, traf_s) = results["ours"], results["trafilatura"]
    for page in pages:
        title, authors, date = trafilatura_metadata(page)
        traf_out[page.key] = Output(traf_out[page.key].body, title, authors, date)
    ours, traf = score(pages, ours_out, ours_s), score(pages, traf_out, traf_s)

    print(f"{len(pages)} pages from {args.data}")
    header = f"{'extractor':<18}{'precision':>10}{'recall':>8}{'F1':>8}{'accuracy':>10}{'pages/s':>9}"
    print(header + f"{'title':>8}{'author':>8}{'date':>8}")
    for name, s in (("monitor.parse", ours), (f"trafilatura {trafilatura.__version__}", traf)):
        print(
            f"{name:<18}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.accuracy:>10.3f}"
            f"{s.pages_per_s:>9.1f}{s.title:>8.0%}{s.authors:>8.0%}{s.date:>8.0%}"
        )
    if args.pages:
        for page in pages:
            a, b = ours.per_page[page.key], traf.per_page[page.key]
            if abs(a - b) > 0.001 or a < 0.9:
                print(f"  {page.key[:12]} ours {a:.3f} trafilatura {b:.3f}  {page.url[:80]}")
    print(
        f"SUMMARY ours F1 {ours.f1:.3f} P {ours.precision:.3f} R {ours.recall:.3f} acc {ours.accuracy:.3f} "
        f"{ours.pages_per_s:.1f} pages/s title {ours.title:.0%} author {ours.authors:.0%} "
        f"date {ours.date:.0%} | "
        f"trafilatura F1 {traf.f1:.3f} P {traf.precision:.3f} R {traf.recall:.3f} acc {traf.accuracy:.3f} "
        f"{traf.pages_per_s:.1f} pages/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
