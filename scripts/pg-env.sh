# Sourced by pg-up.sh and pg-down.sh: where the development PostgreSQL cluster of this checkout
# lives, the PostgreSQL binaries, and how to run them.
#
# The cluster lives outside the checkout, in /var/tmp/trcledger-<checkout name>-<hash of its
# path> (or $TRCLEDGER_PGDIR), because as root PostgreSQL runs as user postgres, which cannot
# enter a checkout under /root or a mode-700 directory. /var/tmp, unlike /tmp, survives a reboot.
# A checkout that already has a cluster in var/pg (the old place) keeps using it.
# Expects ROOT (the checkout, physical path) to be set; defines PGDIR, DATA, LOG, BIN, PGUSER_RUN
# and as_pg.

pg_die() { echo "${0##*/}: error: $*" >&2; exit 1; }

if [[ -n ${TRCLEDGER_PGDIR:-} ]]; then
	PGDIR=$TRCLEDGER_PGDIR
elif [[ -f $ROOT/var/pg/data/PG_VERSION ]]; then
	PGDIR=$ROOT/var/pg
else
	name=$(basename "$ROOT" | tr -c 'A-Za-z0-9._\n-' '_' | cut -c1-24)
	hash=$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)
	PGDIR=/var/tmp/trcledger-$name-$hash
fi
DATA=$PGDIR/data
LOG=$PGDIR/postgresql.log

# The newest /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else wherever pg_ctl is.
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $BIN || ! -x $BIN/pg_ctl ]]; then
	BIN=$(dirname "$(command -v pg_ctl || echo /nonexistent/pg_ctl)")
fi

# PostgreSQL refuses to run as root, so as root its binaries run as postgres.
if [[ $(id -u) -eq 0 ]]; then
	PGUSER_RUN=postgres
	as_pg() { runuser -u postgres -- "$@"; }
else
	PGUSER_RUN=$(id -un)
	as_pg() { "$@"; }
fi
