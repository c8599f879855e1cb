#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the batch runner's tests.
#
#   eval "$(scripts/postgres-for-tests.sh start)"   # exports FAL_BATCH_TEST_POSTGRES
#   scripts/postgres-for-tests.sh stop              # stops it, removes its files
#
# It installs Debian's `postgresql` package when no server is present, then
# makes a cluster of its own in a temporary directory with initdb and starts it
# with pg_ctl (not the packaged service, which may be absent or already used on
# a fresh machine). PostgreSQL refuses to run as root, so as root the server
# runs as the package's `postgres` user.
set -euo pipefail

server_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
  start)
    bin="$(server_bin)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
      echo "installing postgresql from the distribution's packages" >&2
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      bin="$(server_bin)"
    fi
    data="$(mktemp -d /tmp/fal-batch-pg.XXXXXX)"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$data"
    fi
    as_postgres "$bin/initdb" -D "$data/db" -A trust -U postgres --no-sync >"$data/initdb.log" 2>&1 \
      || { cat "$data/initdb.log" >&2; exit 1; }
    # A free port: try a few random ones.
    for _ in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 30000))
      if as_postgres "$bin/pg_ctl" -D "$data/db" -l "$data/db/server.log" -w -t 60 \
          -o "-h 127.0.0.1 -p $port -k $data/db -c fsync=off -c max_connections=200" start >&2; then
        echo "export FAL_BATCH_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres"
        echo "export FAL_BATCH_TEST_PGDATA=$data/db"
        exit 0
      fi
    done
    cat "$data/db/server.log" >&2 || true
    echo "PostgreSQL did not start" >&2
    exit 1
    ;;
  stop)
    data="${FAL_BATCH_TEST_PGDATA:?FAL_BATCH_TEST_PGDATA is not set}"
    bin="$(server_bin)"
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >&2 || true
    rm -rf "$(dirname "$data")"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
