#!/bin/sh
# archive_command of the PostgreSQL primary: copies one finished WAL segment (or a history or
# backup-label file) into the WAL archive, durably, and never overwrites a different file.
#
#   archive_mode = on
#   archive_command = '/usr/local/lib/trcledger/archive-wal.sh /srv/backup/trcledger/wal %p %f'
#
# PostgreSQL runs it as the server's user from the data directory; exit 0 means "archived" and
# the segment may be recycled, anything else makes PostgreSQL keep the segment and retry.
# POSIX sh and coreutils only, so it runs wherever the server does. docs/operations.md.
set -eu
[ $# -eq 3 ] || { echo "usage: archive-wal.sh ARCHIVE_DIR %p %f" >&2; exit 2; }
archive=$1 path=$2 name=$3
dest=$archive/$name
if [ -e "$dest" ]; then
	# Archived already (PostgreSQL retries after a crash between the copy and its bookkeeping):
	# fine if it is the same file, an alarm if not (two clusters writing to one archive).
	if cmp -s "$path" "$dest"; then exit 0; fi
	echo "archive-wal: $dest exists and differs from $path: refusing to overwrite" >&2
	exit 1
fi
tmp=$archive/.$name.part
cp "$path" "$tmp"
sync "$tmp"
mv "$tmp" "$dest"
sync "$archive"
