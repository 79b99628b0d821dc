#!/usr/bin/env bash
# Reproduces the load figures of docs/benchmarks.md. It builds gatehouse and
# gatehouse-load, runs the server pinned to one CPU and the load tool pinned
# to another, on 127.0.0.1 only, 10 s per run. Run it from the repository
# root on an otherwise idle machine with at least two CPUs:
#
#   bash cmd/gatehouse-load/run-benchmarks.sh 2>&1 | tee /tmp/gatehouse-bench.txt
#
# Settings: OUT (work dir), DUR (per run), SERVER_CPU, LOAD_CPU, PORT,
# PAIRS and PAIR_DUR (paired verify/baseline runs per algorithm and their
# length, default 5 of 4s).
set -euo pipefail

OUT=${OUT:-/tmp/gatehouse-bench}
DUR=${DUR:-10s}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-18080}
PAIRS=${PAIRS:-5}
PAIR_DUR=${PAIR_DUR:-4s}
BASE_PORT=$((PORT + 1))
TARGET=http://127.0.0.1:$PORT

mkdir -p "$OUT"
go build -o "$OUT/gatehouse" ./cmd/gatehouse
go build -o "$OUT/gatehouse-load" ./cmd/gatehouse-load
go test -c -o "$OUT/usecase.test" ./usecase
GH=$OUT/gatehouse
LOAD=$OUT/gatehouse-load

echo "== machine"
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo
echo "go: $(go version)"
echo "kernel: $(uname -r)"

SPID=
stop_server() {
	if [ -n "$SPID" ]; then
		kill "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
		SPID=
	fi
}
BPID=
stop_all() {
	stop_server
	if [ -n "$BPID" ]; then
		kill "$BPID" 2>/dev/null || true
		wait "$BPID" 2>/dev/null || true
	fi
}
trap stop_all EXIT

rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MiB  ", $1, $2 / 1024} END {print ""}' "/proc/$1/status"; }

wait_up() {
	for _ in $(seq 100); do
		curl -fsS "$1/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "server did not come up" >&2
	return 1
}

# start ALG: a fresh SQLite file, a machine client, the server on SERVER_CPU.
start() {
	local alg=$1 db=$OUT/$1.db
	rm -f "$db" "$db-wal" "$db-shm"
	export GATEHOUSE_SIGNING_ALG=$alg GATEHOUSE_DB=$db
	if [ "$alg" = HS256 ]; then
		export GATEHOUSE_JWT_SECRET=benchmark-secret-benchmark-secret-0123456789
	else
		unset GATEHOUSE_JWT_SECRET
	fi
	"$GH" migrate >/dev/null
	local creds
	creds=$("$GH" client add load)
	CLIENT_ID=$(awk '/^client_id:/ {print $2}' <<<"$creds")
	CLIENT_SECRET=$(awk '/^client_secret:/ {print $2}' <<<"$creds")
	# The access log goes to /dev/null: its formatting and write(2) are
	# paid, disk is not.
	taskset -c "$SERVER_CPU" "$GH" serve --addr "127.0.0.1:$PORT" 2>/dev/null &
	SPID=$!
	wait_up "$TARGET"
	echo "server pid $SPID ($alg, SQLite), idle: $(rss "$SPID")"
	# One access token, sent unchanged by every paired verify run to
	# Gatehouse and to the baseline alike.
	curl -fsS -o /dev/null -H 'Content-Type: application/json' \
		-d '{"username":"pair","password":"paired runs 0123456789"}' "$TARGET/users"
	TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
		-d '{"username":"pair","password":"paired runs 0123456789"}' "$TARGET/get_token" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
}

# per_core: "ok/s per server core" from one gatehouse-load report.
per_core() {
	awk '/^throughput/ {ok = $2} /^server/ {for (i = 1; i <= NF; i++) if ($(i+1) == "CPU") c = $i}
		END {printf "%.0f", (c > 0 ? ok / c : 0)}'
}

# hash_bound: one argon2id verification at the default parameters, timed
# on SERVER_CPU (ops/s is the hash bound of one core).
hash_bound() {
	echo
	echo "== argon2id hash bound on CPU $SERVER_CPU"
	(cd usecase && taskset -c "$SERVER_CPU" "$OUT/usecase.test" -test.run '^$' \
		-test.bench 'Argon2id' -test.benchtime 120x -test.cpu 1 | grep Benchmark)
}

# paired NAME: PAIRS runs in which Gatehouse and the bare Echo baseline,
# both on SERVER_CPU, are loaded at the same time with the same token by two
# load tools on LOAD_CPU. The two servers share the core (each gets about
# half), so a slower or busier host slows both alike and the ratio of their
# rates per server core stays put; sequential runs on this shared VM moved by
# 20 % from one to the next.
paired() {
	echo
	echo "== $1: Gatehouse and bare Echo loaded together, same token, $PAIRS runs of $PAIR_DUR"
	echo "\$ taskset -c $LOAD_CPU gatehouse-load --target URL --watch-pid PID --scenario verify --workers 64 --duration $PAIR_DUR --token TOKEN   # twice, at once"
	local i g b
	for i in $(seq "$PAIRS"); do
		taskset -c "$LOAD_CPU" "$LOAD" --target "http://127.0.0.1:$BASE_PORT" --watch-pid "$BPID" --scenario verify \
			--workers 64 --duration "$PAIR_DUR" --token "$TOKEN" >"$OUT/pair-bare.txt" 2>&1 &
		taskset -c "$LOAD_CPU" "$LOAD" --target "$TARGET" --watch-pid "$SPID" --scenario verify --workers 64 \
			--duration "$PAIR_DUR" --token "$TOKEN" >"$OUT/pair-gatehouse.txt" 2>&1
		wait $!
		g=$(per_core <"$OUT/pair-gatehouse.txt")
		b=$(per_core <"$OUT/pair-bare.txt")
		echo "run $i: gatehouse $g/s per core, bare Echo $b/s per core, ratio $(awk -v g="$g" -v b="$b" 'BEGIN {printf "%.1f %%", (b > 0 ? 100 * g / b : 0)}')"
	done
}

# run NAME ARGS...: one load run; the load tool reports the server's CPU
# and memory over the measured phase (--watch-pid).
run() {
	local name=$1
	shift
	echo
	echo "== $name"
	echo "\$ taskset -c $LOAD_CPU gatehouse-load --target $TARGET --watch-pid PID $*" | sed -e 's/--client-secret [^ ]*/--client-secret SECRET/'
	taskset -c "$LOAD_CPU" "$LOAD" --target "$TARGET" --watch-pid "$SPID" "$@" || true
}

# The bare Echo baseline: GET /protected_resource answering the same JSON,
# no middleware, no authentication, on the same http.Server settings.
taskset -c "$SERVER_CPU" "$LOAD" baseline --addr "127.0.0.1:$BASE_PORT" --for 30m >/dev/null &
BPID=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$BASE_PORT/protected_resource" >/dev/null 2>&1 && break
	sleep 0.1
done

for alg in EdDSA HS256; do
	echo
	echo "=================== $alg"
	start "$alg"
	CC=(--client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET")
	run "verify $alg, one token" --scenario verify --workers 64 --duration "$DUR"
	paired "verify $alg, one token"
	run "verify $alg, 20000 distinct tokens, each used once" --scenario verify --workers 64 \
		--distinct 20000 --requests 20000 --duration 0 "${CC[@]}"
	if [ "$alg" = EdDSA ]; then
		# The hash bound, measured on the server's CPU right before and
		# right after the login runs (the server is idle meanwhile): the
		# VM's speed drifts within minutes, so the login rate is judged
		# against the mean of the two.
		hash_bound
		run "login, 1 connection" --scenario login --workers 1 --duration "$DUR"
		run "login, 2 connections (twice the server's cores)" --scenario login --workers 2 --duration "$DUR"
		run "login" --scenario login --workers 8 --duration "$DUR"
		hash_bound
		run "refresh" --scenario refresh --workers 64 --duration "$DUR"
		run "client-credentials" --scenario client-credentials --workers 64 --duration "$DUR" "${CC[@]}"
		run "mixed" --scenario mixed --workers 64 --duration "$DUR" "${CC[@]}"
	fi
	stop_server
done

echo
echo "=================== EdDSA, access log of errors only (GATEHOUSE_ACCESS_LOG=errors)"
export GATEHOUSE_ACCESS_LOG=errors
start EdDSA
run "verify EdDSA, one token, access log errors only" --scenario verify --workers 64 --duration "$DUR"
paired "verify EdDSA, one token, access log errors only"
stop_server
unset GATEHOUSE_ACCESS_LOG

echo
echo "=================== EdDSA, no access log, no metrics (GATEHOUSE_ACCESS_LOG=off GATEHOUSE_METRICS=false)"
export GATEHOUSE_ACCESS_LOG=off GATEHOUSE_METRICS=false
start EdDSA
paired "verify EdDSA, one token, no access log, no metrics"
stop_server
unset GATEHOUSE_ACCESS_LOG GATEHOUSE_METRICS

echo
echo "=================== login flood, 500 connections (EdDSA)"
start EdDSA
run "login flood" --scenario login --workers 500 --duration "$DUR"
stop_server

echo
echo "=================== bare Echo baseline alone"
TARGET=http://127.0.0.1:$BASE_PORT
SPID=$BPID
run "bare Echo, same body, no auth, no token sent" --scenario verify --workers 64 --duration "$DUR" --token none
SPID=
