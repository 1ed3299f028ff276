#!/bin/sh
# The db service's entrypoint (busybox sh): on the first start, initdb into $PGDATA (an emptyDir) with the superuser
# and database from POSTGRES_USER/POSTGRES_DB (todo/todo) and the password from POSTGRES_PASSWORD (the Secret
# db-credentials, key password); then postgres listening on every address with scram-sha-256 for every host.
# The image's STOPSIGNAL SIGINT makes the kubelet's stop a fast shutdown.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
user="${POSTGRES_USER:-todo}"
db="${POSTGRES_DB:-todo}"

if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "db: POSTGRES_PASSWORD is not set: give it from the Secret db-credentials (key password); refusing to start" >&2
  exit 1
fi

# As root: own the data and socket folders, then run this script again as postgres (su -p keeps the environment).
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec su -p -s /bin/sh postgres -c 'exec "$0" "$@"' "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  started=$(date +%s)
  pwfile=$(mktemp)
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # C locale with UTF-8: the image has no locale files, and C sorts predictably.
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth=scram-sha-256 --locale=C --encoding=UTF8 >/dev/null
  rm -f "$pwfile"
  trap - EXIT
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    # Single-user mode: no server, no socket; the statement is read from stdin.
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  echo "db: initialized $PGDATA (user $user, database $db) in $(($(date +%s) - started))s"
fi

exec "$@"
