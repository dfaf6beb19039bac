#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Measure the staff list of offers and the customer page.

    python scripts/bench_list.py -c trytond.conf -d DATABASE \\
        [--runs 5] [--requests 20] [--search müll] [--seed 1]

The list: for each tab of the Offers menu (Open, Accepted, Expired,
Rejected, All), and for the search box text --search (rec_name ilike) in the
tabs All and Open, the calls the web client makes, as the user admin with
its preferences:
  search(domain, 0, 80, default order), read() of the fields of the list
  view (with the rec_name of the Many2One fields), search_count(domain, 0,
  8000) (the client counts when the page is full), and the unlimited
  search_count(domain).  Median and worst of --runs runs, each in a new
  read-only transaction.
The customer page: GET /<database>/offers/<token> for the current link of
a random offer, through trytond's WSGI application with werkzeug's test
client, median and worst of --requests requests (each one records a
'page opened' event and commits, as in production).
The results are written down in doc/benchmarks.md."""
import argparse
import random
import time

import bench_common as bc
from bench_search import list_round

TABS = [
    ('Open', [('state', '=', 'open')]),
    ('Accepted', [('state', '=', 'accepted')]),
    ('Expired', [('state', '=', 'expired')]),
    ('Rejected', [('state', '=', 'rejected')]),
    ('All', []),
    ]


def list_fields(pool):
    "The fields the client reads for the list view of the Offers menu."
    return bc.list_fields(pool.get('buero365.offer'))


def measure_list(pool, database, domain, names, recorder, jit):
    """The client's round (bench_search.list_round, its capped count
    always) and the unlimited search_count."""
    Offer = pool.get('buero365.offer')
    sql = []
    with bc.admin_transaction(database) as transaction:
        bc.set_jit(transaction, jit)
        recorder.clear()
        times, rows, page_count = list_round(Offer, domain, names,
            count=True, searched=lambda: sql.append(recorder.slowest()))
        start = time.perf_counter()
        count = Offer.search_count(domain)
        times['all'] = time.perf_counter() - start
    return {
        'rows': rows,
        'search': times['search'],
        'read': times['read'],
        'count8000': times['count'],
        'count8000_value': page_count,
        'count': times['all'],
        'count_value': count,
        'search_sql': sql[0],
        }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--requests', type=int, default=20)
    parser.add_argument('--search', default='müll')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--jit', choices=['on', 'off'])
    parser.add_argument('--explain', metavar='FILE',
        help="write EXPLAIN ANALYZE of the search statement of the "
        "search box cases into FILE")
    parser.add_argument('--skip-list', action='store_true')
    parser.add_argument('--skip-page', action='store_true')
    args = parser.parse_args()
    jit = None if args.jit is None else args.jit == 'on'

    pool = bc.start_pool(args.config, args.database)
    with bc.admin_transaction(args.database) as transaction:
        server = bc.server_version(transaction)
        names = list_fields(pool)
    print(f"# {bc.machine()}, {server}, jit={args.jit or 'server'}")
    print(f"# list fields read: {', '.join(names)}")
    print(f"# load average before: {bc.loadavg()}")

    cases = list(TABS)
    text = f"%{args.search}%"
    cases.append((f"All + search '{args.search}'",
            [('rec_name', 'ilike', text)]))
    cases.append((f"Open + search '{args.search}'",
            ['AND', [('state', '=', 'open')], [('rec_name', 'ilike', text)]]))

    rows = []
    explains = []
    if not args.skip_list:
        with bc.SQLRecorder() as recorder:
            for label, domain in cases:
                results = [measure_list(pool, args.database, domain, names,
                        recorder, jit) for _ in range(args.runs)]

                def fmt(key):
                    median, worst = bc.summary([r[key] for r in results])
                    return f"{median:.3f} / {worst:.3f}"
                last = results[-1]
                rows.append([label, last['rows'], fmt('search'),
                        fmt('read'),
                        f"{fmt('count8000')} (= {last['count8000_value']:,})",
                        f"{fmt('count')} (= {last['count_value']:,})"])
                print(*rows[-1], sep=' | ', flush=True)
                if args.explain and 'search' in label and last['search_sql']:
                    explains.append((label, last['search_sql']))
        print()
        bc.print_table(["Tab / search", "Rows", "search s (median / worst)",
                "read s", "search_count(…, 0, 8000) s",
                "search_count s"], rows)
    if explains:
        with open(args.explain, 'w') as out:
            for label, (duration, sql) in explains:
                with bc.admin_transaction(args.database) as transaction:
                    bc.set_jit(transaction, jit)
                    plan = bc.explain(transaction, sql)
                out.write(f"-- {label}: search ({duration:.2f} s when "
                    f"recorded)\n{sql}\n\n{plan}\n\n")
                print(f"{label}: " + ', '.join(f"{kind} on {rel}"
                        for kind, rel in bc.index_summary(plan)))
        print(f"EXPLAIN ANALYZE written to {args.explain}")

    if not args.skip_page:
        page(pool, args)
    print(f"# load average after: {bc.loadavg()}")


def page(pool, args):
    from werkzeug.test import Client

    from trytond.transaction import Transaction
    from trytond.wsgi import app

    Offer = pool.get('buero365.offer')
    Link = pool.get('buero365.offer.link')
    rng = random.Random(args.seed)
    with Transaction().start(args.database, 0):
        offer, = Offer.search([], order=[('id', 'DESC')], limit=1)
        while True:
            offer = Offer(rng.randint(1, offer.id))
            links = Link.search([
                    ('offer', '>=', offer.id),
                    ], order=[('offer', 'ASC'), ('revision', 'DESC')],
                limit=1)
            if links and links[0].is_current:
                link = links[0]
                break
        url = f'/{args.database}/offers/{link.token}'
        label = (f"offer {link.offer.number} ({link.offer.state}, "
            f"{len(link.offer.lines)} lines)")
    client = Client(app)
    response = client.get(url)  # warm-up: templates, caches
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(args.requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    median, worst = bc.summary(times)
    print()
    bc.print_table(["Customer page", "Requests", "median s", "worst s",
            "KiB"], [[f"GET /{args.database}/offers/<token>, {label}",
                args.requests, f"{median:.3f}", f"{worst:.3f}",
                len(response.data) // 1024]])


if __name__ == '__main__':
    main()
