#!/usr/bin/env bash
# Starts the private development PostgreSQL cluster of this checkout, creating it on first use:
# data and log in the directory pg-env.sh names (/var/tmp/trcledger-<checkout>-<hash>, owned by
# the user PostgreSQL runs as), a unix socket in that directory only (no TCP), fsync on, and a
# database "trcledger". Progress goes to stderr; the last line on stdout is the DATABASE_URL.
# Safe to run again while the cluster is running. As root, PostgreSQL runs as user postgres.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=pg-env.sh
source "$ROOT/scripts/pg-env.sh"
DBNAME=trcledger
URL="postgres:///$DBNAME?host=$PGDIR&user=postgres&sslmode=disable"

say() { echo "pg-up: $*" >&2; }
die() { pg_die "$@"; }

[[ -x $BIN/pg_ctl ]] || die "PostgreSQL not found: no /usr/lib/postgresql/*/bin and no pg_ctl on \$PATH (apt-get install postgresql)"
if [[ $(id -u) -eq 0 ]]; then
	id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run PostgreSQL as"
fi

# A unix socket path is limited to 107 bytes.
sock=$PGDIR/.s.PGSQL.5432
(( ${#sock} < 108 )) || die "socket path $sock is too long (${#sock} bytes, max 107): set TRCLEDGER_PGDIR to a shorter directory"

# The directory sits in a world-writable place: take it only if it is ours (or new).
if [[ -L $PGDIR ]]; then
	die "$PGDIR is a symbolic link; remove it or set TRCLEDGER_PGDIR"
fi
if [[ ! -d $PGDIR ]]; then
	(umask 077 && mkdir -p "$PGDIR")
	if [[ $(id -u) -eq 0 ]]; then chown "$PGUSER_RUN": "$PGDIR"; fi
fi
owner=$(stat -c %U "$PGDIR")
[[ $owner == "$PGUSER_RUN" ]] || die "$PGDIR belongs to $owner, not $PGUSER_RUN; remove it or set TRCLEDGER_PGDIR"
chmod 700 "$PGDIR" # trust authentication: only the owner (and root) may reach the socket
if ! as_pg test -w "$PGDIR" -a -x "$PGDIR"; then
	die "user $PGUSER_RUN cannot write to $PGDIR ($(stat -c '%A %U:%G' "$(dirname "$PGDIR")") above it)"
fi
as_pg touch "$LOG"
say "cluster of $ROOT in $PGDIR (log: $LOG)"

if [[ ! -f $DATA/PG_VERSION ]]; then
	say "creating cluster in $DATA ($BIN)"
	if ! as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C >>"$LOG" 2>&1; then
		tail -n 20 "$LOG" >&2
		die "initdb failed; full log in $LOG"
	fi
fi

# pg_ctl runs with the cluster directory as its working directory: postgres may not be able to
# enter the caller's.
pgctl() { (cd "$PGDIR" && as_pg "$BIN/pg_ctl" "$@"); }
if pgctl -D "$DATA" status >/dev/null 2>&1; then
	say "already running"
else
	say "starting"
	# -k is given at each start, not written into the cluster, so a moved cluster still works.
	if ! pgctl -D "$DATA" -l "$LOG" -w -t 60 -o "-c listen_addresses='' -k '$PGDIR'" start >&2; then
		tail -n 20 "$LOG" >&2
		die "PostgreSQL did not start; full log in $LOG"
	fi
fi

for _ in $(seq 1 60); do
	if "$BIN/pg_isready" -q -h "$PGDIR" -U postgres -d postgres; then break; fi
	sleep 0.5
done
"$BIN/pg_isready" -q -h "$PGDIR" -U postgres -d postgres || die "PostgreSQL is not accepting connections; see $LOG"

psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -U postgres -d postgres)
if [[ -z $("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'") ]]; then
	say "creating database $DBNAME"
	"${psql[@]}" -c "CREATE DATABASE $DBNAME"
fi

echo "$URL"
