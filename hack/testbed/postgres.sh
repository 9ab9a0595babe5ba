#!/usr/bin/env bash
# Starts the bed's PostgreSQL on 127.0.0.1:$POSTGRES_PORT, or leaves it alone when it is already up.
# Debian's postgresql package (installed when missing and running as root), one cluster in
# a data folder owned by the postgres OS user when run as root (initdb refuses root; see lib.sh),
# trust authentication on loopback only, superuser and database `pubsub`. up.sh calls it; run it
# on its own to add PostgreSQL to a bed that is already up, then `make env-up` to rewrite env.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib.sh"

if is_running postgres && postgres_ready; then
  log "postgres already up on :$POSTGRES_PORT"
  exit 0
fi

if [[ -z "$(postgres_bin_dir)" ]]; then
  if (( EUID == 0 )) && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq postgresql >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } \
      || die "apt-get install postgresql failed"
  fi
  [[ -n "$(postgres_bin_dir)" ]] \
    || die "PostgreSQL is required (on Debian: apt-get install postgresql), or point PUBSUB_BED_POSTGRES_BIN_DIR at its bin folder"
fi
bin="$(postgres_bin_dir)"

# As root the server runs as the postgres OS user, which the Debian package creates.
as_owner=()
if (( EUID == 0 )); then
  id postgres >/dev/null 2>&1 || die "running as root needs the postgres OS user (the postgresql package creates it)"
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi

port_taken "$POSTGRES_PORT" && die "port $POSTGRES_PORT on 127.0.0.1 is taken by another program; move the bed's PostgreSQL with PUBSUB_BED_POSTGRES_PORT"

mkdir -p "$BED_DIR"
if [[ ! -f "$POSTGRES_DATA/PG_VERSION" ]]; then
  rm -rf "$POSTGRES_DATA"
  mkdir -p "$POSTGRES_DATA"
  if (( EUID == 0 )); then chown postgres:postgres "$POSTGRES_DATA"; fi
  "${as_owner[@]}" "$bin/initdb" -D "$POSTGRES_DATA" -U pubsub --auth=trust --encoding=UTF8 --no-locale \
    >"$BED_DIR/postgres-initdb.log" 2>&1 || die "initdb failed; its log is $BED_DIR/postgres-initdb.log"
fi

log "starting postgres on :$POSTGRES_PORT"
# Durability is traded for speed, as with etcd's --unsafe-no-fsync: the bed's data is disposable.
start postgres "${as_owner[@]}" "$bin/postgres" -D "$POSTGRES_DATA" -p "$POSTGRES_PORT" \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=300 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off
wait_for postgres 60 postgres_ready

if ! "$bin/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U pubsub -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'pubsub'" | grep -q 1; then
  "$bin/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U pubsub pubsub
fi
