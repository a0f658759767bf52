"""Data for the desk's tests, the browser tests, the screenshot and ``tests/bench/web.py``.

Articles go in through the real save path (``save_article``, the rules' matcher,
``save_matches``), so stories, matches and alerts are what a crawl would have stored.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.article import Article
from monitor.config.model import Config, load_config
from monitor.crawl.ingest import channels_for
from monitor.store.database import Database, NewMatch, save_article, save_matches
from monitor.watch.rules import RuleSet, load_rules

RULES = """\
entities:
  Daimler: [Daimler, Mercedes-Benz, Dieter Zetsche]
  Renault: [Renault, Nissan, Carlos Ghosn]
rules:
  - name: alliance
    query: '@Daimler NEAR/20 @Renault AND (alliance* OR partner* OR "team up")'
    channels: [alerts]
  - name: electric
    query: 'electric OR battery OR batteries'
    channels: [alerts]
"""

WIRE = (
    "Daimler and Renault-Nissan announced a broad alliance on Wednesday that will see the two "
    "carmakers share small-car platforms, engines and electric drive trains, and swap a few "
    "percent of each other's shares. Dieter Zetsche and Carlos Ghosn said the partnership would "
    "save billions over the next five years and that the next Smart and Twingo would be built "
    "together in France."
)
OTHER = (
    "European new car registrations rose again in March as scrappage incentives kept showrooms "
    "busy in Germany, France and Italy, the industry association said on Thursday, while the "
    "British market recovered for the first time in almost two years and Spain fell back once "
    "more after its own incentive scheme ran out of money for the year."
)
BATTERY = (
    "The Fluence Z.E. electric sedan will launch in Israel and Denmark next year, with a battery "
    "exchange network built by Better Place so that drivers can swap a depleted pack in the time "
    "it takes to fill a tank, the French company said, adding that prices would match the diesel "
    "version once the battery lease was counted."
)


def write_config(folder: Path, database_url: str) -> Config:
    """A monitor.yaml with the test rules and a console channel, loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "desk.yaml").write_text(RULES, encoding="utf-8")
    path = folder / "monitor.yaml"
    path.write_text(
        f"database: {database_url}\nrules:\n  - {rules}\n"
        "sources:\n  - name: wire\n    kind: feed\n    url: http://127.0.0.1:9/feed.xml\n"
        "channels:\n  alerts:\n    - console://\n",
        encoding="utf-8",
    )
    return load_config(path)


def ruleset(config: Config) -> RuleSet:
    """The test rules, loaded from the config's rules folder."""
    rules, errors = load_rules(config.rule_paths)
    assert not errors, errors
    return rules


def make_article(
    slug: str, title: str, body: str, *, site: str = "AutoGuide", source: str = "wire", age_hours: float = 0
) -> Article:
    """An article at ``https://SITE.example/SLUG``, published ``age_hours`` ago."""
    host = site.lower().replace(" ", "")
    published = datetime.now(UTC) - timedelta(hours=age_hours)
    return Article(
        url=f"https://{host}.example/{slug}",
        canonical_url=f"https://{host}.example/{slug}",
        title=title,
        body=body,
        published_at=published,
        language="en",
        site_name=site,
        source=source,
    )


def ingest(database: Database, config: Config, rules: RuleSet, article: Article) -> tuple[int | None, int]:
    """Store ``article`` and its matches as a crawl would: (article id or None, alerts created)."""
    now = datetime.now(UTC)
    with database.transaction() as session:
        saved = save_article(session, article, now)
        if saved is None:
            return None, 0
        found = [
            NewMatch(m.rule.name, m.terms, m.snippet, channels_for(m.rule.channels, config))
            for m in rules.match(article)
        ]
        return saved.id, save_matches(session, saved, found, now)


def seed_desk(database: Database, config: Config) -> dict[str, int]:
    """The alliance story (an original and a copy), a battery story and one unmatched article."""
    rules = ruleset(config)
    ids = {}
    for key, article in (
        (
            "original",
            make_article(
                "daimler-renault", "Daimler, Renault Team Up for Small Car Alliance", WIRE, age_hours=5
            ),
        ),
        (
            "battery",
            make_article(
                "fluence-ze", "Renault Fluence Z.E. Electric Sedan to Launch in Israel", BATTERY, age_hours=3
            ),
        ),
        (
            "other",
            make_article("registrations", "European New Car Registrations Rise in March", OTHER, age_hours=2),
        ),
    ):
        article_id, _alerts = ingest(database, config, rules, article)
        assert article_id is not None
        ids[key] = article_id
    return ids


def add_copy(database: Database, config: Config) -> int:
    """A syndicated copy of the alliance story from another site (the "second crawl")."""
    copy = make_article(
        "daimler-renault-alliance",
        "Report: Daimler and Renault in Small-Car Pact",
        WIRE,
        site="MotorWire",
        age_hours=1,
    )
    article_id, _alerts = ingest(database, config, ruleset(config), copy)
    assert article_id is not None
    return article_id


class DeskServer:
    """The desk app under a real uvicorn on 127.0.0.1 (any free port), in a thread."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> DeskServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
