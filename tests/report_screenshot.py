"""Make docs/report.png: a week of real runs against the sandbox, then the page in headless
Chromium. ``python -m tests.report_screenshot docs/report.png`` (not a test: it reads the wall
clock, so the dates on the picture are the day it was taken)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from connector.alerts import after_pass
from connector.runner import Options, once
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.operator_support import catalog_rows, drop, export, setup
from tests.report_support import ONLY_NET_PRICES, site_config
from tests.workspace_support import fast_sandbox


def week_of_runs(folder: Path, end: datetime) -> Path:
    with fast_sandbox(price_combinations=ONLY_NET_PRICES) as sb:
        sb.load_catalog(make_catalog(400))
        config = setup(folder, sb, site_config("es-AR"))
        for day in range(7, -1, -1):
            at = end - timedelta(days=day, hours=day % 3)
            sb.add_orders(make_orders(2 + day % 4, start_id=6000 + 10 * day))
            rows = catalog_rows(120 + 37 * (day % 4), bump=day)
            if day % 3 == 1:
                rows.append(("9990001", "1", "5,00"))  # unknown SKU: a rejected row
            drop(config, f"stock-{day}.csv", export(rows))
            if day == 0:
                bad = export(catalog_rows(2)).replace(b"Stock", b"Existencias")
                drop(config, "stock-0800.csv", bad)
                drop(config, "stock-price.csv", export([("0000007", "3", "0,00001")]))
            options = Options(progress=False, now=lambda at=at: at, force_cycles=True)
            options.after_pass = lambda conn, at=at: after_pass(config, conn, at)
            once(config, options)
    return config.report_path


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = week_of_runs(Path(tmp) / "site", datetime.now(UTC))
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or ""
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
            options.add_argument(argument)
        options.add_argument("--window-size=900,1900")
        # explicit paths: without them Selenium Manager goes looking on the internet
        driver = webdriver.Chrome(
            options=options, service=Service(executable_path=shutil.which("chromedriver"))
        )
        try:
            driver.get(page.as_uri())
            driver.save_screenshot(str(target))
        finally:
            driver.quit()
    print(f"wrote {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
