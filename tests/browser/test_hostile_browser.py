"""Issue [9] in a real browser: a diary whose labels are Markdown, HTML and formulas is shown as text on every
page (no <a>/<b> from the data in plotly's SVG or in the page's Markdown), the audit log downloads with its
events, the HTML report has no element from the data's tags, and a URL value is never a link."""
from __future__ import annotations

import json
from pathlib import Path

from test_hostile_labels import hostile_csv  # noqa: E402

NAV = ["data", "", "time_course", "responders", "sensitivity"]   # url paths of the pages
#: Elements that only markup from the data could make: links outside plotly's mode bar, bold/italic tspans
#: whose whole text is a data label's inner text, KaTeX, and Markdown links/bold in the page.
CHECK = """() => {
  const out = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const a of plot.querySelectorAll('a')) if (!a.closest('.modebar-container')) out.push('plot <a> ' + a.outerHTML.slice(0, 120));
    for (const t of plot.querySelectorAll('tspan')) {
      const st = (t.getAttribute('style') || '');
      if (/bold/.test(st) && ['x', 'Arm B'].includes(t.textContent)) out.push('plot bold ' + t.textContent);
    }
  }
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  for (const a of main.querySelectorAll('[data-testid="stMarkdownContainer"] a, [data-testid="stAlert"] a'))
    if (/127\\.0\\.0\\.1|javascript:|www\\.|phish/.test(a.getAttribute('href') || '')) out.push('md <a> ' + a.outerHTML.slice(0, 120));
  for (const el of main.querySelectorAll('[data-testid="stMarkdownContainer"] strong, [data-testid="stMarkdownContainer"] b'))
    if (['x', 'Arm B'].includes(el.textContent)) out.push('md bold ' + el.textContent);
  if (main.querySelector('.katex')) out.push('katex');
  return out;
}"""


def goto_page(page, idle, path: str) -> None:
    """Through the sidebar's navigation (the same session: a new URL would start a new one)."""
    links = page.locator('a[data-testid="stSidebarNavLink"]')
    links.filter(has=page.locator(f'xpath=self::*[substring(@href, string-length(@href) - {len(path)}) = "/{path}"]')).first.click()
    page.wait_for_timeout(300)
    idle(page, timeout=60_000)


def test_hostile_labels_render_as_text_and_logs_download(server, page, idle, shot, tmp_path):
    page.goto(server)
    idle(page, timeout=60_000)
    goto_page(page, idle, "data")
    path = tmp_path / "diary.csv"
    path.write_bytes(hostile_csv())
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    page.get_by_text("In use: your upload", exact=False).first.wait_for(timeout=60_000)
    idle(page, timeout=60_000)
    for title in NAV:
        goto_page(page, idle, title)
        assert page.locator('[data-testid="stException"]').count() == 0, title
        plots = page.locator(".js-plotly-plot").count()
        assert plots > 0, title
        assert page.evaluate(CHECK) == [], title
        # the labels still read as they are (plotly decodes the entities)
        svg_text = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p.textContent).join(' ')")
        assert any(lab in svg_text for lab in ("<b>Arm B</b>", "<b>x</b>", "=HYPERLINK")), title
        # Streamlit's own table toolbar offers no CSV download (formula cells would go out raw)
        frames = page.locator('[data-testid="stDataFrame"]:visible')
        if frames.count():
            frames.first.hover(timeout=10_000)
            page.wait_for_timeout(200)
            assert page.locator('[data-testid="stElementToolbar"]:visible').count() > 0, title
            assert page.get_by_role("button", name="Download as CSV").count() == 0, title
    shot(page, "hostile_sensitivity")
    assert page.js_errors == []

    goto_page(page, idle, "report")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the audit log (JSON)").click()
    doc = json.loads(Path(info.value.path()).read_text())
    assert len(doc["events"]) >= 2 and {e["event"] for e in doc["events"]} >= {"data", "settings"}
    assert any(e.get("files") == ["diary.csv"] for e in doc["events"] if e["event"] == "data")

    page.get_by_role("button", name="Build the report").click()
    button = page.get_by_role("button", name="Download report.html")
    button.wait_for(timeout=120_000)
    with page.expect_download() as info:
        button.click()
    report = page.context.new_page()
    report.set_content(Path(info.value.path()).read_text(encoding="utf-8"))
    report.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4", timeout=60_000)
    bad = report.evaluate("""() => {
      const out = [];
      for (const a of document.querySelectorAll('a')) {
        if (a.closest('.modebar-container')) continue;
        const h = a.getAttribute('href') || '';
        if (!h.startsWith('#')) out.push(a.outerHTML.slice(0, 120));
      }
      for (const el of document.querySelectorAll('b, strong, tspan'))
        if (['x', 'Arm B'].includes(el.textContent) && (el.tagName !== 'tspan' || /bold/.test(el.getAttribute('style') || '')))
          out.push(el.tagName + ' ' + el.textContent);
      return out; }""")
    assert bad == []
    assert "<b>Arm B</b>" in report.evaluate("() => document.body.innerText")
    report.close()


def test_url_value_in_a_notice_is_not_a_link(server, page, idle):
    page.goto(f"{server}/?ref=http://127.0.0.1:9/phish")
    idle(page, timeout=60_000)
    page.get_by_text("is not among the arms", exact=False).first.wait_for(timeout=30_000)
    assert page.evaluate(CHECK) == []
    assert page.locator('a[href*="phish"]').count() == 0
