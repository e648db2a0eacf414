#!/usr/bin/env bash
# make abuse: sends the requests of issue 10 that once exhausted the server, one after another,
# to a server of this checkout, and prints the server's resident memory (now and at its peak,
# VmRSS and VmHWM from /proc) after each. The target is a peak of at most 256 MiB.
#
# It uses the development cluster of `make run` (scripts/pg-up.sh) and the demo tokens, and
# starts its own server on ABUSE_ADDR (default 127.0.0.1:18080), stopped at the end.
set -eu # no pipefail: `yes | head` ends yes with SIGPIPE

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
ADDR=${ABUSE_ADDR:-127.0.0.1:18080}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/trcabuse.XXXXXX")
say() { echo "abuse: $*" >&2; }

mkdir -p var/bin
export DATABASE_URL=${DATABASE_URL:-$(scripts/pg-up.sh | tail -n1)}
export PSEUDONYM_KEY=${PSEUDONYM_KEY:-abuse-test-key-0123456789} TRCLEDGER_ENV=development LOG_LEVEL=warn
go build -o var/bin/trcledger ./cmd/trcledger
var/bin/trcledger migrate >/dev/null
var/bin/trcledger seed-demo --tokens-file "$ROOT/var/demo-tokens" >/dev/null
CLINIC=$(awk '$1=="clinic"{print $3}' var/demo-tokens)
[[ -n $CLINIC ]] || { say "no clinic token in var/demo-tokens"; exit 1; }

LISTEN_ADDR=$ADDR var/bin/trcledger serve >"$TMP/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do curl -sf "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done

rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$PID/status"; }
show() { printf '%-62s %s  %s\n' "$1" "$2" "$(rss)"; }
post() { # content-type, file, path -> "status bytes-of-answer"
	curl -s -o "$TMP/answer" -w '%{http_code} %{size_download}B' -X POST -H "Authorization: Bearer $CLINIC" \
		-H "Content-Type: $1" -H "Idempotency-Key: abuse-$RANDOM" --data-binary @"$2" "http://$ADDR$3"
}
header='external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity'
row='ABUSE-1,IOM-DZBIH-2024,TRC-LIPA,SFA-1,unknown,2025-03-03,consultation,J06.9,PZZ-01,1'

show "server started" "-"
{ echo "$header"; yes "$row" | head -n 600000; } >"$TMP/f"
show "1. CSV of 600,000 rows of one external_id (48 MB)" "$(post text/csv "$TMP/f" /v1/encounters/import)"
{ printf '{"encounters":['; yes '1,' | head -n 999999 | tr -d '\n'; printf '1]}'; } >"$TMP/f"
show "2. batch of 10^6 bad elements (2 MiB)" "$(post application/json "$TMP/f" /v1/encounters/batch)"
{ printf '{'; seq 150000 | awk '{printf "\"f%d\":1,", $1}'; printf '"g":1}'; } >"$TMP/f"
show "2. an encounter with 150,000 unknown fields" "$(post application/json "$TMP/f" /v1/encounters)"
{ echo "$header"; printf 'ABUSE-2,IOM-DZBIH-2024,TRC-LIPA,"'; head -c 50000000 /dev/zero | tr '\0' a; printf '",unknown,2025-03-03,consultation,J06.9,PZZ-01,1\n'; } >"$TMP/f"
show "3. CSV with one quoted cell of 50 MB" "$(post text/csv "$TMP/f" /v1/encounters/import)"
codes=$(for i in $(seq 40); do curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer trc_nope$i" "http://$ADDR/v1/sites"; done | sort | uniq -c | tr -s ' \n' ' ')
show "5. 40 unknown tokens from one address" "$codes"
