#!/usr/bin/env bash
# Starts the private development PostgreSQL cluster of this checkout, creating it on first use:
# data in var/pg/data, a unix socket in var/pg only (no TCP), fsync on, log in var/pg.log, and a
# database "trcledger". Progress goes to stderr; the last line on stdout is the DATABASE_URL.
# Safe to run again while the cluster is running. As root, PostgreSQL runs as user postgres.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PGDIR=$ROOT/var/pg
DATA=$PGDIR/data
LOG=$ROOT/var/pg.log
DBNAME=trcledger
URL="postgres:///$DBNAME?host=$PGDIR&user=postgres&sslmode=disable"

say() { echo "pg-up: $*" >&2; }
die() { echo "pg-up: error: $*" >&2; exit 1; }

# The newest /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else wherever pg_ctl is.
bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
	if [[ -n $d && -x $d/pg_ctl ]]; then echo "$d"; return; fi
	d=$(command -v pg_ctl || true)
	[[ -n $d ]] || die "PostgreSQL not found: no /usr/lib/postgresql/*/bin and no pg_ctl on \$PATH (apt-get install postgresql)"
	dirname "$d"
}
BIN=$(bindir)

# PostgreSQL refuses to run as root, so as root its binaries run as postgres.
if [[ $(id -u) -eq 0 ]]; then
	id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run PostgreSQL as"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

# A unix socket path is limited to 107 bytes.
sock=$PGDIR/.s.PGSQL.5432
(( ${#sock} < 108 )) || die "socket path $sock is too long (${#sock} bytes, max 107): move the checkout to a shorter path"

mkdir -p "$PGDIR"
touch "$LOG"
if [[ $(id -u) -eq 0 ]]; then
	chown postgres: "$PGDIR" "$LOG"
	# Every directory above var/pg must let postgres through.
	if ! as_pg test -w "$PGDIR" -a -x "$PGDIR"; then
		# Name the first one, from the top, that postgres cannot enter.
		d=
		IFS=/ read -ra parts <<<"${PGDIR#/}"
		for p in "${parts[@]}"; do
			d=$d/$p
			if ! as_pg test -x "$d"; then
				die "user postgres cannot enter $d ($(stat -c '%A %U:%G' "$d")), so cannot reach $PGDIR; allow it with: chmod o+x $d"
			fi
		done
		die "user postgres cannot write to $PGDIR"
	fi
fi
chmod 700 "$PGDIR" # trust authentication: only the owner (and root) may reach the socket

if [[ ! -f $DATA/PG_VERSION ]]; then
	say "creating cluster in $DATA ($BIN)"
	if ! as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C >>"$LOG" 2>&1; then
		tail -n 20 "$LOG" >&2
		die "initdb failed; full log in $LOG"
	fi
fi

if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
	say "already running"
else
	say "starting (log: $LOG)"
	# -k is given at each start, not written into the cluster, so a moved checkout still works.
	if ! as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
		-o "-c listen_addresses='' -k '$PGDIR'" start >&2; then
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
