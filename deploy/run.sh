#!/usr/bin/env bash
# Start N KETAPAIN Explorer processes (streamlit run app.py on 127.0.0.1:8501..) and nginx in front of them, in
# the foreground; Ctrl-C (or SIGTERM) stops nginx and every app process.
#
#   deploy/run.sh [N]            N app processes (default 2, or $KETAPAIN_WORKERS)
#   KETAPAIN_LISTEN=0.0.0.0:80 deploy/run.sh 4
#
# Environment: KETAPAIN_LISTEN (nginx address, default 127.0.0.1:8080), KETAPAIN_BASE_PORT (first app port, default
# 8501), PYTHON (default python3), NGINX (default nginx).
set -euo pipefail

N="${1:-${KETAPAIN_WORKERS:-2}}"
LISTEN="${KETAPAIN_LISTEN:-127.0.0.1:8080}"
BASE="${KETAPAIN_BASE_PORT:-8501}"
PYTHON="${PYTHON:-python3}"
NGINX="${NGINX:-nginx}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"

if ! [[ "$N" =~ ^[1-9][0-9]?$ ]]; then echo "run.sh: N must be 1..99, got '$N'" >&2; exit 2; fi
command -v "$NGINX" >/dev/null || { echo "run.sh: nginx not found (apt-get install nginx)" >&2; exit 2; }

RUN="$(mktemp -d "${TMPDIR:-/tmp}/ketapain-deploy.XXXXXX")"
mkdir -p "$RUN/tmp" "$RUN/logs"
# nginx's workers (user nobody when started as root) write request bodies and buffered responses under tmp/
chmod 711 "$RUN"
chmod 755 "$RUN/tmp"
PIDS=()
NGINX_PID=""

cleanup() {
    trap - INT TERM EXIT
    [[ -n "$NGINX_PID" ]] && kill "$NGINX_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$RUN"
}
trap cleanup INT TERM EXIT

# the app processes (run from the repository, so .streamlit/config.toml applies)
cd "$ROOT"
for ((i = 0; i < N; i++)); do
    port=$((BASE + i))
    "$PYTHON" -m streamlit run app.py --server.port "$port" --server.address 127.0.0.1 --server.headless true \
        --browser.gatherUsageStats false >"$RUN/logs/app-$port.log" 2>&1 &
    PIDS+=("$!")
done

# the CSP hash of the inline script in the installed Streamlit's index.html
HASH="$("$PYTHON" - <<'PY'
import base64, hashlib, os, re, streamlit
html = open(os.path.join(os.path.dirname(streamlit.__file__), "static", "index.html"), encoding="utf-8").read()
for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S):
    print("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'", end=" ")
PY
)"

# nginx.conf with this run's upstreams, listen address and script hash(es)
HASH="${HASH% }"
awk -v n="$N" -v base="$BASE" -v listen="$LISTEN" -v hash="$HASH" -v q="'" '
    /# BEGIN upstreams/ { print; inside = 1; for (i = 0; i < n; i++) printf "        server 127.0.0.1:%d max_fails=3 fail_timeout=10s;\n", base + i; next }
    /# END upstreams/   { inside = 0 }
    inside              { next }
    /^[ \t]*listen /    { sub(/listen [^;]*;/, "listen " listen ";") }
    /Content-Security-Policy/ && hash != "" {
        gsub(" " q "sha256-[A-Za-z0-9+/=]+" q, ""); sub(q "unsafe-eval" q, q "unsafe-eval" q " " hash) }
    { print }' "$HERE/nginx.conf" >"$RUN/nginx.conf"

# wait until every app process answers its health check
for ((i = 0; i < N; i++)); do
    port=$((BASE + i))
    for _ in $(seq 1 120); do
        if "$PYTHON" - "$port" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", timeout=2)
PY
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            echo "run.sh: app on port $port exited:" >&2; tail -20 "$RUN/logs/app-$port.log" >&2; exit 1
        fi
        sleep 0.5
    done
done

echo "KETAPAIN Explorer: http://$LISTEN/ (nginx) -> $N app process(es) on 127.0.0.1:$BASE..$((BASE + N - 1)); Ctrl-C stops"
"$NGINX" -t -q -p "$RUN/" -c "$RUN/nginx.conf" -e stderr
"$NGINX" -p "$RUN/" -c "$RUN/nginx.conf" -e stderr -g "daemon off;" &
NGINX_PID=$!
wait "$NGINX_PID"
