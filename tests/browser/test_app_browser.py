"""The running app in headless Chromium: every page renders with no exception, the missing-data switch
updates the model output, a shared URL restores the view. Screenshots go to tests/browser/screenshots/."""
from __future__ import annotations

import time

import pytest

PAGES = {  # url path -> a text the page must show
    "": "Crossover mixed model",
    "data": "Validation",
    "time_course": "Mean daily",
    "responders": "Responders",
    "sensitivity": "Sensitivity",
    "baseline": "Participant flow",
    "questionnaires": "Questionnaires (Table 3)",
    "safety": "Extra analgesics (Table 4)",
    "methods": "Methods",
}


def omnibus_text(page) -> str:
    return page.get_by_text("Omnibus test of treatment", exact=False).first.inner_text()


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders_without_exception(server, page, idle, shot, path):
    page.goto(f"{server}/{path}")
    idle(page, timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text(PAGES[path], exact=False).count() > 0
    assert page.get_by_text("SIMULATED", exact=False).count() > 0
    shot(page, f"page_{path or 'primary'}")
    assert page.js_errors == []


def test_missing_data_switch_updates_the_model_output(server, page, idle, shot):
    page.goto(server)
    idle(page, timeout=60_000)
    before = omnibus_text(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    t0 = time.perf_counter()
    sidebar.get_by_text("Complete case", exact=True).click()
    page.wait_for_function(
        """(before) => { const el = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
                           .find(e => e.innerText.includes('Omnibus test of treatment'));
                         return el && el.innerText !== before; }""", arg=before, timeout=30_000)
    elapsed = time.perf_counter() - t0
    idle(page)
    after = omnibus_text(page)
    assert after != before
    assert "missing=complete" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "primary_complete_case")
    print(f"\nclick-to-updated-table: {elapsed * 1000:.0f} ms")


def test_url_restores_the_view(server, page, idle):
    page.goto(f"{server}/?missing=complete&horizon=7")
    idle(page, timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    # widgets are painted a moment after the script reports it has finished
    sidebar.locator('input[type="radio"]').first.wait_for(state="attached", timeout=30_000)
    page.wait_for_function("""() => document.querySelectorAll(
        '[data-testid="stSidebar"] label input[type="radio"]:checked').length >= 2""", timeout=30_000)
    checked = sidebar.locator('label:has(input[type="radio"]:checked)')
    labels = [checked.nth(i).inner_text() for i in range(checked.count())]
    assert any("Complete case" in t for t in labels), labels
    assert page.get_by_text("days 1-7", exact=False).count() > 0
