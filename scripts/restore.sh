#!/usr/bin/env bash
# Restores a base backup of backup.sh into a new data directory and recovers it from the WAL
# archive of archive-wal.sh, to the end of the archive or to a point in time.
#
#   scripts/restore.sh --backup BACKUP_DIR[/base/<stamp>] --archive WAL_DIR --data NEW_DATA_DIR \
#       [--target-time '2026-03-01 14:05:00+01'] [--set NAME=VALUE ...] [--start --socket-dir DIR [--port N]]
#
# --backup      a backup directory (base.tar.gz, pg_wal.tar.gz), or BACKUP_DIR to take the latest
# --archive     the WAL archive (restore_command copies from there)
# --data        the new data directory; it must not exist or be empty
# --target-time recover up to this moment (commits after it are not replayed), then promote;
#               without it, recover everything the archive holds. The backup must have ended
#               before the target.
# --set         a server setting for the restored cluster (postgresql.auto.conf); recovery needs
#               max_connections and the like at least as high as on the backed-up primary
# --start       start the restored server (pg_ctl; unix socket in --socket-dir, no TCP unless
#               --port and listen_addresses are set later) and wait until recovery is over and it
#               accepts writes. Without it, start the server yourself (systemctl, pg_ctl).
#
# The restored cluster does not archive (archive_mode = off in postgresql.auto.conf), so a
# restore drill never writes into the production archive; turn it back on before the restored
# cluster becomes the primary. As root, the files are given to user postgres and PostgreSQL runs
# as postgres. Afterwards run `trcledger verify` against it (docs/operations.md).
# Debian keeps postgresql.conf and pg_hba.conf in /etc/postgresql/<version>/<cluster>, outside
# the backup: restore into the (stopped, emptied) data directory of a cluster made with
# pg_createcluster, and start it with pg_ctlcluster.
set -euo pipefail

die() { echo "restore: error: $*" >&2; exit 1; }
say() { echo "restore: $*" >&2; }
backup='' archive='' data='' target='' start=0 sockdir='' port=''
settings=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--backup) backup=$2; shift 2 ;;
	--archive) archive=$2; shift 2 ;;
	--data) data=$2; shift 2 ;;
	--target-time) target=$2; shift 2 ;;
	--set) [[ $2 == *=* ]] || die "--set takes NAME=VALUE"; settings+=("$2"); shift 2 ;;
	--start) start=1; shift ;;
	--socket-dir) sockdir=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	-h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[[ -n $backup && -n $archive && -n $data ]] || die "--backup, --archive and --data are required (see --help)"
[[ -d $archive ]] || die "no WAL archive at $archive"
if [[ -f $backup/base/LATEST ]]; then
	backup=$backup/base/$(cat "$backup/base/LATEST")
fi
[[ -f $backup/base.tar.gz ]] || die "no base.tar.gz in $backup"
if [[ -e $data ]] && [[ -n $(ls -A "$data") ]]; then
	die "$data is not empty"
fi
[[ $start -eq 0 || -n $sockdir ]] || die "--start needs --socket-dir"

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $BIN || ! -x $BIN/pg_ctl ]]; then
	BIN=$(dirname "$(command -v pg_ctl || echo /nonexistent/pg_ctl)")
fi
if [[ $(id -u) -eq 0 ]]; then
	owner=postgres
	as_pg() { runuser -u postgres -- "$@"; }
else
	owner=$(id -un)
	as_pg() { "$@"; }
fi
archive=$(cd "$archive" && pwd -P)

say "restoring $backup into $data"
mkdir -p "$data"
chmod 700 "$data"
tar -xzf "$backup/base.tar.gz" -C "$data"
mkdir -p "$data/pg_wal"
if [[ -f $backup/pg_wal.tar.gz ]]; then
	tar -xzf "$backup/pg_wal.tar.gz" -C "$data/pg_wal"
fi
# A standby's leftovers would make the restored server a standby again.
rm -f "$data/standby.signal" "$data/postmaster.pid"
{
	echo "# restore.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) from $backup"
	echo "restore_command = 'cp \"$archive/%f\" \"%p\"'"
	echo "archive_mode = off"
	for kv in "${settings[@]}"; do
		echo "${kv%%=*} = '${kv#*=}'"
	done
	if [[ -n $target ]]; then
		echo "recovery_target_time = '$target'"
		echo "recovery_target_action = 'promote'"
	fi
} >>"$data/postgresql.auto.conf"
touch "$data/recovery.signal"
if [[ $(id -u) -eq 0 ]]; then
	chown -R "$owner": "$data"
fi
say "recovery configured${target:+ up to $target}"
[[ $start -eq 1 ]] || exit 0
[[ -f $data/postgresql.conf ]] || die "no postgresql.conf in the backup (Debian keeps it in /etc/postgresql): start the cluster with pg_ctlcluster (see --help)"

opts="-c listen_addresses='' -k '$sockdir'"
[[ -z $port ]] || opts+=" -p $port"
log=$data/restore.log
as_pg "$BIN/pg_ctl" -D "$data" -l "$log" -w -t 120 -o "$opts" start >&2 || { tail -n 30 "$log" >&2; die "the restored server did not start; log in $log"; }
psql=("$BIN/psql" -X -q -tA -h "$sockdir" -U postgres -d postgres ${port:+-p "$port"})
for _ in $(seq 1 240); do
	if [[ $("${psql[@]}" -c 'SELECT pg_is_in_recovery()' 2>/dev/null) == f ]]; then
		say "recovered and promoted; the server accepts writes (socket in $sockdir)"
		exit 0
	fi
	sleep 0.5
done
tail -n 30 "$log" >&2
die "recovery did not finish within 2 minutes; log in $log"
