#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Measure how long the offer PDF takes to render.

    python scripts/bench_pdf.py -c var/trytond.conf -d demo [--runs 5]

Creates offers of 10 and 200 lines in a transaction that is rolled back,
renders each PDF several times and prints the median and worst times.
The results are written down in doc/benchmarks.md."""
import argparse
import statistics
import time
from decimal import Decimal


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()

    from trytond import config
    config.update_etc(args.config)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    Pool.start()
    pool = Pool(args.database)
    pool.init()
    with Transaction().start(args.database, 0, readonly=False) as transaction:
        User = pool.get('res.user')
        admin, = User.search([('login', '=', 'admin')])
        with transaction.set_user(admin.id), transaction.set_context(
                User.get_preferences(context_only=True)):
            Offer = pool.get('buero365.offer')
            Party = pool.get('party.party')
            Report = pool.get('buero365.offer', type='report')
            party, = Party.search([], limit=1)
            for count in [10, 200]:
                offer, = Offer.create([{
                            'party': party.id,
                            'title': f"Benchmark Umzug mit {count} Positionen",
                            'content': "<p>Sehr geehrte Damen und Herren,</p>"
                            "<p>gern bieten wir Ihnen <b>folgende</b> "
                            "Leistungen an.</p>" * 3,
                            'terms': "<p>Es gelten unsere AGB.</p>" * 10,
                            'lines': [('create', [{
                                            'description':
                                            f"Position {i}: Möbelmontage",
                                            'quantity': 2,
                                            'unit_price': Decimal('45.50'),
                                            } for i in range(count)])],
                            }])
                Report.render_pdf(offer)  # warm-up: fonts, template cache
                times = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    pdf = Report.render_pdf(offer)
                    times.append(time.perf_counter() - start)
                median = statistics.median(times)
                print(f"{count:>4} lines: median {median:.2f} s, "
                    f"worst {max(times):.2f} s, {len(pdf) // 1024} KiB "
                    f"({args.runs} runs)")
        transaction.rollback()


if __name__ == '__main__':
    main()
