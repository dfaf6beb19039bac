#!/usr/bin/env bash
# The production set-up on one machine (make serve), on PostgreSQL:
#   gunicorn (WSGI, SERVE_WORKERS processes) serving trytond.application,
#   trytond-worker for ir.queue ([queue] worker = True: emails, PDFs, the
#   expiry's batches; QUEUE_WORKERS processes),
#   one trytond-cron, the demo mail catcher as the SMTP server.
# Run by make serve inside scripts/with-postgresql.sh (a throwaway cluster)
# or with TRYTOND_DATABASE_URI pointing to a PostgreSQL server.
# Environment (from the Makefile): PY, OFFLINE, VAR, SAO_DIR, TINYMCE_SRC,
# SERVE_PORT, SERVE_WORKERS, QUEUE_WORKERS, SERVE_DB, SERVE_OFFERS, MAIL_PORT,
# MAIL_WEB_PORT, DEMO_PASSWORD.
set -euo pipefail

: "${TRYTOND_DATABASE_URI:?a PostgreSQL URI (make serve starts a cluster)}"
conf=$VAR/serve.conf
store=$VAR/serve-filestore
mkdir -p "$store" "$VAR/mail"
cat > "$conf" <<EOF
# Written by make serve; edits are lost.
[database]
uri = $TRYTOND_DATABASE_URI
path = $store

[web]
listen = 127.0.0.1:$SERVE_PORT
root = $SAO_DIR/package

[html]
src = $TINYMCE_SRC

[attachment]
filestore = True

# ir.queue tasks (emails, reminders) go to trytond-worker, not to the
# process that committed them.
[queue]
worker = True

# Several processes: a cache entry one of them changes is dropped by all at
# once (PostgreSQL LISTEN/NOTIFY), not up to 5 minutes later (the default).
[cache]
clean_timeout = 0

[email]
uri = smtp://127.0.0.1:$MAIL_PORT
from = Büro 365 Umzüge GmbH <angebote@buero365.example>
EOF
export TRYTOND_CONFIG=$conf TRYTONPASSFILE=$DEMO_PASSWORD
SERVE_URI=$TRYTOND_DATABASE_URI
# The URI of the configuration file, not of the environment, from here on.
unset TRYTOND_DATABASE_URI
url=http://127.0.0.1:$SERVE_PORT

admin="$OFFLINE trytond-admin -c $conf -d $SERVE_DB"
created=$($PY scripts/pg_database.py "$SERVE_URI" "$SERVE_DB")
if [ "$created" = created ]; then
    echo "== Created the database $SERVE_DB on PostgreSQL"
    printf '\n' | $admin --all; echo
    $admin -u buero365_offers sale_opportunity --activate-dependencies -l de fr
    echo "== Loading demo data"
    $PY scripts/demo_data.py -c "$conf" -d "$SERVE_DB" --offers "$SERVE_OFFERS"
else
    $admin -u buero365_offers sale_opportunity --activate-dependencies -l de fr
fi
$PY scripts/demo_setup.py -c "$conf" -d "$SERVE_DB" --url "$url"

pids=
stop() {
    trap - EXIT INT TERM
    kill $pids 2>/dev/null || :
    wait $pids 2>/dev/null || :
}
trap stop EXIT INT TERM
$PY scripts/mailcatcher.py --port "$MAIL_PORT" --web "$MAIL_WEB_PORT" \
    --folder "$VAR/mail" & pids="$pids $!"
$OFFLINE trytond-worker -c "$conf" -d "$SERVE_DB" -n "${QUEUE_WORKERS:-2}" & pids="$pids $!"
$OFFLINE trytond-cron -c "$conf" -d "$SERVE_DB" & pids="$pids $!"
# gunicorn's sync workers: one request per process, SERVE_WORKERS
# processes; trytond keeps its pool per process.
$OFFLINE gunicorn --workers "$SERVE_WORKERS" --bind "127.0.0.1:$SERVE_PORT" \
    --timeout 120 --graceful-timeout 10 --access-logfile - \
    --env TRYTOND_DATABASE_NAMES="$SERVE_DB" \
    trytond.application:app & pids="$pids $!"
sleep 2
echo
echo "=================================================================="
echo " Production set-up (gunicorn × $SERVE_WORKERS, worker, cron) on PostgreSQL"
echo " Tryton (sao) and the customer pages: $url"
echo " Database: $SERVE_DB   User: admin   Password: $(cat "$DEMO_PASSWORD")"
echo " Sent emails: http://127.0.0.1:$MAIL_WEB_PORT  (Ctrl-C stops)"
echo "=================================================================="
wait -n $pids
