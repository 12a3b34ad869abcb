#!/usr/bin/env bash
# Start, stop and inspect a set of KETAPAIN Explorer processes behind nginx on this machine, in the background.
#
#   deploy/serve.sh --workers 2 [--listen 127.0.0.1:8080] [--base-port 8501]   start N app processes + nginx
#   deploy/serve.sh stop                                                      stop nginx and every app process
#   deploy/serve.sh status                                                    each process's /_stcore/health
#   deploy/serve.sh pids | ports                                              the app processes' pids | ports
#
# The set lives in one run directory (--run-dir, default $KETAPAIN_RUN_DIR or /tmp/ketapain-serve): nginx.conf,
# pids, logs/. Start returns once every app process answers /_stcore/health and nginx runs; a second start while a
# set runs is refused. Environment: PYTHON (default python3), NGINX (default nginx). deploy/run.sh is the
# foreground variant (Ctrl-C stops it), for a service manager.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
RUN="${KETAPAIN_RUN_DIR:-${TMPDIR:-/tmp}/ketapain-serve}"
N=2
LISTEN="127.0.0.1:8080"
BASE=8501
CMD=start

while [[ $# -gt 0 ]]; do
    case "$1" in
        start|stop|status|pids|ports) CMD="$1" ;;
        --workers) N="$2"; shift ;;
        --workers=*) N="${1#*=}" ;;
        --listen) LISTEN="$2"; shift ;;
        --listen=*) LISTEN="${1#*=}" ;;
        --base-port) BASE="$2"; shift ;;
        --base-port=*) BASE="${1#*=}" ;;
        --run-dir) RUN="$2"; shift ;;
        --run-dir=*) RUN="${1#*=}" ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "serve.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

health() {  # health URL -> 0 when it answers 200
    "$PYTHON" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)
PY
}

app_pids() { cat "$RUN"/app-*.pid 2>/dev/null || true; }

stop_set() {
    [[ -d "$RUN" ]] || { echo "serve.sh: nothing running ($RUN does not exist)"; return 0; }
    if [[ -f "$RUN/nginx.pid" ]]; then
        kill "$(cat "$RUN/nginx.pid")" 2>/dev/null || true
    fi
    local pids; pids="$(app_pids)"
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=0
        for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ -f "$RUN/nginx.pid" ]] && kill -0 "$(cat "$RUN/nginx.pid" 2>/dev/null)" 2>/dev/null && alive=1
        [[ $alive == 0 ]] && break
        sleep 0.2
    done
    for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$RUN"
    echo "serve.sh: stopped"
}

case "$CMD" in
    stop) stop_set; exit 0 ;;
    pids) app_pids | tr '\n' ' '; echo; exit 0 ;;
    ports) cat "$RUN/ports" 2>/dev/null || true; exit 0 ;;
    status)
        [[ -f "$RUN/ports" ]] || { echo "serve.sh: not running"; exit 1; }
        rc=0
        for port in $(cat "$RUN/ports"); do
            if health "http://127.0.0.1:$port/_stcore/health"; then echo "app 127.0.0.1:$port ok"
            else echo "app 127.0.0.1:$port DOWN"; rc=1; fi
        done
        if health "http://$(cat "$RUN/listen")/_stcore/health"; then echo "nginx $(cat "$RUN/listen") ok"
        else echo "nginx $(cat "$RUN/listen") DOWN"; rc=1; fi
        exit $rc ;;
esac

if ! [[ "$N" =~ ^[1-9][0-9]?$ ]]; then echo "serve.sh: --workers must be 1..99, got '$N'" >&2; exit 2; fi
[[ -x "$NGINX" ]] || { echo "serve.sh: nginx not found (apt-get install nginx)" >&2; exit 2; }
if [[ -d "$RUN" ]]; then echo "serve.sh: a set is already running in $RUN (serve.sh stop)" >&2; exit 1; fi
mkdir -p "$RUN/tmp" "$RUN/logs"
chmod 711 "$RUN"; chmod 755 "$RUN/tmp"   # nginx's workers (nobody, when started as root) write under tmp/
echo "$LISTEN" >"$RUN/listen"
trap 'echo "serve.sh: start failed; stopping what was started" >&2; stop_set >&2' ERR

# the app processes, in their own session so they outlive this script (run from the repository root, so
# .streamlit/config.toml applies)
cd "$ROOT"
PORTS=()
for ((i = 0; i < N; i++)); do
    port=$((BASE + i))
    PORTS+=("$port")
    setsid "$PYTHON" -m streamlit run app.py --server.port "$port" --server.address 127.0.0.1 \
        --server.headless true --browser.gatherUsageStats false >"$RUN/logs/app-$port.log" 2>&1 < /dev/null &
    echo $! >"$RUN/app-$port.pid"
done
echo "${PORTS[*]}" >"$RUN/ports"

# nginx.conf with this set's upstreams, listen address, CSP hash and Streamlit's static folder
"$PYTHON" "$HERE/nginx_conf.py" --workers "$N" --base-port "$BASE" --listen "$LISTEN" --run-dir "$RUN"

for port in "${PORTS[@]}"; do
    for t in $(seq 1 240); do
        health "http://127.0.0.1:$port/_stcore/health" && break
        if ! kill -0 "$(cat "$RUN/app-$port.pid")" 2>/dev/null; then
            echo "serve.sh: app on port $port exited:" >&2; tail -20 "$RUN/logs/app-$port.log" >&2; false
        fi
        [[ $t == 240 ]] && { echo "serve.sh: app on port $port did not answer within 120 s" >&2; false; }
        sleep 0.5
    done
done

"$NGINX" -t -q -p "$RUN/" -c "$RUN/nginx.conf" -e "$RUN/logs/nginx.log"
# (nginx's daemon keeps the stderr it was given: a file, so a caller reading this script's output is not held)
"$NGINX" -p "$RUN/" -c "$RUN/nginx.conf" -e "$RUN/logs/nginx.log" </dev/null >>"$RUN/logs/nginx.log" 2>&1
for _ in $(seq 1 50); do health "http://$LISTEN/_stcore/health" && break; sleep 0.2; done
trap - ERR
echo "KETAPAIN Explorer: http://$LISTEN/ (nginx) -> $N app process(es) on 127.0.0.1:${PORTS[0]}..${PORTS[-1]}; run dir $RUN; 'deploy/serve.sh stop' stops"
