"""Commands that read files and change nothing: ``check``, ``parse``, ``match``."""

from __future__ import annotations

import gzip
import json
import re
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from monitor.article import Article
from monitor.config.model import Config, ConfigErrors, load_config
from monitor.config.yamlfile import load_yaml
from monitor.errors import ConfigError, ParseError
from monitor.parse import parse_file
from monitor.urls import canonical_url
from monitor.watch.cache import load_rules_cached
from monitor.watch.rules import RuleSet
from monitor.watch.rules import explain as explain_match


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(check)
    main.add_command(parse)
    main.add_command(match)


def _is_rules_file(path: Path) -> bool:
    """A rules file has ``entities:`` or a ``rules:`` list of mappings; monitor.yaml has neither."""
    try:
        root = load_yaml(path)
    except ConfigError:
        return path.name not in ("monitor.yaml", "monitor.yml")
    if not isinstance(root.value, dict):
        return True
    if "entities" in root.value:
        return True
    rules = root.value.get("rules")
    if rules is None:
        return False
    items = rules[1].value
    return isinstance(items, list) and any(isinstance(item.value, dict) for item in items)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def check(state: Any, paths: tuple[Path, ...]) -> None:
    """Validate monitor.yaml and rule files; print every error as file:line:col: message.

    PATHS may be monitor.yaml files, rule files and rule folders. Without PATHS, checks
    the --config file and the rule paths it names. Exit status 1 if any error was found.

    \b
    Example:
      $ monitor check rules/
      rules/acme.yaml:14:9: unknown key 'chanels' in rule (did you mean 'channels'?)
    """
    errors: list[ConfigError] = []
    config: Config | None = None
    rule_paths: list[Path] = []
    config_paths = [path for path in paths if path.is_file() and not _is_rules_file(path)]
    rule_paths = [path for path in paths if path not in config_paths]
    if not paths:
        if not state.config_path.exists():
            raise click.ClickException(f"{state.config_path}: no such file; name the files to check")
        config_paths = [state.config_path]
    for path in config_paths:
        try:
            config = load_config(path, check_channels=True)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        if not paths:
            rule_paths.extend(config.rule_paths)
    if config is None and state.config_path.exists() and state.config_path not in config_paths:
        try:
            config = load_config(state.config_path, check_channels=True)
        except ConfigError:
            config = None  # reported when monitor.yaml itself is checked
    missing = [path for path in rule_paths if not path.exists()]
    errors.extend(ConfigError("rules path does not exist", str(path)) for path in missing)
    rules, rule_errors = load_rules_cached([path for path in rule_paths if path.exists()])
    errors.extend(rule_errors)
    if config is not None:
        errors.extend(_unknown_channels(rules, config))
    for error in errors:
        click.echo(str(error), err=True)
    summary = (
        f"checked {len(config_paths)} config file(s) and {len(rules.rules)} rule(s): {len(errors)} error(s)"
    )
    click.echo(summary, err=bool(errors))
    if errors:
        raise SystemExit(1)


def _unknown_channels(rules: RuleSet, config: Config) -> list[ConfigError]:
    """Rules that name a channel tag monitor.yaml does not define."""
    errors = []
    for rule in rules.rules:
        for tag in rule.channels:
            if tag not in config.channels:
                known = ", ".join(sorted(config.channels)) or "none"
                errors.append(
                    ConfigError(
                        f"rule {rule.name!r} names channel {tag!r}, which {config.path} does not define "
                        f"(defined: {known})",
                        rule.path,
                        rule.line,
                    )
                )
    return errors


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--url", help="The page's address, when the file does not say (used for relative links).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one a line.")
def parse(files: tuple[Path, ...], url: str | None, as_json: bool) -> None:
    """Parse saved HTML pages (.html or .html.gz) into articles and print them.

    \b
    Example:
      $ monitor parse page.html.gz --url https://www.example.com/news/1 --json
      {"file": "page.html.gz", "url": "...", "title": "...", "authors": [...], ...}
    """
    failed = 0
    for path in files:
        try:
            article = parse_file(path, url=url)
        except ParseError as exc:
            failed += 1
            if as_json:
                click.echo(json.dumps({"file": str(path), "error": str(exc)}, ensure_ascii=False))
            else:
                click.echo(f"{path}: {exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps({"file": str(path), **article.to_json()}, ensure_ascii=False))
        else:
            _print_article(path, article)
    if failed:
        raise SystemExit(1)


def _print_article(path: Path, article: Article) -> None:
    data = article.to_json()
    click.echo(f"== {path}")
    for key in ("title", "canonical_url", "published_at", "authors", "language", "site_name"):
        value = data[key]
        if value:
            click.echo(f"{key + ':':15} {', '.join(value) if isinstance(value, list) else value}")
    body = article.body
    click.echo(f"{'body:':15} {len(body.split())} words")
    click.echo(body[:600] + ("..." if len(body) > 600 else ""))
    click.echo()


MAX_JSON_BYTES = 16 * 1024 * 1024  # a JSON article for `monitor match`, after gunzip
MAX_JSON_DEPTH = 20  # arrays and objects nested in one another; an article needs 2
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


class JsonArticleError(ParseError):
    """A JSON article refused at a position: ``str()`` is ``file:line:col: message``."""

    def __init__(self, message: str, path: Path, text: str, offset: int) -> None:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        super().__init__(f"{path}:{line}:{column}: {message}")


def _json_text(path: Path) -> str:
    """The text of a (gzipped) JSON file, at most ``MAX_JSON_BYTES``, read within that bound."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(MAX_JSON_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ParseError(f"cannot read file: {exc}") from None
    if len(raw) > MAX_JSON_BYTES:
        raise ParseError(f"a JSON article may be at most {MAX_JSON_BYTES:,} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc}") from None


def _check_json_depth(path: Path, text: str) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH``, where it goes too deep.

    ``json.loads`` recurses once per level and fails with a ``RecursionError`` somewhere
    near 1,000 levels; counting brackets outside strings first makes that a plain error.
    """
    depth = 0
    for found in _JSON_NESTING.finditer(text):
        token = found.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise JsonArticleError(
                    f"JSON nested deeper than {MAX_JSON_DEPTH} levels", path, text, found.start()
                )
        elif token in "]}":
            depth -= 1


def load_article_file(path: Path) -> Article:
    """An article from an HTML page or a JSON object with title and body."""
    name = path.name.lower()
    if not name.endswith((".json", ".json.gz")):
        return parse_file(path)
    text = _json_text(path)
    _check_json_depth(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc}") from None
    except RecursionError:  # _check_json_depth should make this unreachable
        raise ParseError("not valid JSON: nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("title", ""), str):
        raise ParseError("a JSON article must be an object with 'title' and 'body' strings")
    if not isinstance(data.get("body", ""), str):
        raise ParseError("a JSON article's 'body' must be a string")
    url = str(data.get("url") or "")
    published = data.get("published_at")
    try:
        published_at = datetime.fromisoformat(published.replace("Z", "+00:00")) if published else None
        return Article(
            url=url,
            canonical_url=canonical_url(url) if url else "",
            title=data.get("title") or "",
            body=data.get("body") or "",
            authors=tuple(data.get("authors") or ()),
            published_at=published_at,
            language=data.get("language"),
            source=data.get("source"),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise ParseError(f"bad article field: {exc}") from None


@click.command()
@click.option(
    "--rules",
    "rules_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="A rules file or a folder of them.",
)
@click.argument(
    "articles", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article, one a line.")
@click.option("--explain", is_flag=True, help="Show which terms hit and the matching passage.")
def match(rules_path: Path, articles: tuple[Path, ...], as_json: bool, explain: bool) -> None:
    """Dry run: which rules match these articles? Nothing is stored or sent.

    ARTICLES are HTML pages (.html, .html.gz) or JSON files (.json, .json.gz, at most 16 MB,
    nested at most 20 levels) with "title" and "body" (and optional "url", "source",
    "language", "published_at").

    \b
    Example:
      $ monitor match --rules rules/ story.html --json
      {"file": "story.html", "matches": ["daimler-renault-alliance"]}
    """
    rules, errors = load_rules_cached([rules_path])
    if errors:
        for error in errors:
            click.echo(str(error), err=True)
        raise SystemExit(1)
    failed = 0
    for path in articles:
        try:
            article = load_article_file(path)
        except JsonArticleError as exc:
            failed += 1
            click.echo(str(exc), err=True)
            continue
        except ParseError as exc:
            failed += 1
            click.echo(f"{path}: {exc}", err=True)
            continue
        hits = rules.match(article)
        if as_json:
            record: dict[str, Any] = {"file": str(path), "matches": [hit.rule.name for hit in hits]}
            if explain:
                record["explain"] = [
                    {
                        "rule": hit.rule.name,
                        "terms": list(hit.terms),
                        "mentions": hit.mentions,
                        "hits": [
                            {"field": h.field, "start": h.start, "end": h.end, "term": h.term, "text": h.text}
                            for h in hit.hits
                        ],
                        "snippet": hit.snippet,
                    }
                    for hit in hits
                ]
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        names = ", ".join(hit.rule.name for hit in hits) or "no match"
        click.echo(f"{path}: {names}")
        if explain:
            for hit in hits:
                click.echo(textwrap.indent(explain_match(hit), "  "))
    if failed:
        raise SystemExit(1)
