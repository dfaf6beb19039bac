#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The search box at scale: ours, the SQL floor and Tryton's sale list.

    python scripts/bench_search.py -c trytond.conf -d DATABASE [--runs 5]

Run by `make bench` on a database loaded with scripts/demo_data.py and
scripts/bench_sales.py (PostgreSQL).  Three searches a user types, with the
terms taken from the data: a customer-name fragment ("müll"), a fragment of
one customer's email, a fragment of one offer number.  For each, the round
the web client makes for a list, in a new read-only transaction as admin
with its preferences:

  search(domain, 0, 80) in the list order, read() of the fields of the
  list view (with the rec_name of the Many2One fields), and, when the page
  is full, search_count(domain, 0, 8000) (sao's capped count; with fewer
  rows sao counts none).

- ours: buero365.offer, domain [('rec_name', 'ilike', '%term%')], the
  search box;
- floor: the same three answers by hand-written SQL on the raw columns
  (number, title, email, the customer's name) with trigram indexes — the
  page of offers with what the list shows in one statement, and the capped
  count — the
  customer's ids first collected into an array (a BitmapOr of trigram
  index scans) — indexes the command creates where the module has none and
  drops afterwards; it ignores case but not accents, so it finds no more;
- sale: Tryton's sale.sale list on the same terms: its search box
  (rec_name: number, reference) for the number, the party filter
  (('party', 'ilike', …): name, code, contacts) for the name and email.

Prints a Markdown table (median / worst of --runs after one cold run) and,
on its last line, `search ratio ours/floor: …` that make bench sums up."""
import argparse
import time

import bench_common as bc

LIMIT, COUNT_LIMIT = 80, 8000
# The floor's trigram indexes (table, column); the command creates those the
# module does not have and drops them afterwards.
FLOOR_INDEXES = [
    ('party_party', 'name'),
    ('buero365_offer', 'number'),
    ('buero365_offer', 'title'),
    ('buero365_offer', 'email'),
    ]
FLOOR_WHERE = (
    "o.party = ANY (ARRAY(SELECT id FROM party_party WHERE name ILIKE %(t)s))"
    " OR o.number ILIKE %(t)s OR o.title ILIKE %(t)s OR o.email ILIKE %(t)s")
# The page of the list with what its columns show (the names of the customer,
# company, currency and lead source, the numbers of notes and media).
FLOOR_LIST = (
    "WITH page AS (SELECT o.* FROM buero365_offer o "
    f"WHERE {FLOOR_WHERE} "
    "ORDER BY o.create_date DESC, o.id DESC LIMIT %(limit)s) "
    "SELECT o.id, o.number, o.title, o.email, o.state, o.email_state, "
    "o.email_opened_at, o.valid_until, o.total_amount, "
    "o.create_date::date, p.name, cp.name, c.name, ls.name, "
    "(SELECT count(*) FROM buero365_offer_note n WHERE n.offer = o.id), "
    "(SELECT count(*) FROM ir_attachment a "
    "WHERE a.resource = 'buero365.offer,' || o.id "
    "AND a.media_kind IS NOT NULL) "
    "FROM page o JOIN party_party p ON p.id = o.party "
    "JOIN company_company co ON co.id = o.company "
    "JOIN party_party cp ON cp.id = co.party "
    "JOIN currency_currency c ON c.id = o.currency "
    "LEFT JOIN buero365_lead_source ls ON ls.id = o.lead_source "
    "ORDER BY o.create_date DESC, o.id DESC")
FLOOR_COUNT = (
    "SELECT count(*) FROM (SELECT 1 FROM buero365_offer o "
    f"WHERE {FLOOR_WHERE} LIMIT %(count)s) AS s")


def terms(database):
    """The three searches: (label, term), taken from one offer of the
    middle of the data, so that each finds something."""
    from trytond.pool import Pool
    with bc.admin_transaction(database):
        Offer = Pool().get('buero365.offer')
        total = Offer.search_count([])
        offer, = Offer.search([], offset=total // 2, limit=1,
            order=[('id', 'ASC')])
        local = offer.email.split('@')[0]
        return [
            ('name', 'müll'),
            ('email', local[:max(6, len(local) - 2)]),
            ('number', offer.number[-6:]),
            # What a round costs in trytond (access, user, company) when
            # the SQL finds nothing.
            ('nothing', 'qxzqxz'),
            ]


def list_round(Model, domain, names, count=False, searched=None):
    """The client's round for a list on Model in the current transaction:
    search(domain, 0, LIMIT), read() of names, search_count(domain, 0,
    COUNT_LIMIT) when the page is full (with count: always).  Return the
    seconds of each step ({'search', 'read', 'count'}), the rows and the
    count; searched() is called right after the search."""
    times = {'count': 0}
    start = time.perf_counter()
    records = Model.search(domain, 0, LIMIT, None)
    times['search'] = time.perf_counter() - start
    if searched:
        searched()
    start = time.perf_counter()
    Model.read([r.id for r in records], names)
    times['read'] = time.perf_counter() - start
    total = len(records)
    if count or total == LIMIT:
        start = time.perf_counter()
        total = Model.search_count(domain, 0, COUNT_LIMIT)
        times['count'] = time.perf_counter() - start
    return times, len(records), total


def orm_round(database, model, domain):
    "Seconds of the client's round on model: search, read, capped count."
    from trytond.pool import Pool
    with bc.admin_transaction(database):
        Model = Pool().get(model)
        times, rows, count = list_round(Model, domain, bc.list_fields(Model))
        return sum(times.values()), rows, count


def floor_round(connection, term):
    "Seconds of the same answers by hand-written SQL."
    params = {'t': f'%{term}%', 'limit': LIMIT, 'count': COUNT_LIMIT}
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_LIST, params)
        rows = cursor.fetchall()
        count = len(rows)
        if count == LIMIT:
            cursor.execute(FLOOR_COUNT, params)
            count, = cursor.fetchone()
    connection.rollback()
    return time.perf_counter() - start, len(rows), count


def sale_domain(label, term):
    if label == 'number':
        return [('rec_name', 'ilike', f'%{term}%')]
    return [('party', 'ilike', f'%{term}%')]


def measure(runs, function, *args):
    "Median, worst of runs after one cold run, and the rows and count."
    function(*args)
    results = [function(*args) for _ in range(runs)]
    median, worst = bc.summary([r[0] for r in results])
    return median, worst, results[-1][1], results[-1][2]


def floor_connection(database):
    """A psycopg connection to database, with the floor's indexes; return
    it and the names of the indexes created."""
    import psycopg

    from trytond import config
    connection = psycopg.connect(config.get('database', 'uri') + database)
    created = []
    with connection.cursor() as cursor:
        for table, column in FLOOR_INDEXES:
            cursor.execute(
                "SELECT 1 FROM pg_indexes WHERE tablename = %s "
                "AND indexdef ~ %s", (table, rf'gin \("?{column}"? gin_trgm'))
            if not cursor.fetchone():
                name = f'bench_floor_{table}_{column}'
                cursor.execute(f'CREATE INDEX {name} ON {table} '
                    f'USING gin ({column} gin_trgm_ops)')
                created.append(name)
        cursor.execute('ANALYZE buero365_offer')
        cursor.execute('ANALYZE party_party')
    connection.commit()
    return connection, created


def drop_floor_indexes(connection, created):
    with connection.cursor() as cursor:
        for name in created:
            cursor.execute(f'DROP INDEX IF EXISTS {name}')
    connection.commit()
    connection.close()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()

    bc.start_pool(args.config, args.database)
    connection, created = floor_connection(args.database)
    print(f"# floor indexes created: {', '.join(created) or 'none'}")
    print(f"# load average before: {bc.loadavg()}")
    rows, ratios = [], {}
    try:
        for label, term in terms(args.database):
            like = [('rec_name', 'ilike', f'%{term}%')]
            ours = measure(args.runs, orm_round, args.database,
                'buero365.offer', like)
            floor = measure(args.runs, floor_round, connection, term)
            sale = measure(args.runs, orm_round, args.database,
                'sale.sale', sale_domain(label, term))
            ratios[label] = ours[0] / floor[0]
            rows.append([f"{label} '{term}'",
                    *(f"{m:.3f} / {w:.3f} s ({n} rows, count {c:,})"
                        for m, w, n, c in [ours, floor, sale]),
                    f"{ratios[label]:.1f}", f"{ours[0] / sale[0]:.2f}"])
            print(*rows[-1], sep=' | ', flush=True)
    finally:
        drop_floor_indexes(connection, created)
    print()
    bc.print_table(["Search (round: search 80, read, count ≤ 8,000)",
            "ours median / worst", "SQL floor", "Tryton sale list",
            "ours / floor", "ours / sale"], rows)
    print(f"# load average after: {bc.loadavg()}")
    print("search ratio ours/floor: " + ' '.join(
            f"{ratios[k]:.1f} ({k})" for k in ['name', 'email', 'number']))


if __name__ == '__main__':
    main()
