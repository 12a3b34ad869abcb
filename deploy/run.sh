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

# nginx.conf with this set's upstreams, listen address, CSP hash and Streamlit's static folder
"$PYTHON" "$HERE/nginx_conf.py" --workers "$N" --base-port "$BASE" --listen "$LISTEN" --run-dir "$RUN"

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
