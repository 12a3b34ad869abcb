"""Load test: concurrent headless Chromium sessions against a local ``streamlit run app.py`` (loopback only).

    python benchmarks/load.py                         # 1, 5, 10 and 20 concurrent sessions
    python benchmarks/load.py --sessions 1 5 10       # chosen levels
    python benchmarks/load.py --cycles 200            # open/close cycles, memory every 20 cycles
    python benchmarks/load.py --sessions --cycles 60 --cycle-upload   # cycles that each upload a new file

Concurrent mode: for each level N, N browser contexts (separate Streamlit sessions, one Chromium) at once:

1. open the Data page (bundled data)                         -> "first render" time (page loaded, script run
                                                                  finished, the file uploader on screen)
2. upload the session's own small generated diary (arms named after the session) -> "upload" time
3. go to the Primary endpoint page                           -> "page switch" time
4. switch the missing-data policy to complete case            -> "rerun" time (click to the page repainted
                                                                  with the new setting in the URL)
5. check the page shows only this session's own arms (isolation) and no exception.

Printed per level: p50 / p95 of each time, failures, and the server's RSS (from /proc/PID/status) at the start,
peak (sampled every 0.1 s) and end (all sessions closed, after a 2 s pause).

Cycle mode: one session at a time opens the app, waits for the first render (optionally uploads a distinct
file and waits for the analysis), then closes; RSS is printed every 20 cycles. Streamlit keeps a disconnected
session (its state and uploaded files) for ``server.disconnectedSessionTTL`` (120 s by default) and the caches
are bounded (ui/cache.py ``max_entries``), so memory should rise for the first minutes and then level off.

Everything is bounded: fixed levels, a fixed number of cycles, timeouts on every wait; the server is stopped
at the end. The server binds to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, stop_server  # noqa: E402
from conftest import start_server as _start_server  # noqa: E402

TIMEOUT_MS = 180_000

IDLE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return a && a.getAttribute('data-test-connection-state') === 'CONNECTED'
           && a.getAttribute('data-test-script-state') === 'notRunning'
           && document.querySelectorAll('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]').length === 0
           && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg')); }"""
READY_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return a && a.getAttribute('data-test-connection-state') === 'CONNECTED'
           && a.getAttribute('data-test-script-state') === 'notRunning'
           && document.querySelector('[data-testid="stFileUploader"] input[type="file"]') !== null; }"""
OMNIBUS_JS = """() => { const el = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
  .find(e => e.innerText.includes('Omnibus test of treatment')); return el ? el.innerText : null; }"""


# ---- server ------------------------------------------------------------------------------------------------------
def start_server(port: int, extra: list[str]) -> subprocess.Popen:
    return _start_server(port, extra, timeout=90, quiet=True)


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class RssSampler:
    """Samples the server's RSS every 0.1 s in a thread; ``peak`` since the last reset."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_mib(self.pid))

    def reset(self) -> None:
        self.peak = rss_mib(self.pid)

    def stop(self) -> None:
        self._stop.set()
        self._t.join(2)


# ---- data ----------------------------------------------------------------------------------------------------------
def session_file(tag: str, patients: int = 12, days: int = 35, seed: int = 0) -> bytes:
    """A small valid diary whose arms are named after the session (``<tag>-Placebo``, ``<tag>-Drug``), with
    one missing day in about a fifth of the patient-periods."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arms = (f"{tag}-Placebo", f"{tag}-Drug")
    out = io.StringIO()
    out.write("patient,period,treatment,day,pain_average\n")
    for i in range(patients):
        seq = arms if i % 2 == 0 else arms[::-1]
        level = rng.normal(5, 1)
        for per, arm in enumerate(seq, 1):
            eff = -1.0 if arm.endswith("Drug") else 0.0
            for d in range(1, days + 1):
                v = min(10, max(0, round(level + eff + rng.normal(0, 1.2))))
                if (i + per) % 5 == 0 and d == 10:  # a few missing days, so complete case differs from LOCF
                    v = ""
                out.write(f"{i + 1:03d},{per},{arm},{d},{v}\n")
    return out.getvalue().encode()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(q * (len(v) - 1))))
    return v[k]


# ---- one session -------------------------------------------------------------------------------------------------
async def wait_idle(page) -> None:
    await page.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS, polling=100)


async def one_session(browser, base: str, tag: str, seed: int, times: dict[str, list[float]],
                      failures: list[str]) -> None:
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    try:
        t0 = time.perf_counter()
        await page.goto(f"{base}/data", timeout=TIMEOUT_MS)
        await page.wait_for_function(READY_JS, timeout=TIMEOUT_MS, polling=100)  # script done, uploader shown
        times["first render"].append(time.perf_counter() - t0)
        await wait_idle(page)

        t0 = time.perf_counter()
        await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": "diary.csv", "mimeType": "text/csv", "buffer": session_file(tag, seed=seed)}])
        await page.get_by_text("your upload", exact=False).first.wait_for(timeout=TIMEOUT_MS)
        await wait_idle(page)
        times["upload"].append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await page.locator('[data-testid="stSidebarNavLink"]', has_text="Primary endpoint").first.click()
        await page.wait_for_function(OMNIBUS_JS, timeout=TIMEOUT_MS, polling=100)
        await wait_idle(page)
        times["page switch"].append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await page.locator('[data-testid="stSidebar"]').get_by_text("Complete case", exact=True).click()
        # the rerun is done when the setting is mirrored into the URL and the script and painting have finished
        await page.wait_for_function("() => location.search.includes('missing=complete')", timeout=TIMEOUT_MS,
                                     polling=100)
        await wait_idle(page)
        times["rerun"].append(time.perf_counter() - t0)

        body = await page.locator('[data-testid="stMain"]').inner_text()
        if f"{tag}-Placebo" not in body:
            failures.append(f"{tag}: its own arms are not shown")
        others = [w for w in body.split() if w.startswith("S") and "-Placebo" in w and not w.startswith(tag + "-")]
        if others:
            failures.append(f"{tag}: sees another session's arms {others[:3]}")
        if await page.locator('[data-testid="stException"]').count():
            failures.append(f"{tag}: an exception is shown")
        if js_errors:
            failures.append(f"{tag}: JS errors {js_errors[:2]}")
    except Exception as exc:  # noqa: BLE001 - counted as a failure and reported
        failures.append(f"{tag}: {type(exc).__name__}: {str(exc).splitlines()[0][:150]}")
    finally:
        await context.close()


async def run_level(browser, base: str, n: int, pid: int, sampler: RssSampler, level_no: int) -> dict:
    times: dict[str, list[float]] = {k: [] for k in ("first render", "upload", "page switch", "rerun")}
    failures: list[str] = []
    start = rss_mib(pid)
    sampler.reset()
    t0 = time.perf_counter()
    await asyncio.gather(*(one_session(browser, base, f"S{level_no}x{i:02d}", seed=1000 * level_no + i,
                                       times=times, failures=failures) for i in range(n)))
    wall = time.perf_counter() - t0
    await asyncio.sleep(2)
    end = rss_mib(pid)
    return dict(n=n, times=times, failures=failures, start=start, peak=max(sampler.peak, end), end=end, wall=wall)


def print_level(r: dict) -> None:
    print(f"\n== {r['n']} concurrent session(s): wall {r['wall']:.1f} s, failures {len(r['failures'])}/{r['n']}")
    for k, v in r["times"].items():
        print(f"   {k:<13} n={len(v):>2}  p50 {pct(v, .5) * 1000:7.0f} ms   p95 {pct(v, .95) * 1000:7.0f} ms   "
              f"max {max(v, default=float('nan')) * 1000:7.0f} ms")
    print(f"   server RSS    start {r['start']:.0f} MiB   peak {r['peak']:.0f} MiB   end {r['end']:.0f} MiB")
    for f in r["failures"][:10]:
        print(f"   failure: {f}")
    sys.stdout.flush()


async def cycles(browser, base: str, n: int, pid: int, upload: bool, every: int) -> None:
    print(f"\n== {n} session open/close cycles ({'each uploads a distinct file' if upload else 'bundled data'}); "
          "server RSS every", every, "cycles")
    print(f"   cycle {0:>4}: {rss_mib(pid):6.0f} MiB")
    fails, t_start = 0, time.perf_counter()
    for c in range(1, n + 1):
        context = await browser.new_context(viewport={"width": 1300, "height": 900})
        page = await context.new_page()
        try:
            if upload:
                await page.goto(f"{base}/data", timeout=TIMEOUT_MS)
                await wait_idle(page)
                await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                    files=[{"name": "diary.csv", "mimeType": "text/csv", "buffer": session_file(f"C{c}", seed=c)}])
                await page.get_by_text("your upload", exact=False).first.wait_for(timeout=TIMEOUT_MS)
                await page.locator('[data-testid="stSidebarNavLink"]', has_text="Primary endpoint").first.click()
                await page.wait_for_function(OMNIBUS_JS, timeout=TIMEOUT_MS, polling=100)
            else:
                await page.goto(base, timeout=TIMEOUT_MS)
            await wait_idle(page)
        except Exception:  # noqa: BLE001
            fails += 1
        finally:
            await context.close()
        if c % every == 0 or c == n:
            print(f"   cycle {c:>4}: {rss_mib(pid):6.0f} MiB   ({time.perf_counter() - t_start:.0f} s, "
                  f"{fails} failures)")
            sys.stdout.flush()


async def main_async(args) -> None:
    from playwright.async_api import async_playwright

    port = free_port()
    extra = []
    if args.session_ttl is not None:
        extra = ["--server.disconnectedSessionTTL", str(args.session_ttl)]
    proc = start_server(port, extra)
    base = f"http://127.0.0.1:{port}"
    sampler = RssSampler(proc.pid)
    try:
        print(f"server pid {proc.pid} on {base}; RSS after start {rss_mib(proc.pid):.0f} MiB")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                # warm up: the first run imports scipy/statsmodels and fits the bundled model
                ctx = await browser.new_context()
                pg = await ctx.new_page()
                for path in ("", "/data"):
                    await pg.goto(base + path, timeout=TIMEOUT_MS)
                    await wait_idle(pg)
                await ctx.close()
                print(f"after a warm-up session: RSS {rss_mib(proc.pid):.0f} MiB")
                for level_no, n in enumerate(args.sessions, 1):
                    print_level(await run_level(browser, base, n, proc.pid, sampler, level_no))
                if args.cycles:
                    await cycles(browser, base, args.cycles, proc.pid, args.cycle_upload, args.every)
            finally:
                await browser.close()
    finally:
        sampler.stop()
        stop_server(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="*", default=[1, 5, 10, 20], help="concurrency levels")
    ap.add_argument("--cycles", type=int, default=0, help="session open/close cycles after the levels (e.g. 200)")
    ap.add_argument("--cycle-upload", action="store_true", help="each cycle uploads a distinct file")
    ap.add_argument("--every", type=int, default=20, help="print RSS every this many cycles")
    ap.add_argument("--session-ttl", type=int, default=None,
                    help="server.disconnectedSessionTTL in seconds (Streamlit default 120)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
