"""The HTML report opens in headless Chromium with no console error, no network request and every section."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ketapain_core.io import read_path
from ketapain_core.report import SECTIONS, ReportInput, build_report

ROOT = Path(__file__).resolve().parents[2]


def test_report_opens_offline_with_every_section(browser, tmp_path, shot):
    trial, report = read_path(ROOT / "data" / "simulated")
    trial = dataclasses.replace(trial, simulated=True)
    path = tmp_path / "report.html"
    path.write_text(build_report(ReportInput(trial, report, "0" * 64)), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6", timeout=30_000)
    for title in SECTIONS:
        assert page.locator(f"#{title.lower().replace(' ', '-')}").count() == 1, title
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []
    shot(page, "report")
    context.close()
