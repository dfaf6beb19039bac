#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
#   scripts/with-postgresql.sh COMMAND [ARGS...]
#
# Creates a cluster in a temporary directory, starts it on a free TCP port of
# 127.0.0.1 (trust authentication, superuser "postgres"), runs COMMAND with
#   TRYTOND_DATABASE_URI=postgresql://postgres@127.0.0.1:PORT/
#   PGHOST=127.0.0.1 PGPORT=PORT PGUSER=postgres
# and the PostgreSQL binaries (pg_dump, pg_restore, ...) first on PATH, then
# stops the cluster and removes the directory, also on failure or interrupt.
# Exits with COMMAND's exit status.
#
# Environment: PGBIN (default /usr/lib/postgresql/15/bin), PGPORT_FIRST
# (first port tried, default 5433), PG_EXTRA_OPTIONS (more server options,
# e.g. "-c shared_buffers=1GB" for make bench).
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
    echo "$0: $PGBIN/initdb not found (apt-get install postgresql-15," \
        "or set PGBIN)" >&2
    exit 2
fi

# initdb refuses to run as root: run the server as the "postgres" user then.
if [ "$(id -u)" -eq 0 ]; then
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

PGTMP=$(mktemp -d "${TMPDIR:-/tmp}/pgtest.XXXXXX")
PGDATA=$PGTMP/data
PGSOCK=$PGTMP/socket
PGLOG=$PGTMP/server.log
started=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$started" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop \
            >/dev/null 2>&1 \
            || as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop \
            >/dev/null 2>&1 || true
    fi
    rm -rf "$PGTMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir -p "$PGSOCK"
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$PGTMP"
fi

as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$PGTMP/initdb.log" 2>&1 || {
    cat "$PGTMP/initdb.log" >&2
    exit 1
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port=${PGPORT_FIRST:-5433}
last=$((port + 50))
while :; do
    if [ "$port" -gt "$last" ]; then
        echo "$0: could not start PostgreSQL: no free port" >&2
        exit 1
    fi
    if port_in_use "$port"; then
        port=$((port + 1))
        continue
    fi
    # Durability is useless for a throwaway cluster: trade it for speed.
    if as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 start -o \
            "-p $port -k $PGSOCK -c listen_addresses=127.0.0.1 \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            ${PG_EXTRA_OPTIONS:-}" \
            >/dev/null; then
        started=1
        break
    fi
    # Retry on the next port only if we lost a race for this one.
    if ! grep -q 'could not bind\|already in use' "$PGLOG" 2>/dev/null; then
        echo "$0: could not start PostgreSQL:" >&2
        cat "$PGLOG" >&2
        exit 1
    fi
    port=$((port + 1))
done

export TRYTOND_DATABASE_URI="postgresql://postgres@127.0.0.1:$port/"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
export PATH="$PGBIN:$PATH"
echo "$("$PGBIN/postgres" -V | sed "s/^postgres (PostgreSQL)/PostgreSQL/")" \
    "running on $TRYTOND_DATABASE_URI (data in $PGTMP)" >&2

# Run COMMAND as a child (keeping stdin) so that a TERM or HUP sent to this
# script is passed on and the cluster still gets stopped afterwards.  SIGINT
# from a terminal reaches the whole process group, COMMAND included.
set +e
"$@" 0<&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM HUP
trap ':' INT
while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
done
exit "$status"
