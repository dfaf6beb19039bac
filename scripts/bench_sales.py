#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Load Tryton sale.sale quotations beside the demo offers (make bench).

    python scripts/bench_sales.py -c trytond.conf -d DATABASE

One quotation for each offer of the database (PostgreSQL), in SQL: the same
customer, its first address as invoice and shipment address, the offer's
title as description, its number as the sale number (so that a number
fragment finds as many sales as offers), its lines (product, text,
quantity, unit, unit price, taxes) and its amounts in the amount caches,
state 'quotation'.  Tryton's sale list then has as much to search as ours:
scripts/bench_search.py compares them.  Run once, on a database where
sale.sale is still empty (sale_opportunity activates sale)."""
import argparse
import time

SALES = '''
INSERT INTO sale_sale (id, company, currency, party, invoice_party,
    shipment_party, invoice_address, shipment_address, number, description,
    state, invoice_method, shipment_method, invoice_state, shipment_state,
    sale_date, quotation_date, untaxed_amount_cache, tax_amount_cache,
    total_amount_cache, create_date, create_uid)
SELECT o.id, o.company, o.currency, o.party, o.party, o.party, a.id, a.id,
    o.number, o.title, 'quotation', 'order', 'order', 'none', 'none',
    o.start::date, o.create_date::date, o.untaxed_amount, o.tax_amount,
    o.total_amount, o.create_date, o.create_uid
FROM buero365_offer o
LEFT JOIN LATERAL (SELECT id FROM party_address
    WHERE party = o.party ORDER BY id LIMIT 1) a ON true'''
LINES = '''
INSERT INTO sale_line (id, sale, sequence, type, product, description,
    quantity, unit, unit_price, create_date, create_uid)
SELECT l.id, l.offer, l.sequence, 'line', l.product, l.description,
    l.quantity, l.unit, l.unit_price, l.create_date, l.create_uid
FROM buero365_offer_line l'''
TAXES = '''
INSERT INTO "sale_line-account_tax" (id, line, tax, create_date, create_uid)
SELECT t.id, t.line, t.tax, t.create_date, t.create_uid
FROM "buero365_offer_line-account_tax" t'''
SEQUENCES = [
    ('sale_sale', 'sale_sale_id_seq'),
    ('sale_line', 'sale_line_id_seq'),
    ('"sale_line-account_tax"', '"sale_line-account_tax_id_seq"'),
    ]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    args = parser.parse_args()

    import psycopg

    from trytond import config
    config.update_etc(args.config)
    uri = config.get('database', 'uri')
    start = time.perf_counter()
    with psycopg.connect(uri + args.database) as connection:
        (existing,), = connection.execute(
            'SELECT count(*) FROM sale_sale').fetchall()
        if existing:
            raise SystemExit(f"sale_sale has {existing} rows already")
        counts = []
        for statement in [SALES, LINES, TAXES]:
            counts.append(connection.execute(statement).rowcount)
        for table, sequence in SEQUENCES:
            connection.execute(f"SELECT setval('{sequence}', "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
    print(f"{counts[0]:,} sale quotations, {counts[1]:,} lines, "
        f"{counts[2]:,} line taxes in {time.perf_counter() - start:.1f} s")


if __name__ == '__main__':
    main()
