#!/bin/sh
# Restores a dump of pg-backup.sh into a database that it creates: the target must not exist
# (drop it yourself to replace it). Objects are owned by the URL's user; a restore that fails
# drops the database it created.
#
#   sh scripts/backup/pg-restore.sh /backups/research-20261129T020000Z.dump \
#     postgres://user:password@postgres:5432/research_restored
#
# RESTORE_JOBS: parallel jobs of pg_restore (2 unless set).
set -eu
# shellcheck source=scripts/backup/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || fail "usage: pg-restore.sh <dump file> <target database URL>"
dump=$1
[ -f "$dump" ] || fail "no dump at $dump"
jobs=${RESTORE_JOBS:-2}
case $jobs in '' | *[!0-9]*) fail "RESTORE_JOBS must be a number; got \"$jobs\"" ;; esac
pg_use_url "$2"
case $PG_DATABASE in
  *[!A-Za-z0-9_-]*) fail "the target database name may hold only letters, digits, _ and -: \"$PG_DATABASE\"" ;;
esac

exists=$(psql -X -q -At -v ON_ERROR_STOP=1 --dbname="$PG_ADMIN_URL" \
  -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")
[ -z "$exists" ] || fail "database $PG_DATABASE exists already: restore into a new one, or drop it first"
psql -X -q -v ON_ERROR_STOP=1 --dbname="$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DATABASE\""
trap 'psql -X -q --dbname="$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DATABASE\"" >&2 || true' EXIT

echo "restoring $dump into $PG_DATABASE" >&2
pg_restore --exit-on-error --no-owner --no-privileges --jobs="$jobs" --dbname="$PG_URL" "$dump"
trap - EXIT
echo "restored $dump into $PG_DATABASE"
