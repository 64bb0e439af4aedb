#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests.
#
#   scripts/postgres.sh          start it (or reuse this clone's running one) and print the DSN to
#                                export as OPSCENTRE_TEST_POSTGRES_DSN
#   scripts/postgres.sh stop     stop this clone's server
#
# Each clone has its own data directory under /tmp (readable by the postgres user wherever the
# clone lives), so two clones on one machine never share a server. The port is picked free below
# the kernel's ephemeral range (where no outgoing connection can take it before the server binds;
# PGPORT overrides it). A failed start prints where the log is and its tail, and is tried once
# more on another port.
set -euo pipefail
cd "$(dirname "$0")/.."

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bindir" ] || { echo "postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
clone=$(pwd -P | sha1sum | cut -c1-12)
data="${OPSCENTRE_PGDATA:-/tmp/opscentre-pgdata-$clone}"
log="$data.log"
if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); else run=(); fi

# running prints the port of this clone's server when it is up.
running() {
  [ -f "$data/postmaster.pid" ] || return 1
  local port
  port=$(sed -n 4p "$data/postmaster.pid" 2>/dev/null)
  [ -n "$port" ] && "${run[@]}" "$bindir/pg_isready" -h 127.0.0.1 -p "$port" -q 2>/dev/null && echo "$port"
}

if [ "${1:-}" = stop ]; then
  if [ -f "$data/postmaster.pid" ]; then
    "${run[@]}" "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  exit 0
fi

# free_port prints a port below the ephemeral range on which nothing listens.
free_port() {
  local low=32768 p i
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then read -r low _ < /proc/sys/net/ipv4/ip_local_port_range; fi
  [ "$low" -gt 11000 ] || low=32768
  for i in $(seq 1 200); do
    p=$(( 10000 + RANDOM % (low - 10000) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "postgres.sh: no free port found below $low" >&2
  return 1
}

if port=$(running); then
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  exit 0
fi

mkdir -p "$data"
if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
chmod 700 "$data"
if [ ! -f "$data/PG_VERSION" ]; then
  "${run[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust >/dev/null
fi
for attempt in 1 2; do
  : > "$log"
  if [ "$(id -u)" = 0 ]; then chown postgres "$log"; fi
  port=${PGPORT:-$(free_port)}
  if "${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 120 \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null; then
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    exit 0
  fi
  echo "postgres.sh: PostgreSQL did not start on port $port (attempt $attempt of 2); its log, $log, ends:" >&2
  tail -n 20 "$log" >&2 || true
  "${run[@]}" "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
done
exit 1
