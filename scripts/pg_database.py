#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Create a PostgreSQL database for make bench / make serve unless it
exists; print "created" when it was created.

    pg_database.py postgresql://user@host:5432/ NAME [--extension pg_trgm]

The URI is the server's (as TRYTOND_DATABASE_URI: ending with /); each
--extension is created in the database if missing (also in one that
existed), e.g. the module's trigram indexes need pg_trgm before
trytond-admin."""
import argparse
import sys

import psycopg
from psycopg import sql


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('uri')
    parser.add_argument('name')
    parser.add_argument('--extension', action='append', default=[])
    args = parser.parse_args(argv)
    with psycopg.connect(args.uri + 'postgres', autocommit=True) as conn:
        if not conn.execute('SELECT 1 FROM pg_database WHERE datname = %s',
                (args.name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(
                    sql.Identifier(args.name)))
            print('created')
    if args.extension:
        with psycopg.connect(args.uri + args.name, autocommit=True) as conn:
            for extension in args.extension:
                conn.execute(sql.SQL('CREATE EXTENSION IF NOT EXISTS {}')
                    .format(sql.Identifier(extension)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
