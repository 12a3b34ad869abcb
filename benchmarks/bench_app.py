"""AppTest script time of each page after a settings change (Streamlit AppTest, in-process), and a quick real
browser check (headless Debian Chromium) from the click to the updated table.

    python benchmarks/bench_app.py [--repeats 5] [--no-browser] [--quick]

These are NOT server times. AppTest runs the page script in this process and skips what a real server does
around it (the post-script work, serialising and sending the messages over the websocket), so it under-reports a
server's CPU per switch several times. What a user waits for and what a switch costs the server are measured by
``benchmarks/bench_browser.py`` (a real ``streamlit run`` process, CPU from /proc) and ``benchmarks/load_class.py``.
Use this script to compare the pages' own script work.

For each page: the first render, then alternating the missing-data policy LOCF <-> complete case. "cold" is
the first rerun with a new setting (core work computed, then cached); "warm" a rerun with settings seen before
(served from st.cache_data).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ["pages/data.py", "pages/primary.py", "pages/time_course.py", "pages/responders.py",
         "pages/sensitivity.py", "pages/methods.py"]
POLICIES = ["complete", "interpolate", "locf"]


def server_side(repeats: int) -> None:
    from streamlit.testing.v1 import AppTest

    print("AppTest script time (in-process; not server CPU: see bench_browser.py)")
    print(f"{'page':<22} {'first ms':>9} {'cold ms':>8} {'warm median ms':>15} {'warm max ms':>12}")
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page(page)
        t0 = time.perf_counter()
        at.run()
        first = time.perf_counter() - t0
        assert not at.exception, at.exception
        cold = []
        for pol in POLICIES:  # each policy once: computed then cached
            at.sidebar.radio(key="policy").set_value(pol)
            t0 = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - t0)
        warm = []
        for i in range(repeats):
            at.sidebar.radio(key="policy").set_value(POLICIES[i % 2])
            t0 = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
        print(f"{page:<22} {first * 1000:9.0f} {max(cold[:2]) * 1000:8.0f} {statistics.median(warm) * 1000:15.0f} "
              f"{max(warm) * 1000:12.0f}")


def browser(repeats: int) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, stop_server, wait_idle
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_server(port)
    js = """(before) => { const el = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
                           .find(e => e.innerText.includes('Omnibus test of treatment'));
                         return el && el.innerText !== before; }"""
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            wait_idle(page, timeout=120_000)
            print("browser (quick check; see bench_browser.py) first render of the Primary page: "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms")
            side = page.locator('[data-testid="stSidebar"]')
            times = {"cold": [], "warm": []}
            labels = ["Complete case", "LOCF"]
            for i in range(2 * repeats):
                before = page.get_by_text("Omnibus test of treatment").first.inner_text()
                t0 = time.perf_counter()
                side.get_by_text(labels[i % 2], exact=True).click()
                page.wait_for_function(js, arg=before, timeout=60_000)
                dt = time.perf_counter() - t0
                wait_idle(page)
                times["cold" if i == 0 else "warm"].append(dt)
            b.close()
    finally:
        stop_server(proc)
    print(f"browser click -> updated table, LOCF -> complete case: first {times['cold'][0] * 1000:.0f} ms; "
          f"then median {statistics.median(times['warm']) * 1000:.0f} ms, max {max(times['warm']) * 1000:.0f} ms "
          f"over {len(times['warm'])} toggles")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--quick", action="store_true", help="3 repeats, no browser")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.no_browser = 3, True
    server_side(args.repeats)
    if not args.no_browser and Path("/usr/bin/chromium").exists():
        browser(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
