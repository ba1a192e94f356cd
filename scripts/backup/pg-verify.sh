#!/bin/sh
# Checks a restored database: every migration of this build applied, its audit chains intact
# (the CLI's `audit verify`), and, given the database it was dumped from, the same latest
# migration and the same number of rows in every table. Each check prints one line; the exit
# status is 1 when one fails. Run from the application's directory (the image's /app, or a
# built checkout): it runs the CLI of dist/.
#
#   sh scripts/backup/pg-verify.sh <restored database URL> [<source database URL>]
#
# Compare with a source that has not changed since the dump (a copy, or writes stopped):
# rows written after the dump are differences too.
set -eu
here=$(dirname "$0")
# shellcheck source=scripts/backup/lib.sh
. "$here/lib.sh"

{ [ $# -ge 1 ] && [ $# -le 2 ]; } || fail "usage: pg-verify.sh <restored database URL> [<source database URL>]"
restored=$1
source=${2:-}
cli="$here/../../dist/apps/cli/src/main.js"
[ -f "$cli" ] || fail "no CLI at $cli: run from the application's directory, after npm run build"
failed=0
pass() { echo "ok      $*"; }
miss() {
  echo "FAILED  $*"
  failed=$((failed + 1))
}

# sql URL STATEMENT: the rows, fields separated by a space.
sql() {
  (pg_use_url "$1" && psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 --dbname="$PG_URL" -c "$2")
}
latest_migration() {
  sql "$1" 'SELECT name FROM migrations ORDER BY "timestamp" DESC, id DESC LIMIT 1'
}
# Exact counts in one statement: query_to_xml runs a count per table.
row_counts() {
  sql "$1" "SELECT table_name, (xpath('/row/c/text()', query_to_xml(
      format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
    FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
    ORDER BY table_name"
}

# 1. Migrations: this build's, all applied; the same latest one as the source.
shown=$(DATABASE_URL=$restored node "$cli" migrate:show) || fail "migrate:show failed on the restored database"
pending=$(printf '%s\n' "$shown" | grep -c '^\[ \]' || true)
latest=$(latest_migration "$restored")
if [ "$pending" -eq 0 ]; then
  pass "migrations: every migration of this build applied; the latest is $latest"
else
  miss "migrations: $pending of this build's migrations are not applied (the latest applied is $latest)"
fi
if [ -n "$source" ]; then
  source_latest=$(latest_migration "$source")
  if [ "$source_latest" = "$latest" ]; then
    pass "migrations: the same latest migration as the source ($latest)"
  else
    miss "migrations: the source's latest is $source_latest, the restored database's $latest"
  fi
fi

# 2. Rows: the same count in every table as the source.
counts=$(row_counts "$restored")
tables=$(printf '%s\n' "$counts" | grep -c . || true)
rows=$(printf '%s\n' "$counts" | awk '{ n += $2 } END { print n + 0 }')
if [ -n "$source" ]; then
  source_counts=$(row_counts "$source")
  if [ "$source_counts" = "$counts" ]; then
    pass "rows: $tables tables, $rows rows, each table as many as in the source"
  else
    miss "rows differ from the source (table, source rows, restored rows):"
    printf '%s\n' "$source_counts" | while read -r table n; do
      m=$(printf '%s\n' "$counts" | awk -v t="$table" '$1 == t { print $2 }')
      [ "$n" = "$m" ] || echo "          $table ${n:-missing} ${m:-missing}"
    done
    printf '%s\n' "$counts" | while read -r table m; do
      printf '%s\n' "$source_counts" | grep -q "^$table " || echo "          $table missing $m"
    done
  fi
else
  pass "rows: $tables tables, $rows rows (no source given to compare with)"
fi

# 3. The audit trail: every hash chain intact.
if verdict=$(DATABASE_URL=$restored node "$cli" audit verify); then
  pass "audit chains: $verdict"
else
  miss "audit chains: ${verdict:-audit verify failed}"
fi

if [ "$failed" -eq 0 ]; then
  echo "verify: passed"
else
  echo "verify: $failed check(s) failed"
  exit 1
fi
