"""The report in a real headless Chromium (Debian's package, driven by Selenium): it loads
with no console error and no network request, shows the figures of a sandbox run and its
charts, and shows hostile names as text. Also takes the screenshot kept in docs/."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.report_support import (
    HOSTILE_BUYER,
    HOSTILE_FILE,
    HOSTILE_HEADER,
    NOON,
    busy_site,
    page_of,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1000,1400")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def requests_made(driver: webdriver.Chrome) -> list[str]:
    """URLs the page asked for, from Chromium's DevTools network events."""
    urls = []
    for entry in driver.get_log("performance"):
        event: dict[str, Any] = json.loads(entry["message"])["message"]
        if event.get("method") == "Network.requestWillBeSent":
            urls.append(str(event["params"]["request"]["url"]))
    return urls


def test_the_page_in_a_real_browser(tmp_path: Path, browser: webdriver.Chrome) -> None:
    config = busy_site(tmp_path / "site", locale="es-AR")
    page_of(config, NOON)
    url = config.report_path.as_uri()
    browser.get_log("performance")  # drop what came before
    browser.get(url)
    assert browser.title == "Informe del conector"
    # no console error, no request but the page itself
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert requests_made(browser) == [url]
    # the figures a person reads
    def figure(attribute: str, key: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f'td[data-{attribute}="{key}"]').text

    expected = {"files_failed_n": "1", "rejected": "1", "refused_n": "40", "orders_written": "3"}
    for key, value in expected.items():
        assert figure("last", key) == value, key
    headline = browser.find_element(By.CSS_SELECTOR, "section.headline").text
    assert headline.startswith("1 archivo(s) con error desde el")
    refusals = browser.find_element(By.ID, "refusals").text
    assert "Combinación de precios no permitida: PriceWithTaxes" in refusals
    # four charts, drawn, each with its text alternative
    charts = browser.find_elements(By.CSS_SELECTOR, "svg[role=img]")
    assert len(charts) == 4
    for chart in charts:
        assert chart.size["width"] > 200 and chart.size["height"] > 50
        assert chart.find_elements(By.CSS_SELECTOR, "rect")
        assert chart.find_element(By.CSS_SELECTOR, "desc").get_attribute("textContent")
    # hostile names are text: shown literally, no element of theirs exists, nothing ran
    failed = browser.find_element(By.ID, "failed-files").text
    assert HOSTILE_FILE in failed and HOSTILE_HEADER in failed
    assert HOSTILE_BUYER in browser.find_element(By.ID, "orders").text
    assert browser.find_elements(By.CSS_SELECTOR, "script, img, iframe, object") == []
    # readable on a phone: no sideways scrolling of the page itself
    browser.set_window_size(390, 844)
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1
    browser.set_window_size(1000, 1400)
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
