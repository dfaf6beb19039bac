#!/usr/bin/env bash
# make bench: the figures of doc/benchmarks.md, side by side, on PostgreSQL.
#   1. a database with BENCH_N demo offers (scripts/demo_data.py) and as many
#      Tryton sale.sale quotations for the same customers
#      (scripts/bench_sales.py); kept and reused when it is there already
#      (POSTGRESQL_URI given), loaded anew in a throwaway cluster;
#   2. the search box: ours, the SQL floor, Tryton's sale list
#      (scripts/bench_search.py);
#   3. the customer page against a static route of the same server, under
#      gunicorn with 1 and 2 processes, at concurrency 1, 8 and 32, with wrk
#      (scripts/bench_page.py);
# and the summing-up line last:
#   search ratio ours/floor: X.X (name) X.X (email) X.X (number); page/static: X %
# Run by make bench inside scripts/with-postgresql.sh (a throwaway cluster)
# or with TRYTOND_DATABASE_URI pointing to a PostgreSQL server.
# Environment (from the Makefile): PY, OFFLINE, VAR, BENCH_N, BENCH_DB,
# BENCH_RUNS, BENCH_SECONDS, DEMO_PASSWORD.
set -euo pipefail

: "${TRYTOND_DATABASE_URI:?a PostgreSQL URI (make bench starts a cluster)}"
conf=$VAR/bench.conf
store=$VAR/bench-filestore
mkdir -p "$store"
cat > "$conf" <<EOF
# Written by make bench; edits are lost.
[database]
uri = $TRYTOND_DATABASE_URI
path = $store

[attachment]
filestore = True

# Several processes: a cache entry one of them changes is dropped by all at
# once (PostgreSQL LISTEN/NOTIFY), not up to 5 minutes later (the default).
[cache]
clean_timeout = 0
EOF
export TRYTONPASSFILE=$DEMO_PASSWORD
BENCH_URI=$TRYTOND_DATABASE_URI
unset TRYTOND_DATABASE_URI
out=$VAR/bench-$BENCH_N.txt
log() { echo "== $(date +%T) $*" >&2; }

admin="$OFFLINE trytond-admin -c $conf -d $BENCH_DB"
# The module's trigram indexes need pg_trgm before trytond-admin.
created=$($PY scripts/pg_database.py "$BENCH_URI" "$BENCH_DB" \
    --extension pg_trgm --extension unaccent)
if [ "$created" = created ]; then
    log "creating the database $BENCH_DB"
    printf '\n' | $admin --all >/dev/null; echo >&2
    $admin -u buero365_offers sale_opportunity --activate-dependencies \
        >/dev/null
    log "loading $BENCH_N offers"
    $PY scripts/demo_data.py -c "$conf" -d "$BENCH_DB" --offers "$BENCH_N" \
        >&2
    log "loading $BENCH_N sale quotations"
    $PY scripts/bench_sales.py -c "$conf" -d "$BENCH_DB" >&2
    log "VACUUM ANALYZE"
    $PY - "$BENCH_URI" "$BENCH_DB" <<'EOF'
import sys
import psycopg
with psycopg.connect(sys.argv[1] + sys.argv[2], autocommit=True) as conn:
    conn.execute('VACUUM ANALYZE')
EOF
else
    log "reusing the database $BENCH_DB"
    $admin -u buero365_offers >/dev/null
fi

{
    echo "# make bench N=$BENCH_N, $(date -u +%F\ %H:%M) UTC"
    log "search box"
    $PY scripts/bench_search.py -c "$conf" -d "$BENCH_DB" --runs "$BENCH_RUNS"
    log "customer page"
    $PY scripts/bench_page.py -c "$conf" -d "$BENCH_DB" \
        --seconds "$BENCH_SECONDS" --offline "$OFFLINE"
} | tee "$out.tmp"
mv "$out.tmp" "$out"
search=$(grep '^search ratio ours/floor:' "$out")
page=$(grep '^page/static:' "$out")
echo
echo "$search; $page"
