"""deploy/run.sh: nginx in front of one app process sends the framing, CSP and other security headers, proxies the
app and its websocket, and stops every process it started on SIGTERM. Skipped when nginx is not installed."""
from __future__ import annotations

import base64
import os
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
