"""The desk in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

Clicks through inbox → story → mute, rule → backtest, outbox → retry, as an analyst
would. Skipped when Chromium is absent, unless ``MONITOR_REQUIRE_SERVICES=1`` (CI, whose
``.ci/run`` installs it): then its absence fails the tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from webdesk import DeskServer, seed_desk, write_config

from monitor.store.database import Database
from monitor.store.models import AlertRow, ArticleRow, StoryMark
from monitor.web.app import create_app

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        message = f"headless Chromium not installed ({CHROMIUM}, {DRIVER}): apt-get install chromium-driver"
        if os.environ.get("MONITOR_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (MONITOR_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=420,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[str, Database, dict[str, int]]]:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    config = write_config(tmp_path, url)
    database = Database.open(url)
    ids = seed_desk(database, config)
    try:
        with DeskServer(create_app(config, database)) as server:
            yield server.url, database, ids
    finally:
        database.close()


def follow(browser, element) -> None:
    """Click ``element`` and wait for the page it leads to: the old page's elements go stale.

    A click on a link or a form button returns before the browser has the next page; reading
    the page at once could read the old one, or an element the navigation is replacing.
    """
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = browser.find_element("tag name", "html")
    element.click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(old_page))
    WebDriverWait(browser, 10).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def test_inbox_story_mute(browser, desk) -> None:
    from selenium.webdriver.common.by import By

    url, database, ids = desk
    with database.transaction() as session:
        story = session.get_one(ArticleRow, ids["original"]).story_id
    browser.get(url + "/")
    follow(browser, browser.find_element(By.LINK_TEXT, "Daimler, Renault Team Up for Small Car Alliance"))
    assert browser.current_url == f"{url}/stories/{story}"
    follow(browser, browser.find_element(By.ID, "mute"))
    assert "no more alerts" in browser.find_element(By.CSS_SELECTOR, "p.meta").text
    with database.transaction() as session:
        assert session.get_one(StoryMark, story).muted_at is not None
    follow(browser, browser.find_element(By.ID, "nav-inbox"))
    titles = [element.text for element in browser.find_elements(By.CSS_SELECTOR, "article.story h2")]
    assert "Daimler, Renault Team Up for Small Car Alliance" not in titles
    assert titles == ["Renault Fluence Z.E. Electric Sedan to Launch in Israel"]


def test_rule_backtest(browser, desk) -> None:
    from selenium.webdriver.common.by import By

    url, database, _ids = desk
    browser.get(url + "/rules")
    follow(browser, browser.find_element(By.LINK_TEXT, "electric"))
    assert browser.find_element(By.CSS_SELECTOR, "svg.chart")
    with database.transaction() as session:
        before = session.scalar(select(AlertRow.id).order_by(AlertRow.id.desc()))
    follow(browser, browser.find_element(By.ID, "backtest"))
    assert browser.find_element(By.ID, "backtest-hits").text == "2"
    assert "Nothing has been sent" in browser.find_element(By.ID, "backtest-result").text
    with database.transaction() as session:
        assert session.scalar(select(AlertRow.id).order_by(AlertRow.id.desc())) == before  # nothing written


def test_outbox_retry(browser, desk) -> None:
    from selenium.webdriver.common.by import By

    url, database, _ids = desk
    with database.transaction() as session:
        alert = session.scalars(select(AlertRow.id).order_by(AlertRow.id)).first()
        session.execute(
            update(AlertRow).where(AlertRow.id == alert).values(status="failed", last_error="HTTP 503")
        )
    browser.get(url + "/outbox")
    follow(browser, browser.find_element(By.ID, "tab-failed"))
    follow(browser, browser.find_element(By.ID, f"retry-{alert}"))
    assert "No alerts failed" in browser.find_element(By.TAG_NAME, "tbody").text
    with database.transaction() as session:
        assert session.get_one(AlertRow, alert).status == "pending"
