"""Matching benchmark: the compiled bulk matcher beside a naive per-rule regex evaluator.

Run with ``make bench-matching`` (or ``.venv/bin/python tests/bench/matching.py``). For
100, 1,000, 10,000 and 100,000 rules it reports the bulk matcher's build time, the memory
the build added (resident set size, each size measured in a fresh child process so the
figures do not leak into each other) and articles per second through ``RuleSet.match``,
the call the pipeline makes, on generated 3.7 KB articles, one core. Times are the process's
CPU time, so that other work on a shared machine does not count against the matcher.

The naive evaluator compiles one regular expression per term per rule and runs every rule
on every article. It is timed on a sample: all rules on as many articles as fit in a few
seconds, and above 2,000 rules on a random 2,000-rule subset, scaled linearly (its cost is
linear in the number of rules by construction). On every article it timed, it must agree
with the bulk matcher on which queries match; the run stops with an error if not.

Rules are a realistic mix over 40,000 generated companies, drawn with a Zipf law (a few
companies are in many rules, most in few), each an entity with alias lists (names, "X AG",
hyphenated brands, the chief executive): proximity between two companies about an alliance
with NOT exclusions (the seed rule), a company and an incident word list, product phrase
lists, title-only rules, inline alias lists with NOT, ordered proximity to launch words,
and sloppy phrases. Articles are news filler about one to three companies (also
Zipf-drawn) and at most one topic. The last line is one summary of every figure.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.article import Article  # noqa: E402
from monitor.matching.compiled import Matcher  # noqa: E402
from monitor.matching.evaluate import Span, near  # noqa: E402
from monitor.matching.query import Entities, parse  # noqa: E402
from monitor.matching.text import Document  # noqa: E402
from monitor.matching.tree import And, Near, Node, Not, Or, Term  # noqa: E402
from monitor.watch.rules import Rule, RuleSet  # noqa: E402

SIZES = (100, 1_000, 10_000, 100_000)
ARTICLE_BYTES = 3_700
NAIVE_RULE_SAMPLE = 2_000
NAIVE_SECONDS = 4.0
FILLER = ROOT / "tests" / "fixtures" / "rules" / "articles"
_NAMES = (
    "ka ri to ve lan mor dex ul tra no vi sa quen bel zor fa gen ix rho stel mar cor ban del fin",
    "gor hal jun kel lum nar pol rem sol tor val wen yar zen",
    "Anna Lukas Marie Jonas Sofia Elias Mia Noah Lea Paul Clara Felix Ines Hugo",
    "Berger Kovac Moreau Rossi Tanaka Novak Silva Larsen Weber Costa Dubois Kim",
)
SYLLABLES = (_NAMES[0] + " " + _NAMES[1]).split()
FIRST = _NAMES[2].split()
LAST = _NAMES[3].split()
SUFFIXES = ("AG", "Group", "Motors", "Holdings", "SE", "Automotive")
TOPICS = {
    "alliance": 'alliance OR partner* OR "joint venture" OR merger* OR "tie-up"',
    "incident": "recall* OR lawsuit* OR strike OR layoff* OR investigation",
    "launch": "launch* OR unveil* OR reveal* OR debut*",
    "noise": '"Formula 1" OR F1 OR rumor* OR opinion',
}
ARTICLE_TOPICS = (
    "alliance partnership partners merger tie-up",
    "recall lawsuit strike layoffs investigation",
    "launch unveiled reveals debut",
    "rumors opinion",
    "",
    "",
)
WORLD = 40_000


def companies(count: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    """``count`` distinct made-up companies, each with its alias list."""
    seen: set[str] = set()
    result: list[tuple[str, list[str]]] = []
    while len(result) < count:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).capitalize()
        if name in seen:
            continue
        seen.add(name)
        brand = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
        aliases = [name, f"{name} {rng.choice(SUFFIXES)}", f"{name}-{brand}"]
        if rng.random() < 0.5:
            aliases.append(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
        result.append((name, aliases))
    return result


class Zipf:
    """Draws indexes ``0..n-1`` with probability proportional to ``1 / (i + 1) ** s``."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self.cumulative = list(accumulate(1 / (i + 1) ** s for i in range(n)))
        self.rng = rng

    def draw(self) -> int:
        return bisect.bisect(self.cumulative, self.rng.random() * self.cumulative[-1])


def make_rules(
    count: int, world: list[tuple[str, list[str]]], rng: random.Random
) -> tuple[list[Rule], dict[str, list[str]]]:
    """``count`` rules in the mix described in the module docstring, and their entities."""
    pick = Zipf(len(world), 0.9, rng)
    rules: list[Rule] = []
    used: dict[str, list[str]] = {}

    def company() -> str:
        name, aliases = world[pick.draw()]
        used[name] = aliases
        return name

    for index in range(count):
        kind = rng.random()
        a, b = company(), company()
        if kind < 0.25:
            query = f"@{a} NEAR/20 @{b} AND ({TOPICS['alliance']}) -({TOPICS['noise']})"
        elif kind < 0.45:
            query = f"@{a} AND ({TOPICS['incident']})"
        elif kind < 0.60:
            query = f'"{a} {rng.choice(SYLLABLES)}" OR "{a} {rng.choice(SYLLABLES)}x" OR {a}-Tech'
        elif kind < 0.70:
            query = f"title:@{a}"
        elif kind < 0.80:
            query = " OR ".join(f'"{alias}"' for alias in used[a][:3])
            query = f"({query}) AND NOT (rumor* OR opinion)"
        elif kind < 0.90:
            query = f"@{a} ONEAR/5 ({TOPICS['launch']})"
        else:
            query = f'"{a} {b}"~3'
        rules.append(Rule(name=f"rule-{index}", query=query, min_mentions=2 if kind > 0.95 else 1))
    return rules, used


def make_articles(count: int, world: list[tuple[str, list[str]]], rng: random.Random) -> list[Article]:
    """Articles of about 3.7 KB: news filler about one to three companies and one topic."""
    sentences: list[str] = []
    for path in sorted(FILLER.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences.extend(part.strip() + "." for part in re.split(r"[.!?]\s+", text) if len(part) > 40)
    pick = Zipf(len(world), 1.0, rng)
    topics = [words.split() for words in ARTICLE_TOPICS]
    articles = []
    for index in range(count):
        about = [world[pick.draw()][1] for _ in range(rng.randint(1, 3))]
        topic = rng.choice(topics)
        parts: list[str] = []
        while sum(map(len, parts)) < ARTICLE_BYTES:
            sentence = rng.choice(sentences)
            roll = rng.random()
            if roll < 0.15:
                sentence = f"{rng.choice(rng.choice(about))} said: {sentence}"
            elif roll < 0.22 and topic:
                sentence = f"{sentence[:-1]}, a {rng.choice(topic)} for the group."
            parts.append(sentence)
        url = f"https://news.example/{index}"
        articles.append(
            Article(
                url=url,
                canonical_url=url,
                title=f"{about[0][0]} {rng.choice(topic or ['news'])}: {rng.choice(sentences)[:40]}",
                body=" ".join(parts)[: ARTICLE_BYTES + 200],
                authors=(f"{rng.choice(FIRST)} {rng.choice(LAST)}",),
                source="example",
            )
        )
    return articles


class NaiveMatcher:
    """One compiled regex per term per rule, every rule evaluated on every article."""

    def __init__(self, rules: Sequence[Rule], entities: dict[str, list[str]]) -> None:
        table = Entities(entities)
        self.queries = [parse(rule.query, table) for rule in rules]
        self.patterns: dict[Term, re.Pattern[str]] = {}
        for query in self.queries:
            self._compile(query)

    def _compile(self, node: Node) -> None:
        if isinstance(node, Term):
            body = r"\s+".join(re.escape(word) for word in node.words)
            end = r"\w*" if node.prefix else r"(?!\w)"
            self.patterns[node] = re.compile(rf"(?<!\w){body}{end}")
        elif isinstance(node, Not):
            self._compile(node.child)
        elif isinstance(node, Near):
            self._compile(node.left)
            self._compile(node.right)
        else:
            for child in node.children:
                self._compile(child)

    def match(self, article: Article) -> list[int]:
        doc = Document.from_article(article)
        texts = [" ".join(words) for words in doc.segments]
        starts = [list(accumulate((len(w) + 1 for w in words), initial=0)) for words in doc.segments]
        return [index for index, query in enumerate(self.queries) if self._truth(query, doc, texts, starts)]

    def _spans(self, node: Node, doc: Document, texts: list[str], starts: list[list[int]]) -> set[Span]:
        if isinstance(node, Term):
            found: set[Span] = set()
            for seg, field in enumerate(doc.fields):
                if field not in node.fields:
                    continue
                for hit in self.patterns[node].finditer(texts[seg]):
                    start = bisect.bisect_left(starts[seg], hit.start())
                    found.add((seg, start, start + len(node.words)))
            return found
        if isinstance(node, Or):
            return set().union(*(self._spans(child, doc, texts, starts) for child in node.children))
        assert isinstance(node, Near)
        left = self._spans(node.left, doc, texts, starts)
        right = self._spans(node.right, doc, texts, starts)
        return near(left, right, node.distance, node.ordered)

    def _truth(self, node: Node, doc: Document, texts: list[str], starts: list[list[int]]) -> bool:
        if isinstance(node, Term | Near):
            return bool(self._spans(node, doc, texts, starts))
        if isinstance(node, Not):
            return not self._truth(node.child, doc, texts, starts)
        if isinstance(node, And):
            return all(self._truth(child, doc, texts, starts) for child in node.children)
        return any(self._truth(child, doc, texts, starts) for child in node.children)


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def run_size(size: int, articles_count: int, seconds: float, seed: int) -> dict[str, float]:
    """Measure one rule count (run in a child process)."""
    rng = random.Random(seed)
    world = companies(WORLD, rng)
    rules, entities = make_rules(size, world, rng)
    articles = make_articles(articles_count, world, random.Random(seed + 1))
    before = rss_mb()
    started = time.process_time()
    ruleset = RuleSet(rules, entities)
    build = time.process_time() - started
    memory = rss_mb() - before
    for article in articles[:20]:  # warm caches (word normalisation, first allocations)
        ruleset.match(article)
    done = matches = 0
    started = time.process_time()
    while True:
        for article in articles:
            matches += len(ruleset.match(article))
            done += 1
        elapsed = time.process_time() - started
        if elapsed >= seconds:
            break
    fast_rate = done / elapsed

    sample = rules if size <= NAIVE_RULE_SAMPLE else random.Random(seed + 2).sample(rules, NAIVE_RULE_SAMPLE)
    naive = NaiveMatcher(sample, entities)
    naive_done, naive_results, started = 0, [], time.process_time()
    for article in articles:
        naive_results.append(naive.match(article))
        naive_done += 1
        if time.process_time() - started >= NAIVE_SECONDS:
            break
    naive_time = time.process_time() - started
    bulk = Matcher(naive.queries)
    for article, got in zip(articles, naive_results, strict=False):
        expected = bulk.match(Document.from_article(article)).indexes
        if got != expected:
            raise SystemExit(
                f"naive and compiled disagree at {size} rules on {article.url}: {got} != {expected}"
            )
    naive_time = time.process_time() - started
    naive_rate = naive_done / naive_time * len(sample) / size
    return {
        "rules": size,
        "build_s": build,
        "memory_mb": memory,
        "articles_per_s": fast_rate,
        "matches_per_article": matches / done,
        "naive_articles_per_s": naive_rate,
        "naive_rules_timed": len(sample),
        "naive_articles_timed": naive_done,
        "article_bytes": sum(len(a.title) + len(a.body) for a in articles) / len(articles),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--articles", type=int, default=200, help="distinct generated articles")
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum timing per size")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_size(args.child, args.articles, args.seconds, args.seed)))
        return
    print(f"matching benchmark: one core, {args.articles} generated articles, seed {args.seed}")
    columns = ("rules", "build s", "mem MB", "art/s", "match/art", "naive art/s")
    print(
        " ".join(f"{name:>{width}}" for name, width in zip(columns, (8, 8, 7, 8, 9, 12), strict=True)), end=""
    )
    print("  naive sample")
    results = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size), "--articles", str(args.articles)]
        command += ["--seconds", str(args.seconds), "--seed", str(args.seed)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(
            f"{size:>8,} {result['build_s']:>8.2f} {result['memory_mb']:>7.1f} "
            f"{result['articles_per_s']:>8,.0f} {result['matches_per_article']:>9.2f} "
            f"{result['naive_articles_per_s']:>12,.2f}  "
            f"{result['naive_rules_timed']:,} rules x {result['naive_articles_timed']} articles",
            flush=True,
        )
    summary = "; ".join(
        f"{int(r['rules']):,} rules: {r['articles_per_s']:,.0f} art/s"
        f" (naive {r['naive_articles_per_s']:,.2f}), build {r['build_s']:.2f} s, {r['memory_mb']:.1f} MB"
        for r in results
    )
    print(f"SUMMARY {summary}")


if __name__ == "__main__":
    main()
