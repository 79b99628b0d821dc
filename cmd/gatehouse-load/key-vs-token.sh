#!/usr/bin/env bash
# API key against access token on GET /protected_resource, through the real
# binary: one server pinned to CPU 0 on a fresh SQLite file, the load tool on
# CPU 1 sending the same credential on every request (an access token from
# /get_token, then an API key made with `gatehouse apikey add`), alternated
# ROUNDS times so the VM's drift hits both alike. Loopback only.
#
#   bash cmd/gatehouse-load/key-vs-token.sh     # from the repository root
set -euo pipefail
OUT=${OUT:-/tmp/gatehouse-keys}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-6s}
PORT=${PORT:-18095}
mkdir -p "$OUT"
go build -o "$OUT/gatehouse" ./cmd/gatehouse
go build -o "$OUT/gatehouse-load" ./cmd/gatehouse-load
export GATEHOUSE_DB=$OUT/keys.db
rm -f "$GATEHOUSE_DB" "$GATEHOUSE_DB-wal" "$GATEHOUSE_DB-shm"
"$OUT/gatehouse" migrate >/dev/null
"$OUT/gatehouse" user add loader --password-stdin <<<'load test password 0123' >/dev/null
KEY=$("$OUT/gatehouse" apikey add loader --name load | awk '/^api_key:/ {print $2}')
taskset -c 0 "$OUT/gatehouse" serve --addr "127.0.0.1:$PORT" 2>/dev/null &
SPID=$!
trap 'kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$(curl -fsS -H 'Content-Type: application/json' -d '{"username":"loader","password":"load test password 0123"}' \
	"http://127.0.0.1:$PORT/get_token" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
one() { # NAME CREDENTIAL
	local out
	out=$(taskset -c 1 "$OUT/gatehouse-load" --target "http://127.0.0.1:$PORT" --watch-pid "$SPID" --scenario verify \
		--workers 64 --duration "$DUR" --token "$2" 2>&1)
	echo "$1: $(awk '/^throughput/ {print $2, "ok/s"} /^server/ {for (i = 1; i <= NF; i++) if ($(i+1) == "CPU") print $i, "cores"}' <<<"$out" | tr '\n' ' ')"
}
for r in $(seq "$ROUNDS"); do
	echo "round $r"
	one "  access token" "$TOKEN"
	one "  api key     " "$KEY"
done
