#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Measure the offer reporting (buero365.offer.reporting.*).

    python scripts/bench_reporting.py -c trytond.conf -d DATABASE \\
        [--runs 3] [--jit on|off] [--explain FILE] [--floor]

For each reporting model, with the context of the reporting menu
(company, period 'month', from_date and to_date), times search([]) and then
read() of the fields of its list view, as the client reads them (the
trends included), for the last full calendar month, for the 12 months up
to today (the default of the reporting context) and for the 19 months up to
today (all the demo data: 18 months).  Each measurement runs in its
own read-only transaction as the user admin.  On PostgreSQL the SQL
statements are recorded with their duration (number of queries, time spent
in SQL), and with --explain the EXPLAIN (ANALYZE, BUFFERS) of the slowest
statement of each model (search and read) over the 19 months is written to
FILE.
With --floor (PostgreSQL), the "one aggregate" floor of each range is timed
too: one hand-written SELECT of the same counts and sums over the offers of
the period (and once more with the median answer time, percentile_cont),
and the ratio of each model to it is printed.
The results are written down in doc/benchmarks.md."""
import argparse
import datetime as dt
import time

import bench_common as bc
from dateutil.relativedelta import relativedelta

MODELS = [
    'buero365.offer.reporting.main',
    'buero365.offer.reporting.main.time_series',
    'buero365.offer.reporting.lead_source',
    'buero365.offer.reporting.lead_source.time_series',
    'buero365.offer.reporting.rejection_reason',
    ]
# The floor: the figures of the report's main row in one SELECT over the
# offers of the period, with the best index, (company, create_date).
FLOOR_COUNTS = """
    count(*) FILTER (WHERE sent_revision > 0 OR email_state = 'sent'
        OR state != 'open'),
    count(*) FILTER (WHERE state = 'accepted'),
    count(*) FILTER (WHERE state = 'rejected'),
    count(*) FILTER (WHERE state = 'expired'),
    sum(untaxed_amount) FILTER (WHERE state = 'accepted'),
    count(first_answered_at)"""
FLOOR_MEDIAN = """,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(EPOCH FROM
        first_answered_at - coalesce(first_sent_at, create_date)))"""
FLOOR_FROM = """
    FROM buero365_offer WHERE company = %s
    AND create_date >= %s AND create_date < %s"""


def ranges(today):
    first = today.replace(day=1)
    last_month = first - relativedelta(months=1)
    return [
        ('1 month', last_month, first - dt.timedelta(days=1)),
        ('12 months (the default)', today - relativedelta(years=1), today),
        ('19 months', today - relativedelta(months=19), today),
        ]


def measure(pool, database, model, context, jit, recorder):
    "Return (rows, search s, read s, queries, SQL s, slowest statement)."
    Model = pool.get(model)
    with bc.admin_transaction(database, context=context) as transaction:
        # What the client reads for the list (the trends, not the series
        # the list does not show).
        names = bc.list_fields(Model)
        bc.set_jit(transaction, jit)
        recorder.clear()
        start = time.perf_counter()
        records = Model.search([])
        searched = time.perf_counter()
        Model.read([r.id for r in records], names)
        end = time.perf_counter()
        slowest = recorder.slowest()
    return (len(records), searched - start, end - searched,
        recorder.count, recorder.seconds, slowest)


def floor(pool, database, context, jit, median):
    "Return the seconds of the hand-written aggregate over the period."
    sql = ('SELECT' + FLOOR_COUNTS + (FLOOR_MEDIAN if median else '')
        + FLOOR_FROM)
    params = (context['company'],
        dt.datetime.combine(context['from_date'], dt.time.min),
        dt.datetime.combine(
            context['to_date'] + dt.timedelta(days=1), dt.time.min))
    with bc.admin_transaction(database) as transaction:
        bc.set_jit(transaction, jit)
        cursor = transaction.connection.cursor()
        start = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--runs', type=int, default=3,
        help="warm runs per measurement, after one cold run (default 3)")
    parser.add_argument('--jit', choices=['on', 'off'],
        help="SET LOCAL jit on PostgreSQL (default: the server's setting)")
    parser.add_argument('--explain', metavar='FILE',
        help="write EXPLAIN ANALYZE of the slowest statement of each "
        "model over the 19 months into FILE")
    parser.add_argument('--models', nargs='*', default=MODELS)
    parser.add_argument('--floor', action='store_true',
        help="time the hand-written aggregate of each range (PostgreSQL)")
    parser.add_argument('--statements', action='store_true',
        help="print each SQL statement of the last run with its duration")
    args = parser.parse_args()
    jit = None if args.jit is None else args.jit == 'on'

    pool = bc.start_pool(args.config, args.database)
    with bc.admin_transaction(args.database) as transaction:
        Company = pool.get('company.company')
        Date = pool.get('ir.date')
        company, = Company.search([], limit=1, order=[('id', 'ASC')])
        company_id = company.id
        today = Date.today()
        Offer = pool.get('buero365.offer')
        offers = Offer.search_count([])
        server = bc.server_version(transaction)
    print(f"# {bc.machine()}, {server}, jit={args.jit or 'server'}")
    print(f"# database {args.database}: {offers:,} offers, "
        f"company {company_id}, today {today}")
    print(f"# load average before: {bc.loadavg()}")

    pg = bc.backend_name() == 'postgresql'
    rows = []
    floors = []
    explains = []
    with bc.SQLRecorder() as recorder:
        for label, from_date, to_date in ranges(today):
            context = {
                'company': company_id,
                'period': 'month',
                'from_date': from_date,
                'to_date': to_date,
                }
            floor_s = None
            if args.floor and pg:
                floor_s = {}
                for median in [False, True]:
                    floor(pool, args.database, context, jit, median)
                    floor_s[median], _ = bc.summary([
                            floor(pool, args.database, context, jit, median)
                            for _ in range(args.runs)])
                floors.append([label, f"{floor_s[False]:.3f}",
                        f"{floor_s[True]:.3f}"])
                print(*floors[-1], sep=' | ', flush=True)
            for model in args.models:
                cold = measure(pool, args.database, model, context, jit,
                    recorder)
                warm = [measure(pool, args.database, model, context, jit,
                        recorder) for _ in range(args.runs)]
                totals = [w[1] + w[2] for w in warm]
                median, worst = bc.summary(totals)
                search_median, _ = bc.summary([w[1] for w in warm])
                read_median, _ = bc.summary([w[2] for w in warm])
                sql_median, _ = bc.summary([w[4] for w in warm])
                rows.append([
                        model.replace('buero365.offer.reporting.', ''),
                        f"{label} ({from_date}..{to_date})",
                        cold[0],
                        f"{cold[1] + cold[2]:.2f}",
                        f"{search_median:.2f}",
                        f"{read_median:.2f}",
                        f"{median:.2f} / {worst:.2f}",
                        warm[-1][3] if pg else '–',
                        f"{sql_median:.2f}" if pg else '–',
                        ])
                if floor_s:
                    rows[-1].append(f"{median / floor_s[False]:.1f} / "
                        f"{median / floor_s[True]:.1f}")
                print(*rows[-1], sep=' | ', flush=True)
                if args.statements:
                    for duration, sql in recorder.queries:
                        short = (sql if len(sql) < 260
                            else f"{sql[:110]} … {sql[-140:]}")
                        print(f"    {duration:6.2f} s  {short}")
                if args.explain and label == '19 months' and cold[5]:
                    explains.append((model, label, context, cold[5]))
    print()
    header = [
        "Model", "Range", "Rows", "Cold s", "search s", "read s",
        "Total median / worst s", "Queries", "SQL s"]
    if floors:
        header.append("× floor (counts / with median)")
        bc.print_table(
            ["Range", "Floor: counts and sums s", "with the median s"],
            floors)
        print()
    bc.print_table(header, rows)
    print(f"# load average after: {bc.loadavg()}")

    if explains:
        with open(args.explain, 'w') as out:
            for model, label, context, (duration, sql) in explains:
                with bc.admin_transaction(args.database,
                        context=context) as transaction:
                    bc.set_jit(transaction, jit)
                    plan = bc.explain(transaction, sql)
                scans = bc.index_summary(plan)
                out.write(f"-- {model}, {label}: the slowest statement "
                    f"of search and read ({duration:.2f} s when "
                    "recorded)\n"
                    f"{sql}\n\n{plan}\n\n")
                print(f"{model}: " + ', '.join(
                        f"{kind} on {rel}" for kind, rel in scans))
        print(f"EXPLAIN ANALYZE written to {args.explain}")


if __name__ == '__main__':
    main()
