#!/bin/sh
# Backs up the database of DATABASE_URL with pg_dump in its custom format (compressed; restored
# with pg-restore.sh) to $BACKUP_DIR/<database>-<UTC timestamp>.dump, BACKUP_DIR being /backups
# unless set. With BACKUP_KEEP_DAYS set, this database's dumps older than that many days are
# deleted afterwards. The last line printed is the new dump's path.
#
#   DATABASE_URL=postgres://user:password@postgres:5432/research sh scripts/backup/pg-backup.sh
set -eu
# shellcheck source=scripts/backup/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "${DATABASE_URL:-}" ] || fail "DATABASE_URL is required, e.g. postgres://user:password@postgres:5432/research"
dir=${BACKUP_DIR:-/backups}
keep=${BACKUP_KEEP_DAYS:-}
case $keep in
  *[!0-9]*) fail "BACKUP_KEEP_DAYS must be a whole number of days; got \"$keep\"" ;;
esac
pg_use_url "$DATABASE_URL"

mkdir -p "$dir"
file="$dir/$PG_DATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump"
[ ! -e "$file" ] || fail "$file exists already"
# Written under another name and renamed once complete: a .dump file is always a whole dump.
partial="$file.partial"
trap 'rm -f "$partial"' EXIT
echo "dumping $PG_DATABASE to $file" >&2
pg_dump --format=custom --file="$partial" --dbname="$PG_URL"
mv "$partial" "$file"
trap - EXIT

if [ -n "$keep" ]; then
  find "$dir" -maxdepth 1 -type f -name "$PG_DATABASE-*.dump" -mmin "+$((keep * 1440))" -print | while read -r old; do
    rm -f "$old"
    echo "deleted $old (older than $keep days)" >&2
  done
fi
echo "$file"
