"""Issue [14] in headless Chromium: no request beyond the app's own server on any page; an upload survives a
reload; imputed days are drawn in their own colour and shape; figures save as SVG; the modebar does not cover a
figure's title at phone width; key results are real HTML tables."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["", "data", "time_course", "responders", "sensitivity", "baseline", "questionnaires", "safety",
         "methods", "report"]


def _foreign(server: str, urls: list[str]) -> list[str]:
    own = urlparse(server).netloc
    return [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != own]


SHOTS = Path(os.environ.get("KETAPAIN_SHOTS", "/tmp/ketapain_shots"))


@pytest.mark.parametrize("path", PAGES)
def test_no_request_beyond_the_app_server(server, page, idle, path):
    """Every page: no request (HTTP, WebSocket) to any host but the app's own; a full-page screenshot."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.goto(f"{server}/{path}")
    idle(page, timeout=90_000)
    page.wait_for_timeout(800)              # late font / icon loads
    assert _foreign(server, requests) == []
    assert page.locator('[data-testid="stException"]').count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{path or 'primary'}.png"), full_page=True)


def test_upload_survives_a_reload(server, page, idle):
    page.goto(f"{server}/data")
    idle(page, timeout=90_000)
    page.locator('input[type="file"]').first.set_input_files(str(ROOT / "data" / "templates" / "diary_template.csv"))
    page.wait_for_function("() => location.search.includes('upload=')", timeout=60_000)
    idle(page, timeout=90_000)
    url = page.url
    assert "data=upload" in url
    page.reload()
    idle(page, timeout=90_000)
    assert "upload=" in page.url
    assert page.get_by_text("diary_template.csv", exact=False).count() > 0
    assert page.get_by_text("SIMULATED DATA", exact=False).count() == 0


def test_imputed_days_visible_and_svg_export(server, page, idle):
    page.goto(f"{server}/responders?patient=P02")          # P02 has 11 days filled by LOCF
    idle(page, timeout=90_000)
    chart = page.locator('[data-testid="stPlotlyChart"]').last
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    # the imputed markers are filled vermillion hourglasses, drawn in the plot and in the legend
    found = chart.evaluate("""el => {
        const gd = el.querySelector('.js-plotly-plot');
        const tr = gd.data.find(t => (t.name || '').startsWith('imputed'));
        const leg = [...el.querySelectorAll('.legend .traces')].filter(t => t.textContent.includes('imputed'))
                      .map(t => t.querySelector('path.scatterpts').style.fill);
        return {symbol: tr && tr.marker.symbol, n: tr && tr.x.length, legend: leg,
                svg: gd._context.toImageButtonOptions.format}; }""")
    assert found["symbol"] == "hourglass" and found["n"] > 0
    assert found["legend"] and all(f.replace(" ", "") == "rgb(213,94,0)" for f in found["legend"]), found
    assert found["svg"] == "svg"


def test_modebar_does_not_cover_titles_on_a_phone(browser, server, idle):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(f"{server}/time_course")
    idle(page, timeout=90_000)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    page.wait_for_timeout(400)
    boxes = chart.evaluate("""el => { const r = e => e && e.getBoundingClientRect();
        const m = r(el.querySelector('.modebar')), t = r(el.querySelector('.gtitle'));
        return m && t ? {m: [m.left, m.top, m.right, m.bottom], t: [t.left, t.top, t.right, t.bottom]} : null; }""")
    ctx.close()
    if boxes:
        (ml, mt, mr, mb), (tl, tt, tr, tb) = boxes["m"], boxes["t"]
        overlap = not (mr <= tl or tr <= ml or mb <= tt or tb <= mt)
        assert not overlap, boxes


def test_key_results_as_real_html_tables(server, page, idle):
    page.goto(f"{server}/?section=Mixed+model")
    idle(page, timeout=90_000)
    # built when opened (issue [11]): open every "same table as text" expander, one rerun each
    boxes = page.locator('[data-testid="stExpander"] summary', has_text="The same table as text")
    n = boxes.count()
    assert n >= 4
    for i in range(n):
        boxes.nth(i).click()
        idle(page, timeout=90_000)
    tables = page.locator("table.kp-table")
    assert tables.count() >= 4
    heads = page.evaluate("() => [...document.querySelectorAll('table.kp-table th')].map(e => e.textContent)")
    assert "P (Sidak)" in heads and "ci_low" not in heads
    cells = " ".join(page.evaluate("() => [...document.querySelectorAll('table.kp-table td')].map(e => e.textContent)"))
    assert "None" not in cells and "nan" not in cells
