#!/usr/bin/env bash
# Builds and runs trcledger for development: starts the local PostgreSQL unless DATABASE_URL is
# set, makes a pseudonym key on first use, migrates, seeds the demo data once, shows the demo
# tokens, then serves.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
mkdir -p var/bin

if [[ -z ${DATABASE_URL:-} ]]; then
	DATABASE_URL=$(scripts/pg-up.sh | tail -n1)
fi
export DATABASE_URL

if [[ -z ${PSEUDONYM_KEY:-} ]]; then
	keyfile=$ROOT/var/pseudonym-key
	if [[ ! -s $keyfile ]]; then
		echo "run: generating pseudonym key in $keyfile" >&2
		(
			umask 077
			head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n' >"$keyfile.tmp"
			mv "$keyfile.tmp" "$keyfile"
		)
	fi
	chmod 600 "$keyfile"
	PSEUDONYM_KEY=$(<"$keyfile")
fi
export PSEUDONYM_KEY
export TRCLEDGER_ENV=${TRCLEDGER_ENV:-development}

go build -o var/bin/trcledger ./cmd/trcledger
var/bin/trcledger migrate
tokens=var/demo-tokens
users=var/demo-users
before=$(cat "$tokens" "$users" 2>/dev/null || true)
var/bin/trcledger seed-demo --tokens-file "$ROOT/$tokens" --users-file "$ROOT/$users"
# seed-demo shows new tokens and users itself; when it seeded nothing, show the first run's.
if [[ -f $tokens && -f $users && $(cat "$tokens" "$users") == "$before" ]]; then
	echo "--- demo tokens ($tokens) ---"
	cat "$tokens"
	echo "--- demo users ($users): role, organization, username, language, password ---"
	cat "$users"
	echo "---"
fi
listen=${LISTEN_ADDR:-:8080}
echo "web application: http://localhost:${listen##*:}/ (sign in with a demo user above)"
exec var/bin/trcledger serve
