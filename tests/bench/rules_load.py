"""Rule loading benchmark: reading 20,000 rules from YAML, cold and from the rule cache.

Run with ``.venv/bin/python tests/bench/rules_load.py [--rules 20000]``. It writes one rules
file in the shape of ``tests/bench/matching.py``'s rule mix (entities with alias lists,
rules with channels) to a temporary folder and reports CPU seconds for: composing the YAML
with positions through libyaml's parser (what ``load_yaml`` uses when PyYAML has libyaml)
and through the pure-Python parser (the fallback), ``read_rule_files`` (YAML plus
validation), ``load_rules`` cold (plus compiling the matcher), and ``load_rules_cached``
when its entry exists (what every crawl, dispatch and ``monitor check`` pays while the
files are unchanged).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from matching import WORLD, companies, make_rules  # noqa: E402

from monitor.config import yamlfile  # noqa: E402
from monitor.watch.cache import load_rules_cached  # noqa: E402
from monitor.watch.rulefile import read_rule_files  # noqa: E402
from monitor.watch.rules import load_rules  # noqa: E402


def write_rules(path: Path, count: int, seed: int) -> None:
    """``count`` rules of the benchmark mix, with the entities they use, as one YAML file."""
    rng = random.Random(seed)
    rules, entities = make_rules(count, companies(WORLD, rng), rng)
    document = {
        "entities": entities,
        "rules": [
            {
                "name": rule.name,
                "query": rule.query,
                "channels": ["alerts"],
                **({"min_mentions": rule.min_mentions} if rule.min_mentions > 1 else {}),
            }
            for rule in rules
        ],
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100), "utf-8")


def cpu(function: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of one call, and its result."""
    started = time.process_time()
    result = function()
    return time.process_time() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "rules" / "bench.yaml"
        path.parent.mkdir()
        write_rules(path, args.rules, args.seed)
        text = path.read_text("utf-8")
        figures: dict[str, float] = {}
        if yamlfile.FAST:
            figures["yaml_libyaml"], _ = cpu(lambda: yamlfile._compose(text, str(path), fast=True))
        figures["yaml_python"], _ = cpu(lambda: yamlfile._compose(text, str(path), fast=False))
        figures["read_rule_files"], found = cpu(lambda: read_rule_files([path]))
        assert len(found.rules) == args.rules
        assert not found.errors
        figures["load_rules_cold"], _ = cpu(lambda: load_rules([path]))
        cache = Path(work) / "cache"
        cache.mkdir(mode=0o700)
        load_rules_cached([path], cache)  # writes the entry
        figures["load_rules_cached"], (rules, _) = cpu(lambda: load_rules_cached([path], cache))
        assert len(rules) == args.rules
    print(f"{args.rules:,} rules, {len(text.encode()) / 1e6:.1f} MB of YAML, libyaml: {yamlfile.FAST}")
    print("summary: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in figures.items()))


if __name__ == "__main__":
    main()
