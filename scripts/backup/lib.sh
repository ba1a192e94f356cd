# Shared by the backup scripts (sourced, not run): connection URLs taken apart, so that the
# password travels in PGPASSWORD and never appears on a command line (ps shows those).

fail() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# Percent-decoding, as libpq does for the parts of a URL.
pg_decode() {
  printf '%s' "$1" | LC_ALL=C awk '
    BEGIN { hex = "0123456789abcdef" }
    {
      out = ""
      s = $0
      while ((i = index(s, "%")) > 0) {
        h = tolower(substr(s, i + 1, 2))
        out = out substr(s, 1, i - 1) sprintf("%c", (index(hex, substr(h, 1, 1)) - 1) * 16 + index(hex, substr(h, 2, 1)) - 1)
        s = substr(s, i + 3)
      }
      printf "%s", out s
    }'
}

# pg_use_url URL: sets PG_URL (URL without its password), PG_ADMIN_URL (the same server's
# maintenance database, postgres), PG_DATABASE (the database name) and exports PGPASSWORD.
# shellcheck disable=SC2034 # the variables it sets are for the scripts that source this file
pg_use_url() {
  url=$1
  case $url in
    postgres://* | postgresql://*) ;;
    *) fail "not a PostgreSQL URL (postgres://user:password@host:5432/database)" ;;
  esac
  scheme=${url%%://*}
  rest=${url#*://}
  authority=${rest%%/*}
  path=
  case $rest in */*) path=${rest#*/} ;; esac
  query=
  case $path in *\?*) query="?${path#*\?}" ;; esac
  database=${path%%\?*}
  userinfo=
  host=$authority
  case $authority in *@*)
    userinfo=${authority%@*}
    host=${authority##*@}
    ;;
  esac
  user=${userinfo%%:*}
  case $userinfo in *:*) PGPASSWORD=$(pg_decode "${userinfo#*:}") && export PGPASSWORD ;; esac
  [ -n "$database" ] || fail "the URL names no database"
  PG_DATABASE=$(pg_decode "$database")
  login=
  [ -z "$user" ] || login="$user@"
  PG_URL="$scheme://$login$host/$database$query"
  PG_ADMIN_URL="$scheme://$login$host/postgres$query"
}
