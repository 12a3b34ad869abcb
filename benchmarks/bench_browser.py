"""What a user waits for, measured on a real server: `streamlit run app.py` as its own process and headless Debian
Chromium (Playwright), on the bundled 20-patient trial.

    python benchmarks/bench_browser.py                       # this tree
    python benchmarks/bench_browser.py --quick               # fewer switches, fewer pages
    python benchmarks/bench_browser.py --variant before=/work/main --variant after=.     # paired A/B
    python benchmarks/bench_browser.py --variant gc=. --variant nogc=.:runner.postScriptGC=false
    python benchmarks/bench_browser.py --proxy --parts visitor  # and this tree behind nginx (deploy/serve.sh)
    python benchmarks/bench_browser.py --parts primary --variant floor=benchmarks/floor/chart --variant app=.
                                                             # the floor under a switch (benchmarks/floor/floor.py)

A variant is NAME=ROOT[:option=value,...]: a checkout to serve and extra Streamlit options. With several variants
one server per variant runs side by side and every measured switch is done on each in turn (A B A B ...), so a
busy shared machine slows them alike; the figures are printed side by side.

Printed per variant:

* **click to repainted**: from the pointer/key event (timed in the page, ``performance.now()``) to the last DOM
  change of the rerun, after the next animation frame (a MutationObserver over the whole app; the run counts as
  over when the script has finished, no skeleton is left, every plotly chart is drawn and the DOM has been quiet
  for 400 ms). Median / p95 / max over the switches of the missing-data policy on the Primary page (LOCF <->
  complete case), the horizon slider (35 <-> 34, keyboard) and the outcome select box; and each page's warm
  policy switch.
* **server CPU per switch**: utime + stime of the server process (``/proc/<pid>/stat``) over the switch, the
  Streamlit post-script work (garbage collection, ...) included; AppTest does not see it.
* **first visitor** (cold server: imports and first fit) and **new visitor** (warm server, fresh browser
  profile): time from navigation to the full Primary page, and the bytes the browser received (HTTP bodies as
  sent on the wire, from the DevTools protocol, plus websocket frames).

The machine's load average is printed at the start and the end: on a shared machine compare variants within one
run, not across runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

sys.path.insert(0, str(HERE))
from procstats import cpu_s, loadavg, pct, rss_mib  # noqa: E402
TIMEOUT_MS = 120_000

# installed in every page before Streamlit's own scripts
INSTRUMENT_JS = """
(() => {
  const kp = window.__kp = {input: 0, mut: 0, done: 0};
  const stamp = () => { kp.input = performance.now(); kp.mut = 0; kp.done = 0; };
  document.addEventListener('pointerdown', stamp, true);
  document.addEventListener('keydown', stamp, true);
  const attach = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const main = document.querySelector('[data-testid="stMain"]');
    if (!app || !main) { setTimeout(attach, 20); return; }
    new MutationObserver(() => {
      if (app.getAttribute('data-test-script-state') === 'notRunning') kp.done = performance.now();
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    // the page's content (not the sidebar, whose widgets also react to the mouse hovering them)
    new MutationObserver(() => { requestAnimationFrame(() => { kp.mut = performance.now(); }); })
      .observe(main, {subtree: true, childList: true, attributes: true, characterData: true});
  };
  attach();
})();
"""
# the rerun is over: script finished after the input, nothing lazy left to draw, DOM quiet for 400 ms
SETTLED_JS = """() => {
  const kp = window.__kp, app = document.querySelector('[data-testid="stApp"]');
  if (!kp || !app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning' || kp.done <= kp.input) return false;
  if (document.querySelectorAll('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]').length) return false;
  if (![...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg')))
    return false;
  return performance.now() - Math.max(kp.mut, kp.done) > 400;
}"""
ELAPSED_JS = "() => Math.max(window.__kp.mut, window.__kp.done) - window.__kp.input"
IDLE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return a && a.getAttribute('data-test-connection-state') === 'CONNECTED'
    && a.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelectorAll('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]').length === 0
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))
    && [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')].length > 0; }"""

PAGES = [("data", "Data and design"), ("", "Primary endpoint"), ("time_course", "Time course"),
         ("responders", "Responders"), ("sensitivity", "Sensitivity"), ("baseline", "Baseline"),
         ("questionnaires", "Questionnaires"), ("safety", "Safety"), ("methods", "Methods"), ("report", "Report")]
QUICK_PAGES = ["", "data", "time_course", "responders"]


@dataclass
class Variant:
    name: str
    root: Path
    options: list[str]
    proc: subprocess.Popen = None
    base: str = ""
    page: object = None
    ctx: object = None
    times: dict = field(default_factory=dict)
    cpu_used: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    pids: list = field(default_factory=list)

    def cpu(self) -> float:
        """CPU seconds used so far by the server process(es) (NaN when unknown)."""
        pids = self.pids or ([self.proc.pid] if self.proc else [])
        return sum(cpu_s(p) for p in pids) if pids else float("nan")

    def rss(self) -> float:
        pids = self.pids or ([self.proc.pid] if self.proc else [])
        return sum(rss_mib(p) for p in pids) if pids else float("nan")

    def add(self, metric: str, dt: float, cpu: float) -> None:
        self.times.setdefault(metric, []).append(dt)
        self.cpu_used.setdefault(metric, []).append(cpu)


def parse_variant(text: str) -> Variant:
    name, _, rest = text.partition("=")
    if rest.startswith("http"):  # a running server or proxy: NAME=URL[@PID,PID...] (CPU and RSS from the pids)
        url, _, pids = rest.partition("@")
        v = Variant(name=name, root=Path("."), options=[])
        v.base, v.pids = url.rstrip("/"), [int(p) for p in pids.split(",") if p]
        return v
    root, _, opts = (rest or ".").partition(":")
    options = []
    for o in filter(None, opts.split(",")):
        k, _, v = o.partition("=")
        options += [f"--{k}", v]
    return Variant(name=name, root=Path(root).resolve(), options=options)


def start(v: Variant) -> None:
    if v.base:  # already running
        return
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    v.proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *v.options],
        cwd=v.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    v.base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(v.base + "/_stcore/health", timeout=2):
                return
        except OSError:
            if v.proc.poll() is not None:
                raise RuntimeError(f"{v.name}: streamlit exited")
            time.sleep(0.3)
    raise RuntimeError(f"{v.name}: no health answer")


SERVE = ROOT / "deploy" / "serve.sh"
PROXY_LISTEN = "127.0.0.1:8093"
PROXY_ENV = {**os.environ, "KETAPAIN_RUN_DIR": os.environ.get("KETAPAIN_RUN_DIR", "/tmp/ketapain-bench-serve")}


def proxy_variant() -> Variant:
    """This tree as a class meets it: ``deploy/serve.sh --workers 1`` (nginx in front of one app process; static
    files from nginx, compressed). CPU and RSS are the app process's."""
    subprocess.run(["bash", str(SERVE), "--workers", "1", "--listen", PROXY_LISTEN, "--base-port", "8721"],
                   check=True, stdout=subprocess.DEVNULL, env=PROXY_ENV)
    pids = subprocess.run(["bash", str(SERVE), "pids"], check=True, capture_output=True, text=True,
                          env=PROXY_ENV).stdout.split()
    v = Variant(name="nginx", root=ROOT, options=[])
    v.base, v.pids = f"http://{PROXY_LISTEN}", [int(p) for p in pids]
    return v


def stop(v: Variant) -> None:
    if v.name == "nginx" and v.pids and not v.proc:
        subprocess.run(["bash", str(SERVE), "stop"], check=False, stdout=subprocess.DEVNULL, env=PROXY_ENV)
        return
    if v.proc and v.proc.poll() is None:
        v.proc.terminate()
        try:
            v.proc.wait(10)
        except subprocess.TimeoutExpired:
            v.proc.kill()


class Bytes:
    """Bytes the browser received in one page: HTTP (encoded, on the wire) and websocket frames."""

    def __init__(self, page):
        self.http = 0
        self.ws = 0
        self.requests = 0
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", self._http)
        cdp.on("Network.webSocketFrameReceived", self._ws)
        self.cdp = cdp

    def _http(self, ev):
        self.http += int(ev.get("encodedDataLength", 0))
        self.requests += 1

    def _ws(self, ev):
        r = ev.get("response", {})
        data = r.get("payloadData", "")
        self.ws += (len(data) * 3 // 4) if r.get("opcode") == 2 else len(data.encode())


def open_visitor(browser, v: Variant, path: str = ""):
    """A fresh browser profile opens the app: (seconds to the full page, Bytes)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.add_init_script(INSTRUMENT_JS)
    page = ctx.new_page()
    counter = Bytes(page)
    t0 = time.perf_counter()
    page.goto(f"{v.base}/{path}", timeout=TIMEOUT_MS)
    page.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS, polling=50)
    page.wait_for_function(SETTLED_JS.replace("kp.done <= kp.input", "false"), timeout=TIMEOUT_MS, polling=50)
    dt = time.perf_counter() - t0 - 0.4  # minus the 400 ms quiet window that ends the wait
    return ctx, page, dt, counter


RERUN_SEEN_JS = "() => window.__kp && window.__kp.done > window.__kp.input"
NO_RERUN_MS = 10_000  # an action that started no rerun within this time (a lost click) is done once more


def settle(page) -> float:
    page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS, polling=25)
    return page.evaluate(ELAPSED_JS) / 1000


def switch(v: Variant, metric: str, action) -> None:
    """One measured switch: the action (a click or key press) -> repainted, and the server's CPU over it. An
    action after which no rerun ends within :data:`NO_RERUN_MS` (the click was lost, e.g. on a widget being
    redrawn) is repeated once and counted in the notes; a second loss fails the metric."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    v.page.bring_to_front()  # a background tab gets no animation frames: the user's tab is the visible one
    time.sleep(0.3)
    for attempt in range(2):
        c0 = v.cpu()
        action(v.page)
        try:
            v.page.wait_for_function(RERUN_SEEN_JS, timeout=NO_RERUN_MS, polling=25)
            break
        except PlaywrightTimeout:
            if attempt:
                raise
            key = f"{metric}: actions repeated (no rerun within {NO_RERUN_MS / 1000:.0f} s)"
            v.notes[key] = v.notes.get(key, 0) + 1
    dt = settle(v.page)
    time.sleep(0.05)
    v.add(metric, dt, v.cpu() - c0)


CHECKED_POLICY_JS = """() => { const i = [...document.querySelectorAll(
  '[data-testid="stSidebar"] [role="radiogroup"][aria-label="Missing diary days"] input[type="radio"]')]
  .find(x => x.checked); return i ? (i.closest('label') || i.parentElement).innerText.trim() : null; }"""


def click_policy(label: str):
    """Click this policy, or the other one of :data:`POLICY_LABELS` when this one is already chosen (a click on
    the chosen option runs nothing, and the switch would never settle)."""
    def act(page):
        current = page.evaluate(CHECKED_POLICY_JS)
        target = label if current != label else next(x for x in POLICY_LABELS if x != label)
        page.locator('[data-testid="stSidebar"]').get_by_text(target, exact=True).click()
    return act


def horizon_key(key: str):
    def act(page):
        page.locator('[data-testid="stSidebar"] [data-testid="stSlider"] input[type="range"]').first.press(key)
    return act


# the chosen option: the box's text (Streamlit up to 1.4x) or the combobox input's value (1.67: a typeable box)
SHOWN_OUTCOME_JS = """() => { const i = document.querySelector(
  '[data-testid="stSidebar"] input[role="combobox"][aria-label="Outcome"]');
  const box = i && i.closest('[data-testid="stSelectbox"]');
  return (box ? box.innerText : "") + " " + (i ? i.value : ""); }"""


def choose_outcome(label: str):
    """Choose this outcome, or the other one of :data:`OUTCOME_LABELS` when this one is already chosen."""
    def act(page):
        target = label if label not in page.evaluate(SHOWN_OUTCOME_JS) else next(x for x in OUTCOME_LABELS if x != label)
        page.locator('[data-testid="stSidebar"] input[role="combobox"][aria-label="Outcome"]').click()
        page.locator('[role="option"]', has_text=target).first.click()
    return act


POLICY_LABELS = ["Complete case", "LOCF"]
OUTCOME_LABELS = ["Maximal pain", "Average pain"]


def goto(v: Variant, path: str) -> None:
    v.page.bring_to_front()
    v.page.goto(f"{v.base}/{path}", timeout=TIMEOUT_MS)
    v.page.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS, polling=50)
    time.sleep(0.3)


def paired(variants: list[Variant], metric: str, actions: list, n: int, warm: int) -> None:
    """``warm`` unmeasured switches on each variant, then ``n`` measured ones, the variants in turn. A switch
    that does not settle within the timeout is counted as a failure of that metric and the next metric goes on."""
    try:
        _paired(variants, metric, actions, n, warm)
    except Exception as exc:  # noqa: BLE001 - reported beside the figures
        for v in variants:
            v.notes[f"FAILED {metric}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            try:
                goto(v, "")
            except Exception:  # noqa: BLE001
                pass


def _paired(variants: list[Variant], metric: str, actions: list, n: int, warm: int) -> None:
    for v in variants:
        v.page.bring_to_front()
        for i in range(warm):
            actions[i % len(actions)](v.page)
            settle(v.page)
    for i in range(n):
        order = variants if i % 2 == 0 else variants[::-1]
        for v in order:
            switch(v, metric, actions[(warm + i) % len(actions)])


def fmt_ms(x: float) -> str:
    return f"{x * 1000:6.0f}"


def report(variants: list[Variant]) -> None:
    metrics = list(dict.fromkeys(m for v in variants for m in v.times))
    print(f"\n{'metric':<38} {'variant':<10} {'n':>3} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} "
          f"{'CPU/switch s':>12}")
    for m in metrics:
        for v in variants:
            t, c = v.times.get(m, []), v.cpu_used.get(m, [])
            if not t:
                continue
            print(f"{m:<38} {v.name:<10} {len(t):>3} {fmt_ms(statistics.median(t)):>9} {fmt_ms(pct(t, .95)):>7} "
                  f"{fmt_ms(max(t)):>7} {statistics.median(c):12.3f}")
    for v in variants:
        for k, val in v.notes.items():
            print(f"{v.name:<10} {k}: {val}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", action="append", default=[], help="NAME=ROOT[:opt=val,...] (default: this=.)")
    ap.add_argument("--quick", action="store_true", help="6 policy switches, 4 on the other settings, 4 pages")
    ap.add_argument("--switches", type=int, default=12, help="measured policy switches on the Primary page")
    ap.add_argument("--parts", nargs="+", default=["visitor", "primary", "pages"],
                    choices=["visitor", "primary", "pages"], help="what to measure (default: all)")
    ap.add_argument("--proxy", action="store_true",
                    help="also this tree behind nginx: deploy/serve.sh --workers 1 (variant 'nginx')")
    args = ap.parse_args()
    variants = [parse_variant(t) for t in (args.variant or [f"this={ROOT}"])]
    n_pol = 6 if args.quick else args.switches
    n_other = 4 if args.quick else 8
    n_page = 2 if args.quick else 4
    pages = [p for p in PAGES if p[0] in QUICK_PAGES] if args.quick else PAGES
    print(f"load average at start: {loadavg()}; {os.cpu_count()} cores; variants: "
          + ", ".join(f"{v.name}={v.root} {' '.join(v.options)}" for v in variants))
    from playwright.sync_api import sync_playwright

    try:
        if args.proxy:
            variants.append(proxy_variant())
        for v in variants:
            start(v)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for v in variants if "visitor" in args.parts else []:  # first visitor on a cold server
                c0 = v.cpu()
                ctx, page, dt, b = open_visitor(browser, v)
                v.notes["first visitor (cold server)"] = (f"{dt:.2f} s, {b.http / 2**20:.2f} MiB HTTP + "
                                                          f"{b.ws / 2**10:.0f} KiB websocket, server CPU "
                                                          f"{v.cpu() - c0:.2f} s")
                ctx.close()
            # new visitors on a warm server, variants in turn
            for rnd in range((2 if args.quick else 3) if "visitor" in args.parts else 0):
                for v in variants:
                    c0 = v.cpu()
                    ctx, page, dt, b = open_visitor(browser, v)
                    v.add("new visitor: full page (s as ms)", dt, v.cpu() - c0)
                    v.notes["new visitor bytes"] = (f"{(b.http + b.ws) / 2**20:.2f} MiB ({b.http / 2**20:.2f} MiB "
                                                    f"HTTP in {b.requests} requests, {b.ws / 2**10:.0f} KiB "
                                                    "websocket)")
                    ctx.close()
            for v in variants:
                v.ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                v.ctx.add_init_script(INSTRUMENT_JS)
                v.page = v.ctx.new_page()
                goto(v, "")
                v.notes["server RSS after warm-up"] = f"{v.rss():.0f} MiB"
            pol = [click_policy(x) for x in POLICY_LABELS]
            if "primary" in args.parts:
                paired(variants, "Primary: missing-data policy", pol, n_pol, warm=2)
                paired(variants, "Primary: horizon 35 <-> 34", [horizon_key("ArrowLeft"), horizon_key("ArrowRight")],
                       n_other, warm=2)
                paired(variants, "Primary: outcome", [choose_outcome(x) for x in OUTCOME_LABELS], n_other, warm=2)
            for path, title in pages if "pages" in args.parts else []:
                # one variant after the other on each page (not switch by switch: a long page that was in a
                # background tab sometimes misses its rerun's end there, and the switch never settles)
                for v in variants:
                    goto(v, path)
                    paired([v], f"{title}: policy (warm)", pol, n_page, warm=2)
            for v in variants:
                v.notes["server RSS at the end"] = f"{v.rss():.0f} MiB"
            browser.close()
    finally:
        for v in variants:
            stop(v)
    report(variants)
    print(f"load average at the end: {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
