"""Extraction benchmark: monitor.parse against trafilatura on the aeb-dev and fundus-dev pages.

Run with ``make bench-extraction``. The body metric is the article-extraction-benchmark's
own: tokens are ``\\w+`` runs, each body is cut into word 4-grams, and per page the true
positives, false positives and false negatives over the 4-gram multiset are counted and
normalised to sum 1. Precision and recall are averaged over pages, F1 is their harmonic
mean, and accuracy is the share of pages whose token sequence equals the ground truth.

fundus-dev also has titles, authors and dates: a title counts when it is equal after
whitespace and case folding, authors when the sets are equal (same folding), a date when
both are the same instant within 60 s (both with a time zone) or else fall on the same day.
"lost" counts the pages where we score an F1 under 0.5 while trafilatura scores 0.8 or more:
articles a monitor would silently miss.

Both extractors get the same decompressed bytes in the same run, page by page; timing
excludes reading the files, and trafilatura's timed run extracts the body only (its
metadata, read for the comparison columns, is not timed), while ours parses every field.
Pages are read from the shared data folder, never copied into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import html as html_lib
import json
import re
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.errors import ParseError  # noqa: E402
from monitor.parse import parse_html  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import trafilatura

DATA = ROOT.parent / "shared" / "data"
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_PAGE_FILE = re.compile(r"^(?P<pub>.+)_(?P<date>\d{4}_\d{2}_\d{2})\.html\.gz$")
LOST_OURS, LOST_THEIRS = 0.5, 0.8


@dataclass(frozen=True)
class Page:
    """One benchmark page: its id, URL, raw HTML bytes and ground truth (body, maybe more)."""

    key: str
    url: str
    html: bytes
    truth: str
    title: str | None = None
    authors: frozenset[str] | None = None
    date: str | None = None


@dataclass(frozen=True)
class Output:
    """What one extractor produced for one page."""

    body: str
    title: str = ""
    authors: tuple[str, ...] = ()
    date: datetime | None = None
    note: str = ""


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


def fold(text: str) -> str:
    """Whitespace and case folding for the title and author comparisons."""
    return _SPACE.sub(" ", text).strip().casefold()


def same_date(truth: str, found: datetime | None) -> bool:
    """Same instant within 60 s when both carry a time zone, else the same day."""
    if found is None:
        return False
    expected = datetime.fromisoformat(truth)
    if expected.tzinfo is not None and found.tzinfo is not None:
        return abs((expected - found).total_seconds()) <= 60
    return expected.date() == found.date()


@dataclass
class Score:
    """Aggregate figures of one extractor over one data set."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    pages_per_s: float
    title: float | None
    authors: float | None
    date: float | None
    per_page: dict[str, float] = field(default_factory=dict)
    misses: dict[str, list[str]] = field(default_factory=dict)


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def score(pages: list[Page], outputs: dict[str, Output], seconds: float) -> Score:
    """Precision and recall averaged over pages, F1 as their harmonic mean; field shares."""
    precisions, recalls, exact, per_page = [], [], [], {}
    titles, authors, dates = [], [], []
    misses: dict[str, list[str]] = {"title": [], "authors": [], "date": []}
    for page in pages:
        out = outputs[page.key]
        tp, fp, fn = match(page.truth, out.body)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        precisions.append(p)
        recalls.append(r)
        exact.append(tokens(page.truth) == tokens(out.body))
        per_page[page.key] = 2 * p * r / (p + r) if p + r else 0.0
        if page.title is not None:
            titles.append(fold(page.title) == fold(out.title))
            if not titles[-1]:
                misses["title"].append(f"{page.key}: {out.title!r} != {page.title!r}")
        if page.authors is not None:
            authors.append(page.authors == frozenset(fold(a) for a in out.authors))
            if not authors[-1]:
                misses["authors"].append(f"{page.key}: {list(out.authors)} != {sorted(page.authors)}")
        if page.date is not None:
            dates.append(same_date(page.date, out.date))
            if not dates[-1]:
                misses["date"].append(f"{page.key}: {out.date} != {page.date}")
    precision, recall = statistics.mean(precisions), statistics.mean(recalls)
    return Score(
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        accuracy=sum(exact) / len(pages),
        pages_per_s=len(pages) / seconds,
        title=_share(titles),
        authors=_share(authors),
        date=_share(dates),
        per_page=per_page,
        misses=misses,
    )


def run_ours(page: Page) -> Output:
    """monitor.parse: the whole Article (body and every metadata field)."""
    try:
        article = parse_html(page.html, page.url)
    except ParseError as exc:
        return Output("", note=f"ParseError: {exc}")
    why = article.extra.get("extraction", "")
    return Output(article.body, article.title, article.authors, article.published_at, str(why))


def run_trafilatura(page: Page) -> Output:
    """trafilatura's default extraction of the body (no metadata: that is timed apart)."""
    return Output(trafilatura.extract(page.html, url=page.url) or "")


def trafilatura_metadata(page: Page, body: str) -> Output:
    """trafilatura's own metadata, for the comparison columns only (not timed)."""
    meta = trafilatura.extract_metadata(page.html, default_url=page.url)
    if meta is None:
        return Output(body)
    authors = tuple(a.strip() for a in (meta.author or "").split(";") if a.strip())
    date = None
    if meta.date:
        try:
            date = datetime.fromisoformat(meta.date)
        except ValueError:
            date = None
    return Output(body, meta.title or "", authors, date)


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


def load_aeb(data: Path) -> list[Page]:
    """aeb-dev: ``ground-truth.json`` and ``html/<id>.html.gz`` (body only)."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        html = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key].get("url", ""), html, truth[key].get("articleBody", "")))
    return pages


def fundus_body(record: dict[str, object]) -> str:
    """Summary, then every section headline and paragraph, joined by newlines."""
    body = record.get("body") or {}
    assert isinstance(body, dict)
    parts = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts += list(section.get("headline") or []) + list(section.get("paragraphs") or [])
    return "\n".join(parts)


def _page_text(html: bytes) -> str:
    return fold(html_lib.unescape(_TAG.sub(" ", html.decode("utf-8", "replace"))))


def load_fundus(data: Path) -> list[Page]:
    """fundus-dev: per country, ``<PUB>.json`` records matched to the page holding their title."""
    pages = []
    for country in sorted(p for p in data.iterdir() if p.is_dir()):
        meta = json.loads((country / "meta.info").read_text(encoding="utf-8"))
        files: dict[str, list[Path]] = {}
        for path in sorted(country.glob("*.html.gz")):
            found = _PAGE_FILE.match(path.name)
            if found:
                files.setdefault(found["pub"], []).append(path)
        for record_file in sorted(country.glob("*.json")):
            records = json.loads(record_file.read_text(encoding="utf-8"))
            candidates = {p: gzip.decompress(p.read_bytes()) for p in files.get(record_file.stem, [])}
            texts = {p: _page_text(h) for p, h in candidates.items()}
            for version, record in sorted(records.items()):
                title = record.get("title") or ""
                hits = [p for p in candidates if fold(title) and fold(title) in texts[p]]
                if not hits and len(records) == len(candidates) == 1:
                    hits = list(candidates)
                if not hits:
                    print(f"  fundus-dev: no page for {record_file.name} {version}", file=sys.stderr)
                    continue
                path = hits[0]
                pages.append(
                    Page(
                        key=f"{country.name}/{path.name.removesuffix('.html.gz')}",
                        url=meta.get(path.name, {}).get("url", ""),
                        html=candidates[path],
                        truth=fundus_body(record),
                        title=title,
                        authors=frozenset(fold(a) for a in record.get("authors") or []),
                        date=record.get("publishing_date"),
                    )
                )
    return pages


def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{value:.3f}"


def bench(name: str, pages: list[Page], repeat: int, show: bool) -> tuple[Score, Score, int]:
    """Run both extractors on one data set, print its table; return both scores and lost pages."""
    run_ours(pages[0]), run_trafilatura(pages[0])  # warm imports and caches
    results = timed(pages, {"ours": run_ours, "trafilatura": run_trafilatura}, repeat)
    (ours_out, ours_s), (traf_out, traf_s) = results["ours"], results["trafilatura"]
    for page in pages:
        traf_out[page.key] = trafilatura_metadata(page, traf_out[page.key].body)
    ours, traf = score(pages, ours_out, ours_s), score(pages, traf_out, traf_s)
    lost = [p.key for p in pages if ours.per_page[p.key] < LOST_OURS and traf.per_page[p.key] >= LOST_THEIRS]
    print(f"\n{name}: {len(pages)} pages")
    header = f"{'extractor':<18}{'precision':>10}{'recall':>8}{'F1':>8}{'accuracy':>10}{'pages/s':>9}"
    print(header + f"{'title':>8}{'authors':>8}{'date':>8}")
    for label, s in (("monitor.parse", ours), (f"trafilatura {trafilatura.__version__}", traf)):
        print(
            f"{label:<18}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.accuracy:>10.3f}"
            f"{s.pages_per_s:>9.1f}{_pct(s.title):>8}{_pct(s.authors):>8}{_pct(s.date):>8}"
        )
    print(f"lost (ours < {LOST_OURS} where trafilatura >= {LOST_THEIRS}): {len(lost)} {' '.join(lost)}")
    if show:
        for page in sorted(pages, key=lambda p: ours.per_page[p.key] - traf.per_page[p.key]):
            a, b = ours.per_page[page.key], traf.per_page[page.key]
            if abs(a - b) > 0.001 or a < 0.9:
                note = ours_out[page.key].note
                print(f"  {page.key[:40]:<40} ours {a:.3f} trafilatura {b:.3f} {note} {page.url[:70]}")
        for fld, misses in ours.misses.items():
            for miss in misses:
                print(f"  {fld} {miss}"[:300])
    return ours, traf, len(lost)


def main(argv: list[str] | None = None) -> int:
    """Print both extractors' figures per data set and one summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding aeb-dev/ and fundus-dev/")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes (fastest time per page kept)")
    parser.add_argument("--only", choices=("aeb-dev", "fundus-dev"), help="run one data set")
    parser.add_argument("--pages", action="store_true", help="print per-page F1 and field misses")
    args = parser.parse_args(argv)
    loaders = {"aeb-dev": load_aeb, "fundus-dev": load_fundus}
    summary = []
    for name, loader in loaders.items():
        if args.only and name != args.only:
            continue
        folder = args.data / name
        if not folder.is_dir():
            print(f"no benchmark data in {folder}", file=sys.stderr)
            return 2
        ours, traf, lost = bench(name, loader(folder), args.repeat, args.pages)
        fields = "".join(
            f" {label} {value:.3f}/{theirs:.3f}"
            for label, value, theirs in (
                ("title", ours.title, traf.title),
                ("authors", ours.authors, traf.authors),
                ("date", ours.date, traf.date),
            )
            if value is not None and theirs is not None
        )
        summary.append(
            f"{name} F1 {ours.f1:.3f}/{traf.f1:.3f}{fields} lost {lost} "
            f"pages/s {ours.pages_per_s:.1f}/{traf.pages_per_s:.1f}"
        )
    print("SUMMARY (ours/trafilatura) " + " | ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
