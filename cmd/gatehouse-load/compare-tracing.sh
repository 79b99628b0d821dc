#!/usr/bin/env bash
# Interleaved: gh-old, gh-new (tracing off), gh-new with tracing on (OTLP/HTTP to a local sink,
# default sampler parentbased_always_on). Server on CPU 0, load on CPU 1, fresh SQLite per start.
set -u
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-8s}; PORT=18090
run_one() { # label bin scenario workers [env...]
  local label=$1 bin=$2 sc=$3 w=$4; shift 4
  local db=/tmp/cmp/$label.db
  rm -f $db $db-wal $db-shm
  GATEHOUSE_DB=$db ./$bin migrate >/dev/null 2>&1
  env "$@" GATEHOUSE_DB=$db GATEHOUSE_SIGNUP_IP_LIMIT=0 taskset -c 0 ./$bin serve --addr 127.0.0.1:$PORT 2>/dev/null &
  local pid=$!
  for _ in $(seq 100); do curl -fsS http://127.0.0.1:$PORT/healthz >/dev/null 2>&1 && break; sleep 0.1; done
  local out
  out=$(taskset -c 1 ./load --target http://127.0.0.1:$PORT --watch-pid $pid --scenario $sc --workers $w --duration $DUR 2>&1)
  kill $pid; wait $pid 2>/dev/null
  echo "$label $sc w=$w: $(echo "$out" | grep -E '^(throughput|server)' | tr '\n' ' ' | sed -E 's/latency.*//; s/server pid [0-9]+: //; s/; VmRSS.*//' | tr -s ' ')"
}
python3 otlp_sink.py & SINK=$!
trap 'kill $SINK' EXIT
for r in $(seq $ROUNDS); do
  for sc in "verify 64" "login 8"; do
    set -- $sc
    run_one old gh-old $1 $2
    run_one new gh-new $1 $2
    run_one traced gh-new $1 $2 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
  done
done
