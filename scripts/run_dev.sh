#!/usr/bin/env bash
# Local run: a Celery worker and beat in the background, the Django dev server attached to the terminal.
# Ctrl-C (or SIGTERM to this script) stops all three. Logs of the worker and beat go to var/log/.
set -euo pipefail
cd "$(dirname "$0")/.."

export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
ADDR="${RUN_ADDR:-127.0.0.1:8000}"
BIN=.venv/bin
LOG_DIR="${BACKOFFICE_VAR_DIR:-var}/log"
mkdir -p "$LOG_DIR"

pids=()
stop() {
    trap - EXIT INT TERM
    # Celery's main processes stop their own pools (a warm shutdown); the dev server's autoreload child only
    # goes with its process group. Each child leads its own group (setsid), so a last KILL of the groups
    # leaves nothing of ours behind.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    [ -n "${server_pid:-}" ] && kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

setsid "$BIN/celery" -A backoffice worker -l info >"$LOG_DIR/worker.log" 2>&1 &
pids+=($!)
setsid "$BIN/celery" -A backoffice beat -l info -S django_celery_beat.schedulers:DatabaseScheduler \
    --pidfile= >"$LOG_DIR/beat.log" 2>&1 &
pids+=($!)
echo "Celery worker (pid ${pids[0]}) and beat (pid ${pids[1]}) started; logs in $LOG_DIR/worker.log and beat.log"

# The server runs in the background too, so that `wait` returns at once when a signal arrives.
setsid "$BIN/python" manage.py runserver "$ADDR" &
server_pid=$!
pids+=("$server_pid")
wait "$server_pid"
