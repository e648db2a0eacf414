#!/usr/bin/env bash
# Stops the development PostgreSQL cluster started by pg-up.sh. Fine if it is not running or
# was never created.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DATA=$ROOT/var/pg/data

say() { echo "pg-down: $*" >&2; }

if [[ ! -f $DATA/PG_VERSION ]]; then
	say "no cluster in $DATA"
	exit 0
fi

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $BIN || ! -x $BIN/pg_ctl ]]; then
	BIN=$(dirname "$(command -v pg_ctl || echo /nonexistent/pg_ctl)")
fi
[[ -x $BIN/pg_ctl ]] || { echo "pg-down: error: pg_ctl not found" >&2; exit 1; }

if [[ $(id -u) -eq 0 ]]; then
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
	say "not running"
	exit 0
fi
as_pg "$BIN/pg_ctl" -D "$DATA" -w -t 60 -m fast stop >&2
