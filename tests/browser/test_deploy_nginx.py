"""deploy/run.sh: nginx in front of one app process sends the framing, CSP and other security headers, proxies the
app and its websocket, and stops every process it started on SIGTERM. deploy/serve.sh: two app processes behind
nginx work end to end (sticky cookie, gzip, a switch, an upload), and stop. Skipped when nginx is not installed."""
from __future__ import annotations

import base64
import gzip
import tempfile
import os
import sys
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "deploy" / "run.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def proxied():
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    listen, base = free_port(), free_port()
    env = {**os.environ, "KETAPAIN_LISTEN": f"127.0.0.1:{listen}", "KETAPAIN_BASE_PORT": str(base),
           "PATH": os.environ.get("PATH", "") + ":/usr/sbin"}
    proc = subprocess.Popen(["bash", str(RUN), "1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{listen}"
    deadline = time.time() + 90
    while time.time() < deadline and not _answers(url + "/_stcore/health"):
        if proc.poll() is not None:
            pytest.fail("run.sh exited: " + proc.stdout.read().decode(errors="replace")[-2000:])
        time.sleep(0.3)
    yield url, base, proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_headers_on_the_app_page(proxied):
    url, _, _ = proxied
    with urllib.request.urlopen(url + "/", timeout=10) as r:
        assert r.status == 200
        h = r.headers
        body = r.read()
    assert b"<div id=\"root\">" in body or b"root" in body
    assert h["X-Frame-Options"] == "DENY"
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert "nginx/" not in (h["Server"] or "")


def test_websocket_is_upgraded(proxied):
    url, _, _ = proxied
    port = int(url.rsplit(":", 1)[1])
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   f"Origin: {url}\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n").encode())
        head = s.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 101"), head[:300]


def test_app_works_under_the_csp(proxied, browser, idle):
    """Through nginx, in Chromium: the page renders with its plotly figures and no CSP violation is logged."""
    url, _, _ = proxied
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(url + "/")
    idle(page, timeout=90_000)
    assert page.locator(".js-plotly-plot .main-svg").count() > 0
    assert page.locator('[data-testid="stException"]').count() == 0
    csp = [m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m]
    context.close()
    assert csp == []


def test_sigterm_stops_nginx_and_the_app(proxied):
    """SIGTERM to run.sh alone (as a service manager sends it): its trap stops nginx and the app process."""
    url, base, proc = proxied
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)
    time.sleep(0.5)
    assert not _answers(url + "/_stcore/health")
    assert not _answers(f"http://127.0.0.1:{base}/_stcore/health")


# ---- deploy/serve.sh: two app processes behind nginx ----------------------------------------------------------
SERVE = ROOT / "deploy" / "serve.sh"


@pytest.fixture(scope="module")
def two_workers():
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    # directly under the system's temp folder, as serve.sh's default: nginx's workers (nobody, under root) must
    # reach it to send Streamlit's static files themselves (pytest's own temp folders are private)
    import uuid

    run_dir = Path(tempfile.gettempdir()) / f"ketapain-test-serve-{uuid.uuid4().hex[:12]}"
    listen, base = free_port(), free_port()
    while base + 1 == listen:
        base = free_port()
    env = {**os.environ, "KETAPAIN_RUN_DIR": str(run_dir), "PATH": os.environ.get("PATH", "") + ":/usr/sbin"}
    out = subprocess.run(["bash", str(SERVE), "--workers", "2", "--listen", f"127.0.0.1:{listen}", "--base-port",
                          str(base)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    yield f"http://127.0.0.1:{listen}", base, env
    subprocess.run(["bash", str(SERVE), "stop"], cwd=ROOT, env=env, capture_output=True, timeout=60)


def test_serve_status_and_health(two_workers):
    url, base, env = two_workers
    out = subprocess.run(["bash", str(SERVE), "status"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count(" ok") == 3, out.stdout
    assert _answers(url + "/_stcore/health")
    for port in (base, base + 1):
        assert _answers(f"http://127.0.0.1:{port}/_stcore/health")


def test_serve_headers_gzip_and_sticky_cookie(two_workers):
    url, _, _ = two_workers
    with urllib.request.urlopen(url + "/", timeout=10) as r:
        h, body = r.headers, r.read().decode()
    assert h["X-Frame-Options"] == "DENY"
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    cookie = h["Set-Cookie"]
    assert cookie.startswith("ketapain_route=") and "HttpOnly" in cookie
    # a static js file comes gzip-compressed (Streamlit itself sends it uncompressed)
    js = re.search(r'src="\.?/?(static/js/[^"]+\.js)"', body).group(1)
    req = urllib.request.Request(f"{url}/{js}", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
        # sent by nginx from the run directory's copy (not by an app process), as a script, cacheable
        assert r.headers["Content-Type"] == "text/javascript" and "max-age=" in r.headers["Cache-Control"]
        raw = r.read()
    assert len(gzip.decompress(raw)) > 2 * len(raw)
    import streamlit
    from pathlib import Path
    original = Path(streamlit.__file__).parent / "static" / js
    assert gzip.decompress(raw) == original.read_bytes()
    # a browser that has its cookie is not given a new one (it stays on its process)
    req = urllib.request.Request(url + "/", headers={"Cookie": cookie.split(";")[0]})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.headers["Set-Cookie"] is None


def test_two_workers_end_to_end(two_workers, browser, idle):
    """Through nginx to two app processes, in Chromium: browsers land on both processes, the Primary page
    loads, a switch of the missing-data policy repaints it, and an upload (an HTTP request beside the websocket)
    reaches the session's own process."""
    url, _, _ = two_workers
    contexts = []
    try:
        routes = set()
        for _ in range(3):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            contexts.append(ctx)
            page = ctx.new_page()
            page.goto(url + "/")
            idle(page, timeout=120_000)
            routes |= {c["value"] for c in ctx.cookies() if c["name"] == "ketapain_route"}
            omnibus = page.get_by_text("Omnibus test of treatment").first
            before = omnibus.inner_text()
            page.locator('[data-testid="stSidebar"]').get_by_text("Complete case", exact=True).click()
            page.wait_for_function("() => location.search.includes('missing=complete')", timeout=60_000)
            idle(page, timeout=60_000)
            assert page.get_by_text("Omnibus test of treatment").first.inner_text() != before
            assert page.locator('[data-testid="stException"]').count() == 0
        assert len(routes) == 3
        # the upload: its PUT must reach the process that holds the session
        page = contexts[-1].pages[0]
        page.goto(url + "/data")
        idle(page, timeout=60_000)
        text = "patient,period,treatment,day,pain_average\n" + "".join(
            f"{p},{per},{arm},{d},{(p + d + per) % 9}\n" for p in range(1, 7)
            for per, arm in enumerate(("A", "B") if p % 2 else ("B", "A"), 1) for d in range(1, 36))
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": "diary.csv", "mimeType": "text/csv", "buffer": text.encode()}])
        page.get_by_text("In use: your upload", exact=False).first.wait_for(timeout=60_000)
        idle(page, timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        for ctx in contexts:
            ctx.close()


def test_serve_stop(two_workers):
    url, base, env = two_workers
    out = subprocess.run(["bash", str(SERVE), "stop"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    time.sleep(0.5)
    assert not _answers(url + "/_stcore/health")
    assert not _answers(f"http://127.0.0.1:{base}/_stcore/health")
    assert not _answers(f"http://127.0.0.1:{base + 1}/_stcore/health")


def test_nginx_conf_leaves_the_static_block_out_when_nginx_cannot_reach_it():
    sys.path.insert(0, str(ROOT / "deploy"))
    import nginx_conf

    template = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    with_static = nginx_conf.render(template, 2, 9001, "127.0.0.1:9000", "/srv/static/", ["'sha256-x'"])
    assert "alias /srv/static/;" in with_static and "gzip_static on;" in with_static
    assert "server 127.0.0.1:9002 max_fails=3" in with_static and "'unsafe-eval' 'sha256-x'" in with_static
    without = nginx_conf.render(template, 2, 9001, "127.0.0.1:9000", None, [])
    assert "location /static/" not in without and "location / {" in without
    assert nginx_conf.reachable_by_all(Path(tempfile.gettempdir())) is True
