#!/usr/bin/env bash
# Interleaved comparison of two gatehouse binaries: each round runs every
# scenario against gh-old and then gh-new, the server pinned to CPU 0 and
# the load tool to CPU 1, on a fresh SQLite file per start, 127.0.0.1 only.
# The VM's speed drifts within minutes, so only interleaved runs compare.
#
#   mkdir -p /tmp/cmp && git worktree add /tmp/base BASE_COMMIT
#   (cd /tmp/base && go build -o /tmp/cmp/gh-old ./cmd/gatehouse)
#   go build -o /tmp/cmp/gh-new ./cmd/gatehouse && go build -o /tmp/cmp/load ./cmd/gatehouse-load
#   cp cmd/gatehouse-load/compare-binaries.sh /tmp/cmp/ && ROUNDS=2 DUR=8s bash /tmp/cmp/compare-binaries.sh
set -u
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-2}
DUR=${DUR:-8s}
PORT=18090
run_one() { # bin scenario workers
  local bin=$1 sc=$2 w=$3 db=/tmp/cmp/$1.db
  rm -f $db $db-wal $db-shm
  GATEHOUSE_DB=$db ./$bin migrate >/dev/null 2>&1
  GATEHOUSE_DB=$db GATEHOUSE_SIGNUP_IP_LIMIT=0 taskset -c 0 ./$bin serve --addr 127.0.0.1:$PORT 2>/dev/null &
  local pid=$!
  for _ in $(seq 100); do curl -fsS http://127.0.0.1:$PORT/healthz >/dev/null 2>&1 && break; sleep 0.1; done
  local out
  out=$(taskset -c 1 ./load --target http://127.0.0.1:$PORT --watch-pid $pid --scenario $sc --workers $w --duration $DUR 2>&1)
  kill $pid; wait $pid 2>/dev/null
  echo "$bin $sc w=$w: $(echo "$out" | grep -E '^(throughput|latency|status|server)' | tr '\n' ' ' | tr -s ' ')"
}
for r in $(seq $ROUNDS); do
  for sc in "verify 64" "refresh 64" "login 1" "login 8"; do
    set -- $sc
    run_one gh-old $1 $2
    run_one gh-new $1 $2
  done
done
