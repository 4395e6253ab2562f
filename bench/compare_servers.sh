#!/usr/bin/env bash
# The ceiling of each candidate ASGI server: bench/raw_app.py under wrk's create-session load
# (docs/performance.md). Needs wrk, and a virtualenv with the project and the candidates:
#
#   python3 -m venv /tmp/servers && /tmp/servers/bin/pip install -c constraints.txt -e . \
#       granian==2.8.7 hypercorn==0.18.0
#   bench/compare_servers.sh /tmp/servers [SECONDS] [ROUNDS]
#
# SERVERS="uvicorn-edge uvicorn-httptools" narrows the run to some of them.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${1:?the virtualenv}" SECONDS_EACH="${2:-10}" ROUNDS="${3:-3}"
PORT=8790
SCRIPT="$(mktemp)"
trap 'rm -f "$SCRIPT"' EXIT
# The create-session request of the benchmark (bench/scenarios/v1.py): a ≈ 250-byte JSON
# body and its credentials.
cat > "$SCRIPT" <<'LUA'
wrk.method = "POST"
wrk.body = '{"sessionName":"Benchmark cohort 0001","startDate":"2030-01-01T09:00:00.000Z",'
  .. '"endDate":"2030-01-05T17:00:00.000Z","sessionOwnerGroup":"5f1b2c3d4e5f60718293a4c1",'
  .. '"instructorsMails":["instructor0001@bench.test"],'
  .. '"sessionAdditionalInformation":"Room 4, second floor, bring a laptop"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-company-id"] = "5f1b2c3d4e5f60718293a4b5"
wrk.headers["X-apiKey"] = "k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y"
LUA

start() {
    case "$1" in
        uvicorn-edge) exec "$VENV/bin/python" raw_app.py --port "$PORT" --http edge ;;
        uvicorn-httptools) exec "$VENV/bin/python" raw_app.py --port "$PORT" ;;
        granian) exec "$VENV/bin/granian" --interface asgi --loop uvloop --host 127.0.0.1 \
            --port "$PORT" --workers 1 --no-ws --log-level warning raw_app:app ;;
        hypercorn) exec "$VENV/bin/hypercorn" -k uvloop -b "127.0.0.1:$PORT" -w 1 \
            --log-level warning raw_app:app ;;
    esac
}

for round in $(seq "$ROUNDS"); do
    for server in ${SERVERS:-uvicorn-edge uvicorn-httptools granian hypercorn}; do
        start "$server" >/dev/null 2>&1 &
        pid=$!
        until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do sleep 0.1; done
        wrk -t1 -c32 -d2s -s "$SCRIPT" "http://127.0.0.1:$PORT/" >/dev/null
        result="$(wrk -t1 -c32 -d"${SECONDS_EACH}s" --latency -s "$SCRIPT" "http://127.0.0.1:$PORT/")"
        rps="$(awk '/Requests\/sec/ {print $2}' <<<"$result")"
        p50="$(awk '$1 == "50%" {print $2}' <<<"$result")"
        p99="$(awk '$1 == "99%" {print $2}' <<<"$result")"
        printf '%s\t%s\t%s req/s\tp50 %s\tp99 %s\n' "$round" "$server" "$rps" "$p50" "$p99"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        sleep 0.5
    done
done
