#!/usr/bin/env bash
# Takes a base backup of the trcledger PostgreSQL cluster into BACKUP_DIR/base/<UTC time>/:
# pg_basebackup in tar format, gzip-compressed, the WAL needed to make it consistent streamed
# into it (pg_wal.tar.gz), with its backup_manifest. Together with the WAL archive that
# archive-wal.sh keeps, it restores to any moment after the backup ended (restore.sh).
#
#   scripts/backup.sh [-d CONNINFO] BACKUP_DIR
#
# CONNINFO (default: $DATABASE_URL, else libpq's PG* variables) must allow a replication
# connection (pg_hba.conf: "replication"; a role with REPLICATION). The database in it does not
# matter: a base backup is the whole cluster. Prints the backup's directory on the last line.
# Old backups are not removed here: see docs/operations.md for retention. As root, the backup's
# files belong to root; run it as the backup user of your choice.
set -euo pipefail

die() { echo "backup: error: $*" >&2; exit 1; }
conninfo=${DATABASE_URL:-}
while getopts "d:h" opt; do
	case $opt in
	d) conninfo=$OPTARG ;;
	h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 ]] || die "usage: backup.sh [-d CONNINFO] BACKUP_DIR"
backup_dir=$1

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $BIN || ! -x $BIN/pg_basebackup ]]; then
	BIN=$(dirname "$(command -v pg_basebackup || echo /nonexistent/pg_basebackup)")
fi
[[ -x $BIN/pg_basebackup ]] || die "pg_basebackup not found (apt-get install postgresql-client)"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest=$backup_dir/base/$stamp
[[ ! -e $dest ]] || die "$dest exists already"
mkdir -p "$backup_dir/base"
tmp=$backup_dir/base/.$stamp.part
rm -rf "$tmp"
args=(-D "$tmp" -F tar -z -X stream --checkpoint=fast --label "trcledger $stamp" --progress)
[[ -n $conninfo ]] && args+=(-d "$conninfo")
echo "backup: base backup to $dest" >&2
"$BIN/pg_basebackup" "${args[@]}" >&2
# Only a finished backup gets its final name, so restore.sh never picks up half of one.
mv "$tmp" "$dest"
echo "$stamp" >"$backup_dir/base/LATEST"
echo "backup: done: $(du -sh "$dest" | cut -f1)" >&2
echo "$dest"
