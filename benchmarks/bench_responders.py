"""Responders against chance (issue [13]): the core's cost per settings change, and the Responders page's
rerun after a settings change (Streamlit AppTest, in-process) and in a real browser (headless Debian Chromium).

    python benchmarks/bench_responders.py [--repeats 5] [--no-browser] [--patients 200]

Core: the re-randomization (B = 10,000) of every count at day 7, 35 and the paper's horizons, the whole
responder analysis without and with the predictor tests, and the same on a larger simulated trial. Page:
"cold" is the first rerun with a new missing-data policy (computed, then cached on data + settings), "warm" a
rerun with settings seen before; the closer-look views are switched the same way. Targets (issue [11]): a warm
switch <= 400 ms on every page.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGE = "pages/responders.py"


def _ms(f, n: int = 3) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def core(patients: int) -> None:
    from ketapain_core.analysis import AnalysisSettings, analyze
    from ketapain_core.io import read_path
    from ketapain_core.responder_predictors import predictors
    from ketapain_core.responders import chance_counts, responder_analysis
    from ketapain_core.schema import BUNDLED_DATA
    from ketapain_core.simulate import ketapain_preset, simulate_trial

    trial, _ = read_path(str(BUNDLED_DATA))
    s = AnalysisSettings()
    a = analyze(trial.diary, s, interaction_test=False)
    t = a.auc.table
    print(f"core, bundled trial (20 patients), B = 10,000, best of 3:")
    print(f"  chance_counts, 3 tables:                       {_ms(lambda: chance_counts({7: t, 21: t, 35: t})):7.0f} ms")
    print(f"  responder_analysis without predictors:          "
          f"{_ms(lambda: responder_analysis(trial.diary, s, trial.patients, analysis=a, include_predictors=False)):7.0f} ms")
    r = responder_analysis(trial.diary, s, trial.patients, analysis=a, include_predictors=False)
    print(f"  predictors (19 characteristics x 2 arms):      "
          f"{_ms(lambda: predictors(r.bands, trial.patients, permutations=10_000, seed=1)):7.0f} ms")
    big = simulate_trial(dataclasses.replace(ketapain_preset(), patients=patients), seed=3)
    ab = analyze(big.diary, s, interaction_test=False)
    print(f"core, simulated trial of {patients} patients, B = 10,000:")
    print(f"  responder_analysis without predictors:          "
          f"{_ms(lambda: responder_analysis(big.diary, s, big.patients, analysis=ab, include_predictors=False), 1):7.0f} ms")


def server_side(repeats: int) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page(PAGE)
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    assert not at.exception, at.exception
    cold = []
    for pol in ("complete", "interpolate", "locf"):
        at.sidebar.radio(key="policy").set_value(pol)
        t0 = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - t0)
    warm = []
    for i in range(repeats):
        at.sidebar.radio(key="policy").set_value(("complete", "locf")[i % 2])
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
    views = {}
    for v in ("noise", "keeps", "predicts", "chance", "noise", "keeps", "predicts", "chance"):
        at.radio(key="responder_view").set_value(v)
        t0 = time.perf_counter()
        at.run()
        views.setdefault(v, []).append(time.perf_counter() - t0)
    assert not at.exception, at.exception
    print("AppTest (in-process; skips Streamlit's post-script GC, under-reports server CPU):")
    print(f"  first render {first * 1000:.0f} ms; policy switch cold {statistics.median(cold) * 1000:.0f} ms "
          f"(median of 3 new policies), warm median {statistics.median(warm) * 1000:.0f} ms, max "
          f"{max(warm) * 1000:.0f} ms")
    print("  closer-look view, first / second switch: "
          + "; ".join(f"{v} {t[0] * 1000:.0f} / {t[1] * 1000:.0f} ms" for v, t in views.items()))


def browser(repeats: int) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, stop_server, wait_idle
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_server(port)
    js = """(before) => { const el = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
                           .find(e => e.innerText.includes('would by chance, 5-95% range'));
                         return el && el.innerText !== before; }"""
    get = """() => { const el = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
                      .find(e => e.innerText.includes('would by chance, 5-95% range'));
                    return el ? el.innerText : ''; }"""
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/responders")
            page.wait_for_function(f"() => ({get})().length > 0", timeout=180_000)
            wait_idle(page, timeout=180_000)
            print(f"browser first render of the Responders page: {(time.perf_counter() - t0) * 1000:.0f} ms")
            side = page.locator('[data-testid="stSidebar"]')
            times: dict[str, list[float]] = {"cold": [], "warm": []}
            labels = ["Complete case", "LOCF"]
            for i in range(2 * repeats):
                before = page.evaluate(get)
                t0 = time.perf_counter()
                side.get_by_text(labels[i % 2], exact=True).click()
                page.wait_for_function(js, arg=before, timeout=120_000)
                dt = time.perf_counter() - t0
                wait_idle(page)
                times["cold" if i == 0 else "warm"].append(dt)
            b.close()
    finally:
        stop_server(proc)
    print(f"browser click -> updated counts against chance, LOCF -> complete case: first "
          f"{times['cold'][0] * 1000:.0f} ms; then median {statistics.median(times['warm']) * 1000:.0f} ms, max "
          f"{max(times['warm']) * 1000:.0f} ms over {len(times['warm'])} toggles")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    with open("/proc/loadavg") as fh:
        print(f"load average at start: {fh.read().split()[0]}")
    core(args.patients)
    server_side(args.repeats)
    if not args.no_browser and Path("/usr/bin/chromium").exists():
        browser(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
