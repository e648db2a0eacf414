#!/usr/bin/env bash
# Stops the development PostgreSQL cluster started by pg-up.sh. Fine if it is not running or
# was never created. With --remove, also deletes the cluster's directory (its data and log).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=pg-env.sh
source "$ROOT/scripts/pg-env.sh"

say() { echo "pg-down: $*" >&2; }
remove=false
[[ ${1:-} == --remove ]] && remove=true

if [[ ! -f $DATA/PG_VERSION ]]; then
	say "no cluster in $DATA"
elif [[ ! -x $BIN/pg_ctl ]]; then
	pg_die "pg_ctl not found"
elif ! (cd "$PGDIR" && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1); then
	say "not running ($DATA)"
else
	say "stopping the cluster in $DATA"
	(cd "$PGDIR" && as_pg "$BIN/pg_ctl" -D "$DATA" -w -t 60 -m fast stop >&2)
fi
if $remove && [[ -d $PGDIR && ! -L $PGDIR ]]; then
	say "removing $PGDIR"
	rm -rf "$PGDIR"
fi
