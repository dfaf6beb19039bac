# buero365_offers — Tryton 8.0 module.
#
#   make demo         install everything, create/update the SQLite demo
#                     database and serve sao on http://127.0.0.1:8000
#                     (DEMO_PORT=, MAIL_PORT=, MAIL_WEB_PORT= to move it)
#   make demo-reset   delete the demo database, then as `make demo`
#   make serve        the production set-up on PostgreSQL: gunicorn
#                     (SERVE_WORKERS=2), trytond-worker (QUEUE_WORKERS=2),
#                     trytond-cron
#   make bench        the benchmarks side by side on PostgreSQL (N=200000
#                     offers; doc/benchmarks.md), not part of make test
#   make test         whole test suite: SQLite and PostgreSQL side by side
#   make test-sqlite | test-postgresql
#   make lint         ruff;  make translations: update and check de/fr .po
#   make screenshots  retake doc/screenshots (the manual's figures) in sao
#   make install      only the Python environment (.venv)
#   make sao          only the web client (var/sao, with the TinyMCE editor)
#   make clean        caches and build output;  make distclean: also .venv, var
#
# Needs python3.11, node/npm and (for test-postgresql) postgresql-15, which is
# installed with apt-get when missing and running as root.  Set POSTGRESQL_URI
# (e.g. postgresql://user@host:5432/) to test against an existing server
# instead of a throwaway cluster; the user needs CREATEDB.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SITE := $(VENV)/lib/python3.11/site-packages
MODULE := buero365_offers
MODULE_LINK := $(SITE)/trytond/modules/$(MODULE)

PGBIN ?= /usr/lib/postgresql/15/bin
SAO_VERSION ?= 8.0.11
VAR := $(CURDIR)/var
SAO_DIR := $(VAR)/sao
DB_DIR := $(VAR)/db
DEMO_DB := demo
DEMO_CONF := $(VAR)/trytond.conf
DEMO_PASSWORD := $(VAR)/admin-password
DEMO_READY := $(DB_DIR)/.$(DEMO_DB).ready
DEMO_OFFERS ?= 200
# Ports of the demo server and of its mail catcher (SMTP, web page).
DEMO_PORT ?= 8000
MAIL_PORT ?= 8025
MAIL_WEB_PORT ?= 8026
DEMO_URL := http://127.0.0.1:$(DEMO_PORT)
MAIL_DIR := $(VAR)/mail
# Every trytond command of the demo goes through scripts/offline.py: it
# turns off the DNS check of email domains, which fails on a machine
# without DNS (see the script).
OFFLINE := $(PY) $(CURDIR)/scripts/offline.py

# Unit tests (ModuleTestCase, RouteTestCase, ...) run with pytest; the 25
# slowest are listed at the end (the suite's time is to come down).
PYTEST := $(PY) -m pytest $(MODULE)/tests --rootdir=$(CURDIR) \
	-o cache_dir=$(VAR)/.pytest_cache -o console_output_style=classic \
	-ra --durations=25 $(PYTEST_ARGS)
# The scenario_*.rst doctests run through the module's load_tests
# (trytond.tests.test_tryton.load_doc_tests), not through pytest's
# --doctest-glob: pytest would skip doctest_teardown (drop_db), so with
# DB_CACHE the second scenario fails on PostgreSQL ("database already
# exists"), and it would ignore scenario_*.json and the STRIP_DECIMAL flag.
# pytest does not collect test_scenario.py (it has no test_* names), so each
# scenario runs exactly once.
SCENARIOS := $(PY) -m unittest -v trytond.modules.$(MODULE).tests.test_scenario

STAMP_REQ := $(VENV)/.stamp-requirements
STAMP_MOD := $(VENV)/.stamp-module
STAMP_SAO := $(SAO_DIR)/.stamp-$(SAO_VERSION)
# The rich-text editor of sao (trytond's /<db>/ir/html/... route) loads
# TinyMCE from [html] src; it is served by trytond from the web root, never
# from a CDN.  TinyMCE is GPL-2.0-or-later (trytond passes license_key
# 'gpl'); the German and French UI come from tinymce-i18n.
TINYMCE_VERSION ?= 7.9.3
TINYMCE_I18N_VERSION ?= 26.9.21
TINYMCE_DIR := $(SAO_DIR)/package/tinymce
TINYMCE_SRC := /tinymce/tinymce.min.js
TINYMCE_LANGUAGES := de fr
STAMP_TINYMCE := $(SAO_DIR)/.stamp-tinymce-$(TINYMCE_VERSION)-$(TINYMCE_I18N_VERSION)

.PHONY: help venv install sao demo demo-reset demo-db serve test test-sqlite \
	test-postgresql _test-run lint clean distclean chromium translations \
	screenshots bench wrk FORCE

help:
	@sed -n '3,15s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --- Python environment ------------------------------------------------------

venv install: $(STAMP_MOD)

$(STAMP_REQ): requirements.txt
	@if [ ! -x $(PY) ]; then \
	    if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null \
	            && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        apt-get update && DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y --no-install-recommends python3.11-venv; \
	    fi; \
	    echo "Creating $(VENV) with $(PYTHON)"; \
	    $(PYTHON) -m venv $(VENV); \
	fi
	$(PIP) install --disable-pip-version-check -r requirements.txt
	touch $@

# pip install . registers the distribution and its trytond.modules entry
# point; the installed copy is then replaced by a symlink to the sources so
# that edits take effect without reinstalling.  The module files are removed
# from the RECORD so that a later `pip uninstall buero365-offers` (or
# reinstall) cannot delete the sources through the symlink.
$(STAMP_MOD): $(STAMP_REQ) pyproject.toml $(MODULE)/tryton.cfg
	@# a symlink from a previous run (never the sources behind it)
	if [ -L $(MODULE_LINK) ]; then rm -f $(MODULE_LINK); fi
	$(PIP) install --disable-pip-version-check --no-deps \
	    --no-build-isolation --force-reinstall .
	rm -rf $(MODULE_LINK)
	ln -sfn $(CURDIR)/$(MODULE) $(MODULE_LINK)
	for record in $(SITE)/buero365_offers-*.dist-info/RECORD; do \
	    grep -v '^trytond/modules/$(MODULE)/' $$record > $$record.tmp || :; \
	    mv $$record.tmp $$record; \
	done
	rm -rf build
	$(PY) -c 'import trytond.modules.$(MODULE), importlib.metadata as m; \
	    assert any(e.name == "$(MODULE)" for e in \
	        m.entry_points(group="trytond.modules"))'
	touch $@

# --- Web client ----------------------------------------------------------------

sao: $(STAMP_SAO) $(STAMP_TINYMCE)

$(STAMP_SAO):
	rm -rf $(SAO_DIR)
	mkdir -p $(SAO_DIR)
	cd $(SAO_DIR) && npm pack --silent tryton-sao@$(SAO_VERSION) \
	    && tar xzf tryton-sao-$(SAO_VERSION).tgz \
	    && rm tryton-sao-$(SAO_VERSION).tgz
	cd $(SAO_DIR)/package && npm install --omit=dev --legacy-peer-deps \
	    --ignore-scripts --no-audit --no-fund --no-save --loglevel=error
	@# every script and style sheet of index.html must exist
	cd $(SAO_DIR)/package && for f in $$(grep -o \
	        '\(src\|href\)="\(node_modules\|dist\)/[^"]*"' index.html \
	        | cut -d'"' -f2); do \
	    [ -f "$$f" ] || { echo "sao: missing $$f" >&2; exit 1; }; \
	done
	touch $@

# Inside sao's folder, which is trytond's [web] root: served as /tinymce/.
# Rebuilt with sao (its recipe deletes the folder).
$(STAMP_TINYMCE): $(STAMP_SAO)
	rm -rf $(TINYMCE_DIR) $(SAO_DIR)/tinymce-pack
	mkdir -p $(SAO_DIR)/tinymce-pack
	cd $(SAO_DIR)/tinymce-pack \
	    && npm pack --silent tinymce@$(TINYMCE_VERSION) \
	        tinymce-i18n@$(TINYMCE_I18N_VERSION) >/dev/null \
	    && mkdir tinymce i18n \
	    && tar xzf tinymce-$(TINYMCE_VERSION).tgz -C tinymce \
	        --strip-components=1 \
	    && tar xzf tinymce-i18n-$(TINYMCE_I18N_VERSION).tgz -C i18n \
	        --strip-components=1
	@# trytond sets TinyMCE's language to the user's (de, fr): langs/<code>.js
	mkdir -p $(SAO_DIR)/tinymce-pack/tinymce/langs
	cd $(SAO_DIR)/tinymce-pack && for code in $(TINYMCE_LANGUAGES); do \
	    file=$$(ls i18n/langs7/$$code.js i18n/langs7/$${code}_*.js \
	        2>/dev/null | head -1 || :); \
	    [ -n "$$file" ] || { echo "tinymce-i18n: no $$code" >&2; exit 1; }; \
	    sed '1s/addI18n("[^"]*"/addI18n("'$$code'"/' $$file \
	        > tinymce/langs/$$code.js; \
	done
	cp $(SAO_DIR)/tinymce-pack/i18n/LICENSE.md \
	    $(SAO_DIR)/tinymce-pack/tinymce/langs/LICENSE-tinymce-i18n.md
	mv $(SAO_DIR)/tinymce-pack/tinymce $(TINYMCE_DIR)
	rm -rf $(SAO_DIR)/tinymce-pack
	[ -f $(TINYMCE_DIR)$(TINYMCE_SRC:/tinymce%=%) ]
	@# what the test servers and the demo add to their trytond.conf
	printf '%s\n' '[html]' 'src = $(TINYMCE_SRC)' > $(SAO_DIR)/html.conf
	touch $@

# --- Demo ----------------------------------------------------------------------

# Written each time: the ports may come from the command line.
$(DEMO_CONF): FORCE
	mkdir -p $(DB_DIR)
	@printf '%s\n' \
	    '# Written by make; edits are lost.' \
	    '[database]' \
	    'uri = sqlite://' \
	    'path = $(DB_DIR)' \
	    '' \
	    '[web]' \
	    'listen = 127.0.0.1:$(DEMO_PORT)' \
	    'root = $(SAO_DIR)/package' \
	    '' \
	    '# The rich-text editor, served by this server (make sao).' \
	    '[html]' \
	    'src = $(TINYMCE_SRC)' \
	    '' \
	    '[attachment]' \
	    'filestore = True' \
	    '' \
	    '# The demo mail catcher (scripts/mailcatcher.py) receives every mail.' \
	    '[email]' \
	    'uri = smtp://127.0.0.1:$(MAIL_PORT)' \
	    'from = Büro 365 Umzüge GmbH <angebote@buero365.example>' \
	    > $@

$(DEMO_PASSWORD):
	mkdir -p $(VAR)
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(12))' > $@

# Creates the database when it does not exist (or when an earlier creation
# did not finish), otherwise only updates the module.
# The admin email is not given with `trytond-admin --email`: with
# email-validator installed, trytond checks deliverability by DNS there, and
# example.com (null MX) or any domain without working DNS is refused.  The
# empty line answers trytond-admin's email prompt; the address is then
# written with SQL.
demo-db: install $(DEMO_CONF) $(DEMO_PASSWORD)
	@export TRYTONPASSFILE=$(DEMO_PASSWORD); \
	admin="$(OFFLINE) trytond-admin -c $(DEMO_CONF) -d $(DEMO_DB)"; \
	if [ -f $(DEMO_READY) ] && [ -f $(DB_DIR)/$(DEMO_DB).sqlite ]; then \
	    echo "== Updating $(MODULE) in the existing database $(DEMO_DB)"; \
	    $$admin -u $(MODULE) sale_opportunity --activate-dependencies \
	        -l de fr; \
	    $(PY) scripts/demo_setup.py -c $(DEMO_CONF) -d $(DEMO_DB) \
	        --url $(DEMO_URL); \
	else \
	    echo "== Creating the database $(DEMO_DB)"; \
	    rm -f $(DEMO_READY) $(DB_DIR)/$(DEMO_DB).sqlite*; \
	    mkdir -p $(DB_DIR); \
	    touch $(DB_DIR)/$(DEMO_DB).sqlite; \
	    printf '\n' | $$admin --all; echo; \
	    $(PY) -c 'import sqlite3, sys; \
	        c = sqlite3.connect(sys.argv[1]); \
	        c.execute("UPDATE res_user SET email = ? WHERE login = ?", \
	            ("admin@example.com", "admin")); c.commit()' \
	        $(DB_DIR)/$(DEMO_DB).sqlite; \
	    $$admin -u $(MODULE) sale_opportunity --activate-dependencies \
	        -l de fr; \
	    echo "== Loading demo data"; \
	    $(PY) scripts/demo_data.py -c $(DEMO_CONF) -d $(DEMO_DB) \
	        --offers $(DEMO_OFFERS); \
	    $(PY) scripts/demo_setup.py -c $(DEMO_CONF) -d $(DEMO_DB) \
	        --url $(DEMO_URL); \
	    touch $(DEMO_READY); \
	fi

# The mail catcher and trytond-cron (expiry, reminders) run beside the
# server and stop with it (Ctrl-C): the shell ignores SIGINT for background
# jobs, so the trap sends them SIGTERM and waits until they are gone
# (scripts/offline.py turns SIGTERM into a clean stop of trytond-cron and
# its worker processes).
demo: demo-db sao
	@pids=; trap 'kill $$pids 2>/dev/null || :; wait $$pids 2>/dev/null || :' \
	    EXIT INT TERM; \
	$(PY) scripts/mailcatcher.py --port $(MAIL_PORT) --web $(MAIL_WEB_PORT) \
	    --folder $(MAIL_DIR) & pids="$$pids $$!"; \
	$(OFFLINE) trytond-cron -c $(DEMO_CONF) -d $(DEMO_DB) \
	    & pids="$$pids $$!"; \
	sleep 1; \
	echo; \
	echo "=================================================================="; \
	echo " Tryton (sao) and the customer pages: $(DEMO_URL)"; \
	echo " Database: $(DEMO_DB)   User: admin   Password: $$(cat $(DEMO_PASSWORD))"; \
	echo " Sent emails: http://127.0.0.1:$(MAIL_WEB_PORT)  (files in var/mail)"; \
	echo " (the password is kept in var/admin-password; Ctrl-C stops)"; \
	echo "=================================================================="; \
	echo; \
	$(OFFLINE) trytond -c $(DEMO_CONF) -d $(DEMO_DB)

# The production set-up on one machine, on PostgreSQL: gunicorn (WSGI,
# SERVE_WORKERS processes), trytond-worker for ir.queue, trytond-cron, the
# mail catcher (scripts/serve.sh).  A throwaway cluster unless POSTGRESQL_URI
# names a server (the database SERVE_DB is then kept between runs).
SERVE_PORT ?= 8000
SERVE_WORKERS ?= 2
# trytond-worker processes: the emails, and the expiry's batches side by side.
QUEUE_WORKERS ?= 2
SERVE_DB ?= serve
SERVE_OFFERS ?= $(DEMO_OFFERS)

serve: install sao $(DEMO_PASSWORD)
	@export PY=$(PY) OFFLINE="$(OFFLINE)" VAR=$(VAR) SAO_DIR=$(SAO_DIR) \
	    TINYMCE_SRC=$(TINYMCE_SRC) SERVE_PORT=$(SERVE_PORT) \
	    SERVE_WORKERS=$(SERVE_WORKERS) QUEUE_WORKERS=$(QUEUE_WORKERS) \
	    SERVE_DB=$(SERVE_DB) \
	    SERVE_OFFERS=$(SERVE_OFFERS) MAIL_PORT=$(MAIL_PORT) \
	    MAIL_WEB_PORT=$(MAIL_WEB_PORT) DEMO_PASSWORD=$(DEMO_PASSWORD); \
	if [ -n "$${POSTGRESQL_URI:-}" ]; then \
	    TRYTOND_DATABASE_URI=$$POSTGRESQL_URI scripts/serve.sh; \
	else \
	    PG_EXTRA_OPTIONS="-c jit=off" \
	        scripts/with-postgresql.sh scripts/serve.sh; \
	fi

# --- Benchmarks (doc/benchmarks.md; never part of make test) -----------------

# N offers and as many sale quotations in a throwaway cluster (or in BENCH_DB
# on POSTGRESQL_URI, kept and reused), then the figures side by side.
N ?= 200000
BENCH_DB ?= bench
BENCH_RUNS ?= 5
BENCH_SECONDS ?= 10
# The cluster as in doc/benchmarks.md: the million fits in its buffers;
# no JIT, as doc/admin.md advises for production.
BENCH_PGOPTIONS := -c shared_buffers=1GB -c max_wal_size=8GB \
	-c checkpoint_timeout=30min -c max_connections=200 -c jit=off

# The load generator of the customer page (Debian's wrk, loopback only).
wrk:
	@if ! command -v wrk >/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        apt-get update && DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y --no-install-recommends wrk; \
	    else \
	        echo "wrk missing: apt-get install wrk" >&2; exit 1; \
	    fi; \
	fi

bench: install wrk $(DEMO_PASSWORD)
	@export PY=$(PY) OFFLINE="$(OFFLINE)" VAR=$(VAR) BENCH_N=$(N) \
	    BENCH_DB=$(BENCH_DB) BENCH_RUNS=$(BENCH_RUNS) \
	    BENCH_SECONDS=$(BENCH_SECONDS) DEMO_PASSWORD=$(DEMO_PASSWORD); \
	if [ -n "$${POSTGRESQL_URI:-}" ]; then \
	    TRYTOND_DATABASE_URI=$$POSTGRESQL_URI scripts/bench.sh; \
	else \
	    PG_EXTRA_OPTIONS="$(BENCH_PGOPTIONS)" \
	        scripts/with-postgresql.sh scripts/bench.sh; \
	fi

demo-reset:
	rm -rf $(DB_DIR)
	$(MAKE) demo

FORCE:

# --- Tests ---------------------------------------------------------------------

# DB_CACHE keeps the databases with activated modules between test classes
# and runs.  trytond keys them only by the list of modules, so the directory
# is named after a hash of the module sources and requirements.txt; caches
# for other hashes are deleted.  In the throwaway PostgreSQL cluster they are
# template databases instead (DB_CACHE=postgresql://, gone with the
# cluster): a class's copy takes 0.8 s, against 2 s from pg_dump's files.
test_hash = $$( (cat requirements.txt; find $(MODULE) -type f \
	! -path '*/__pycache__/*' ! -name '*.py[co]' -print0 | LC_ALL=C sort -z \
	| xargs -0 sha1sum) | sha1sum | cut -c1-16)

# The browser test drives Debian's Chromium with Playwright (pinned in
# requirements.txt; it uses /usr/bin/chromium, never a downloaded browser).
# The browser tests of the staff side serve sao and TinyMCE (make sao).
CHROMIUM := /usr/bin/chromium

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        apt-get update && DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y --no-install-recommends chromium; \
	    else \
	        echo "$(CHROMIUM) missing: apt-get install chromium" \
	            "(the browser test is skipped)" >&2; \
	    fi; \
	fi

# The browser tests (sao for the staff, Chromium on the customer pages)
# drive the client against the server: they run in the runs of the backends
# listed here, by default SQLite only, the backend of `make demo` (the
# server's behaviour on PostgreSQL is what the server tests check there).
# BROWSER_BACKENDS="sqlite postgresql" runs them on both.
BROWSER_BACKENDS ?= sqlite
browser_tests = $(if $(filter $(1),$(BROWSER_BACKENDS)),1,0)

# The two backends run side by side (TEST_PARALLEL=0: one after the other):
# much of a browser test is waiting, so two runs share two cores well.  The
# SQLite run prints as it goes; the PostgreSQL run's output follows it.
TEST_PARALLEL ?= 1

test: install chromium sao
	@rc=0; start=$$(date +%s); \
	if [ "$(TEST_PARALLEL)" = 1 ]; then \
	    mkdir -p $(VAR); log=$(VAR)/test-postgresql.log; \
	    $(MAKE) --no-print-directory test-postgresql >$$log 2>&1 & pg=$$!; \
	    $(MAKE) --no-print-directory test-sqlite || rc=1; \
	    wait $$pg || rc=1; cat $$log; \
	else \
	    $(MAKE) --no-print-directory test-sqlite || rc=1; \
	    $(MAKE) --no-print-directory test-postgresql || rc=1; \
	fi; \
	took=$$(( $$(date +%s) - start )); \
	if [ $$rc = 0 ]; then echo "== All tests passed in $$took s"; \
	else echo "== TESTS FAILED after $$took s" >&2; fi; \
	exit $$rc

# Each backend has its own file store under var/ (emptied first): files of
# another run, or of another checkout on the machine, never mix with a
# test's (trytond's default is ~/db/<database name>, e.g. ~/db/:memory:).
test-sqlite: install chromium sao
	@cache=$(VAR)/db-cache-sqlite; hash=$(test_hash); \
	rm -rf $(VAR)/filestore-sqlite; mkdir -p $(VAR)/filestore-sqlite; \
	find $$cache -mindepth 1 -maxdepth 1 ! -name $$hash \
	    -exec rm -rf {} + 2>/dev/null || :; \
	echo "== Tests on SQLite"; \
	start=$$(date +%s); rc=0; \
	TRYTOND_DATABASE_URI=sqlite:// DB_NAME=:memory: DB_CACHE=$$cache/$$hash \
	TRYTOND_DATABASE__PATH=$(VAR)/filestore-sqlite \
	BROWSER_TESTS=$(call browser_tests,sqlite) \
	    $(MAKE) --no-print-directory _test-run || rc=$$?; \
	echo "== SQLite: $$( [ $$rc = 0 ] && echo passed || echo FAILED)" \
	    "in $$(( $$(date +%s) - start )) s"; \
	exit $$rc

test-postgresql: install chromium sao
	@if [ -z "$${POSTGRESQL_URI:-}" ] && [ ! -x $(PGBIN)/initdb ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        apt-get update && DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y --no-install-recommends postgresql-15; \
	    else \
	        echo "PostgreSQL 15 missing: apt-get install postgresql-15," \
	            "or set POSTGRESQL_URI" >&2; \
	        exit 1; \
	    fi; \
	fi; \
	cache=$(VAR)/db-cache-pg; hash=$(test_hash); \
	rm -rf $(VAR)/filestore-pg; mkdir -p $(VAR)/filestore-pg; \
	find $$cache -mindepth 1 -maxdepth 1 ! -name $$hash \
	    -exec rm -rf {} + 2>/dev/null || :; \
	export PATH="$(PGBIN):$$PATH" DB_CACHE=$$cache/$$hash; \
	if [ -z "$${POSTGRESQL_URI:-}" ]; then \
	    export DB_CACHE=postgresql://; \
	fi; \
	export TRYTOND_DATABASE__PATH=$(VAR)/filestore-pg; \
	export BROWSER_TESTS=$(call browser_tests,postgresql); \
	export DB_NAME=test_$$(date +%s)_$$$$; \
	echo "== Tests on PostgreSQL"; \
	start=$$(date +%s); rc=0; \
	if [ -n "$${POSTGRESQL_URI:-}" ]; then \
	    TRYTOND_DATABASE_URI=$$POSTGRESQL_URI \
	        $(MAKE) --no-print-directory _test-run || rc=$$?; \
	else \
	    scripts/with-postgresql.sh \
	        $(MAKE) --no-print-directory _test-run || rc=$$?; \
	fi; \
	echo "== PostgreSQL: $$( [ $$rc = 0 ] && echo passed || echo FAILED)" \
	    "in $$(( $$(date +%s) - start )) s"; \
	exit $$rc

# Needs TRYTOND_DATABASE_URI, DB_NAME and DB_CACHE from the targets above.
# SAO_ROOT: the web client the staff browser tests (tests/sao.py) serve;
# set, a missing client fails them instead of skipping them.
_test-run:
	@rc=0; \
	export SAO_ROOT=$(SAO_DIR)/package; \
	$(PYTEST) || rc=1; \
	if [ -f $(MODULE)/tests/test_scenario.py ]; then \
	    $(SCENARIOS) || rc=1; \
	fi; \
	exit $$rc

# --- Misc ------------------------------------------------------------------------

# Retake the user manual's figures (doc/screenshots) with the browser tests
# of the staff side on SQLite; a plain test run writes them to var/.
screenshots: install chromium sao
	TRYTOND_DATABASE_URI=sqlite:// DB_NAME=:memory: \
	    DB_CACHE=$(VAR)/db-cache-sqlite/$(test_hash) \
	    SAO_SCREENSHOTS=$(CURDIR)/doc/screenshots SAO_ROOT=$(SAO_DIR)/package \
	    $(PYTEST) -k "Sao or Flows"

lint: install
	$(VENV)/bin/ruff check $(MODULE) scripts

# Regenerate locale/de.po and fr.po from the sources (a throwaway database,
# about a minute); fails when a string is untranslated or fuzzy.
translations: install
	$(PY) scripts/update_translations.py --check

clean:
	rm -rf build dist *.egg-info .pytest_cache $(VAR)/.pytest_cache \
	    $(VAR)/db-cache-sqlite $(VAR)/db-cache-pg
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune \
	    -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(VAR)
