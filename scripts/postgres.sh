#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the tests on 127.0.0.1:${PGPORT:-55432}, data in
# /tmp/opscentre-pgdata-PORT (readable by the postgres user wherever the clone lives), and prints the DSN to export as OPSCENTRE_TEST_POSTGRES_DSN.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGPORT:-55432}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
data="${OPSCENTRE_PGDATA:-/tmp/opscentre-pgdata-$port}"
if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); else run=(); fi
if ! "${run[@]}" "$bindir/pg_isready" -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data" && chmod 700 "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    "${run[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust >/dev/null
  fi
  "${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
