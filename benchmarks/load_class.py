"""A class on one server (or behind the proxy): N sessions of a lightweight protocol client, each opening the app
and switching a setting every few seconds, so the figures measure the server and not the clients.

    python benchmarks/load_class.py                                  # 30 sessions, 2 min, its own server
    python benchmarks/load_class.py --quick                          # 10 sessions, 40 s
    python benchmarks/load_class.py --url http://127.0.0.1:8080 --pids 1234 1235   # a running set (deploy/)
    python benchmarks/load_class.py --via-proxy 1 2                  # deploy/serve.sh with 1, then 2 workers

Each session speaks Streamlit's own protocol over its websocket (``/_stcore/stream``, subprotocol
``streamlit``), as the browser does: it GETs ``/`` first (the proxy's sticky-session cookie, if any), connects,
sends a ``BackMsg.rerun_script`` (empty widget states: the Primary page with the defaults), reads the
``ForwardMsg`` deltas until ``script_finished``, and takes the widget ids of the sidebar's missing-data radio and
horizon slider from the deltas. Every ``--every`` seconds it sends a ``rerun_script`` with one changed
``WidgetState`` (the policy LOCF <-> complete case, then the horizon 35 <-> 34, in turn; the server keeps the other
widgets' values, as for a browser) and times it to ``script_finished``. Sessions join spread over the first
``--every`` seconds (a class arriving), so about N / every switches per second reach the server.

A failure: no ``script_finished`` within 60 s, a finish other than success, an exception element in the deltas,
a closed websocket. Printed: open and switch time p50 / p95 / max, failures, switches per second, and per server
process the CPU used and the RSS before the sessions, at the end (all still connected) and the growth per session.
The machine's load average is printed too.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from procstats import cpu_s, pct, rss_mib  # noqa: E402

TIMEOUT = 60.0
POLICY_LABEL = "Missing diary days"
HORIZON_LABEL = "AUC horizon (last day)"
SERVE = ROOT / "deploy" / "serve.sh"


@dataclass
class Stats:
    open: list[float] = field(default_factory=list)
    switch: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sessions_done: int = 0


class Session:
    """One student's session: the websocket, the widget ids seen, the last run's outcome."""

    def __init__(self, base: str, tag: str):
        self.base, self.tag = base, tag
        self.ws = None
        self.ids: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        self.cookie = ""

    async def connect(self) -> None:
        import websockets

        def get_cookie() -> str:
            with urllib.request.urlopen(self.base + "/", timeout=TIMEOUT) as r:
                r.read()
                return "; ".join(c.split(";", 1)[0] for c in r.headers.get_all("Set-Cookie") or [])

        self.cookie = await asyncio.get_running_loop().run_in_executor(None, get_cookie)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self.ws = await websockets.connect(self.base.replace("http", "ws", 1) + "/_stcore/stream",
                                           subprotocols=["streamlit"], additional_headers=headers,
                                           max_size=None, open_timeout=TIMEOUT, ping_interval=None)

    async def run(self, widget_states=None) -> None:
        """Send one rerun_script and read until script_finished (raises on a failure)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = ""
        if widget_states:
            msg.rerun_script.widget_states.widgets.extend(widget_states)
        await self.ws.send(msg.SerializeToString())
        started = False
        self.text = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            data = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            fm = ForwardMsg.FromString(data)
            kind = fm.WhichOneof("type")
            if kind == "new_session":
                started = True
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                which = el.WhichOneof("type")
                if which == "markdown" and ("Omnibus test" in el.markdown.body or "patient-periods used"
                                            in el.markdown.body):
                    self.text.append(el.markdown.body)
                elif which == "heading" and el.heading.body.startswith("AUC of"):
                    self.text.append(el.heading.body)
                if which == "exception":
                    raise RuntimeError(f"exception element: {el.exception.message[:120]}")
                if which == "radio" and POLICY_LABEL in el.radio.label:
                    self.ids["policy"], self.options["policy"] = el.radio.id, list(el.radio.options)
                elif which == "slider" and el.slider.label == HORIZON_LABEL:
                    self.ids["horizon"] = el.slider.id
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(fm.script_finished)
                if status == "FINISHED_SUCCESSFULLY" and started:
                    return
                if status != "FINISHED_SUCCESSFULLY":
                    raise RuntimeError(f"script finished with {status}")

    def change(self, n: int):
        """The n-th switch: policy (even n) or horizon (odd n), alternating between two values of each."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        w = WidgetState()
        if n % 2 == 0:
            w.id = self.ids["policy"]
            labels = self.options["policy"]
            w.string_value = next(o for o in labels if o == ("Complete case" if n % 4 == 0 else "LOCF"))
        else:
            w.id = self.ids["horizon"]
            w.double_array_value.data.append(34.0 if n % 4 == 1 else 35.0)
        return [w]


async def student(base: str, tag: str, delay: float, every: float, duration: float, stats: Stats,
                  t_end: float) -> None:
    await asyncio.sleep(delay)
    s = Session(base, tag)
    try:
        t0 = time.perf_counter()
        await s.connect()
        await s.run()
        stats.open.append(time.perf_counter() - t0)
        if "policy" not in s.ids or "horizon" not in s.ids:
            raise RuntimeError(f"widgets not found in the deltas: {sorted(s.ids)}")
        n, before = 0, list(s.text)
        while True:
            await asyncio.sleep(every * random.uniform(0.9, 1.1))
            if time.monotonic() >= t_end:
                break
            t0 = time.perf_counter()
            await s.run(s.change(n))
            stats.switch.append(time.perf_counter() - t0)
            if not s.text or s.text == before:
                raise RuntimeError(f"switch {n}: the page did not change")
            before = list(s.text)
            n += 1
        stats.sessions_done += 1
    except Exception as exc:  # noqa: BLE001 - counted and reported
        stats.failures.append(f"{tag}: {type(exc).__name__}: {str(exc)[:150]}")
    finally:
        if s.ws is not None:
            stats_keep.append(s)  # keep the websocket open until the end: the sessions are all alive at the end


stats_keep: list[Session] = []


async def one_run(base: str, sessions: int, every: float, duration: float, pids: list[int],
                  warm_urls: list[str] = ()) -> dict:
    stats_keep.clear()
    # warm-up of every server process: one session opens the app and makes each switch once (imports, first
    # fits, caches); through a proxy without the processes' own addresses, a few sessions that land anywhere
    for url in warm_urls or [base] * max(1, 2 * len(pids)):
        warm = Session(url, "warm")
        await warm.connect()
        await warm.run()
        for n in range(4):
            await warm.run(warm.change(n))
        await warm.ws.close()
    await asyncio.sleep(1)
    rss0 = {p: rss_mib(p) for p in pids}
    cpu0 = {p: cpu_s(p) for p in pids}
    load0 = open("/proc/loadavg").read().split()[:3]
    stats = Stats()
    t_start = time.monotonic()
    t_end = t_start + duration
    await asyncio.gather(*(student(base, f"S{i:02d}", delay=every * i / sessions, every=every, duration=duration,
                                   stats=stats, t_end=t_end) for i in range(sessions)))
    wall = time.monotonic() - t_start
    await asyncio.sleep(1)
    rss1 = {p: rss_mib(p) for p in pids}
    cpu1 = {p: cpu_s(p) for p in pids}
    for s in stats_keep:
        try:
            await s.ws.close()
        except Exception:  # noqa: BLE001
            pass
    return dict(stats=stats, wall=wall, rss0=rss0, rss1=rss1, cpu0=cpu0, cpu1=cpu1, load0=load0,
                load1=open("/proc/loadavg").read().split()[:3], sessions=sessions)


def print_run(label: str, r: dict) -> None:
    st, n = r["stats"], r["sessions"]
    print(f"\n== {label}: {n} sessions, wall {r['wall']:.0f} s, load average {' '.join(r['load0'])} -> "
          f"{' '.join(r['load1'])}")
    print(f"   failures      {len(st.failures)} (sessions completed {st.sessions_done}/{n})")
    for k, v in (("open", st.open), ("switch", st.switch)):
        print(f"   {k:<13} n={len(v):>4}  p50 {pct(v, .5) * 1000:6.0f} ms  p95 {pct(v, .95) * 1000:6.0f} ms  "
              f"max {max(v, default=float('nan')) * 1000:6.0f} ms")
    print(f"   switches/s    {len(st.switch) / max(r['wall'], 1e-9):.2f}")
    total_growth = 0.0
    for p in r["rss0"]:
        g = r["rss1"][p] - r["rss0"][p]
        total_growth += g
        print(f"   server {p}: CPU {r['cpu1'][p] - r['cpu0'][p]:.1f} s; RSS {r['rss0'][p]:.0f} -> {r['rss1'][p]:.0f} "
              f"MiB")
    if r["rss0"]:
        print(f"   RSS growth    {total_growth:.1f} MiB in all, {total_growth / n:.2f} MiB per session "
              f"(all {n} sessions still connected)")
    if st.switch and r["rss0"]:
        cpu = sum(r["cpu1"][p] - r["cpu0"][p] for p in r["rss0"])
        print(f"   server CPU    {cpu / (len(st.switch) + len(st.open)):.3f} s per run (opens and switches)")
    for f in st.failures[:8]:
        print(f"   failure: {f}")
    sys.stdout.flush()


def start_own_server(extra: list[str], root: Path) -> tuple[subprocess.Popen, str]:
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from conftest import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *extra],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("streamlit exited")
            time.sleep(0.3)
    raise RuntimeError("streamlit did not answer /_stcore/health")


def serve(workers: int, listen: str) -> tuple[list[int], list[str]]:
    subprocess.run(["bash", str(SERVE), "--workers", str(workers), "--listen", listen, "--base-port", "8701"],
                   check=True, stdout=subprocess.DEVNULL)
    ask = lambda what: subprocess.run(["bash", str(SERVE), what], check=True, capture_output=True,  # noqa: E731
                                      text=True).stdout.split()
    return [int(x) for x in ask("pids")], [f"http://127.0.0.1:{p}" for p in ask("ports")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of switching")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between a session's switches")
    ap.add_argument("--url", default=None, help="a running server or proxy (default: start a server)")
    ap.add_argument("--pids", type=int, nargs="*", default=[], help="server process ids (CPU and RSS), with --url")
    ap.add_argument("--via-proxy", type=int, nargs="*", default=None, metavar="WORKERS",
                    help="start deploy/serve.sh with each number of workers in turn and run through nginx")
    ap.add_argument("--listen", default="127.0.0.1:8089", help="nginx address for --via-proxy")
    ap.add_argument("--server-opt", action="append", default=[], help="key=value for the server this starts")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app.py the own server runs")
    ap.add_argument("--quick", action="store_true", help="10 sessions for 40 s")
    args = ap.parse_args()
    if args.quick:
        args.sessions, args.duration = min(args.sessions, 10), min(args.duration, 40.0)
    print(f"{os.cpu_count()} cores; load average {open('/proc/loadavg').read().split()[:3]}; {args.sessions} "
          f"sessions, a switch every {args.every:.0f} s each, for {args.duration:.0f} s")
    if args.via_proxy:
        for w in args.via_proxy:
            pids, ports = serve(w, args.listen)
            try:
                print_run(f"through nginx, {w} worker(s)",
                          asyncio.run(one_run(f"http://{args.listen}", args.sessions, args.every, args.duration,
                                              pids, ports)))
            finally:
                subprocess.run(["bash", str(SERVE), "stop"], check=False)
        return 0
    if args.url:
        print_run(args.url, asyncio.run(one_run(args.url.rstrip("/"), args.sessions, args.every, args.duration,
                                                args.pids)))
        return 0
    extra = []
    for o in args.server_opt:
        k, _, v = o.partition("=")
        extra += [f"--{k}", v]
    proc, base = start_own_server(extra, args.root.resolve())
    try:
        print_run(f"one server {base} ({args.root.resolve()}) {' '.join(extra)}",
                  asyncio.run(one_run(base, args.sessions, args.every, args.duration, [proc.pid])))
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
