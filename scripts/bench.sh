#!/usr/bin/env bash
# make bench: measures trcledger against the targets of DESIGN.md section 9 on a throwaway
# PostgreSQL cluster (fsync and synchronous_commit on, as in production), with the raw-PostgreSQL
# baselines measured in the same run. Everything lives in a temporary directory that is removed
# at the end, whatever happens; the server and the cluster are stopped.
#
#   BENCH=short (default, under 2 minutes) or BENCH=full (up to about 20 minutes)
#   BENCH_SEED=N        seed of the dataset (default 1)
#   BENCH_PGSS=1        preload pg_stat_statements and log each phase's top statements
#   BENCH_KEEP=1        keep the temporary directory (cluster data, server log)
#   BENCH_LOG_LEVEL=info  log every request with its server-side duration (default warn)
#   BENCH_PPROF=127.0.0.1:6060  serve the server's Go profiles there (go tool pprof)
#   BENCH_ARGS="..."    more trcbench flags, e.g. --only import,single
#
# The table goes to stdout; progress, and the server's log on failure, to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
MODE=${BENCH:-short}
case $MODE in short | full) ;; *) echo "bench: BENCH must be short or full, not '$MODE'" >&2; exit 2 ;; esac

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $BIN || ! -x $BIN/pg_ctl ]]; then
	BIN=$(dirname "$(command -v pg_ctl || echo /nonexistent/pg_ctl)")
fi
[[ -x $BIN/pg_ctl ]] || die "PostgreSQL not found: no /usr/lib/postgresql/*/bin and no pg_ctl on \$PATH"

if [[ $(id -u) -eq 0 ]]; then
	id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run PostgreSQL as"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/trcbench.XXXXXX")
PGDIR=$TMP/pg
DATA=$PGDIR/data
SERVER_PID=
PG_STARTED=

cleanup() {
	local rc=$?
	set +e
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID"
		for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID"
		wait "$SERVER_PID" 2>/dev/null
	fi
	if [[ -n $PG_STARTED ]]; then
		as_pg "$BIN/pg_ctl" -D "$DATA" -w -t 60 -m fast stop >/dev/null 2>&1 ||
			as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1
	fi
	if [[ $rc -ne 0 && -f $TMP/server.log ]]; then
		echo "bench: last lines of the server log:" >&2
		tail -n 20 "$TMP/server.log" >&2
	fi
	if [[ ${BENCH_KEEP:-} == 1 ]]; then
		say "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

chmod 755 "$TMP"
mkdir -p "$PGDIR" "$TMP/bin" "$TMP/work"
[[ $(id -u) -eq 0 ]] && chown postgres: "$PGDIR"
chmod 700 "$PGDIR"
sock=$PGDIR/.s.PGSQL.5432
(( ${#sock} < 108 )) || die "socket path $sock is too long; set TMPDIR to a shorter directory"

say "building trcledger and trcbench"
(cd "$ROOT" && go build -o "$TMP/bin/trcledger" ./cmd/trcledger && go build -o "$TMP/bin/trcbench" ./cmd/trcbench)

say "creating a PostgreSQL cluster in $DATA ($BIN)"
as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C >"$TMP/initdb.log" 2>&1 ||
	{ tail -n 20 "$TMP/initdb.log" >&2; die "initdb failed"; }
# Production-like durability: fsync and synchronous_commit on, full-page writes on. A 4 GB
# max_wal_size keeps checkpoints from being forced every few seconds by the bulk loads.
opts=(-c "listen_addresses=''" -c "unix_socket_directories='$PGDIR'" -c fsync=on -c synchronous_commit=on
	-c full_page_writes=on -c shared_buffers=256MB -c max_wal_size=4GB -c max_connections=200)
PGSS=()
if [[ ${BENCH_PGSS:-} == 1 ]]; then
	opts+=(-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on)
	PGSS=(--pgss)
fi
as_pg "$BIN/pg_ctl" -D "$DATA" -l "$PGDIR/postgres.log" -w -t 60 -o "${opts[*]}" start >/dev/null ||
	{ tail -n 20 "$PGDIR/postgres.log" >&2; die "PostgreSQL did not start"; }
PG_STARTED=1
"$BIN/psql" -X -q -h "$PGDIR" -U postgres -d postgres -c "CREATE DATABASE trcledger" >/dev/null

export DATABASE_URL="postgres:///trcledger?host=$PGDIR&user=postgres&sslmode=disable"
export PSEUDONYM_KEY=bench-pseudonym-key-0123456789abcdef
export LOG_LEVEL=${BENCH_LOG_LEVEL:-warn} # info logs one line per request, with its duration on the server
export TRCLEDGER_ENV=production
unset LISTEN_ADDR

"$TMP/bin/trcledger" migrate >/dev/null
ADMIN=$("$TMP/bin/trcledger" token create --role admin --name bench | tail -n1)

# Port 0: the kernel picks a free port, and the server says which.
PPROF_ADDR=${BENCH_PPROF:-} LISTEN_ADDR=127.0.0.1:0 "$TMP/bin/trcledger" serve >"$TMP/server.out" 2>"$TMP/server.log" &
SERVER_PID=$!
ADDR=
for _ in $(seq 1 100); do
	ADDR=$(sed -n 's/^trcledger listening on //p' "$TMP/server.out" 2>/dev/null | head -n1)
	[[ -n $ADDR ]] && break
	kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited"
	sleep 0.1
done
[[ -n $ADDR ]] || die "the server did not start listening"
say "server pid $SERVER_PID on $ADDR; running trcbench (BENCH=$MODE)"

REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(cd "$ROOT" && git status --porcelain 2>/dev/null) ]]; then REV="$REV+changes"; fi

# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
"$TMP/bin/trcbench" --mode "$MODE" --url "http://$ADDR" --db "$DATABASE_URL" --admin-token "$ADMIN" \
	--server-pid "$SERVER_PID" --seed "${BENCH_SEED:-1}" --work "$TMP/work" --psql "$BIN/psql" --rev "$REV" \
	"${PGSS[@]}" ${BENCH_ARGS:-}
