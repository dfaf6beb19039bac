#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The customer page under load, against a static route of the same server.

    python scripts/bench_page.py -c trytond.conf -d DATABASE \\
        [--seconds 10] [--workers 1 2] [--concurrency 1 8 32]

Run by `make bench`.  For each number of processes, trytond under gunicorn
(the production set-up of make serve: sync workers, one request at a time
per process) on a free port of 127.0.0.1; for each concurrency, wrk (from
Debian) runs --seconds against

- static: GET /<db>/offers/static/offers.css, served by the same trytond
  application (routing, no database), the ceiling of the server;
- page: GET /<db>/offers/<token>, the offer page of one current customer
  link of a sent offer, asked by a browser (its User-Agent): a customer
  reloading the page.  The first view records its "page opened" event,
  the others are the same visit (tracking.VISIT_WINDOW) and write
  nothing; all but the first of each process are served from its kept
  page.

Prints a Markdown table (requests/s, p50 and p99 latency, errors) and, on
its last line, `page/static: X %` (page over static throughput at the
highest concurrency with the most processes), with the scaling of 2
processes over 1 and the p99 at the highest concurrency over the p50 at 1
(of the page, and of the static route for comparison)."""
import argparse
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

import bench_common as bc

STATIC = 'offers.css'
UNITS = {'us': 1e-6, 'ms': 1e-3, 's': 1.0, 'm': 60.0}
# A browser's: a request without one is a link scanner's.
USER_AGENT = ('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 '
    'Firefox/128.0')


def current_link(database):
    """The token of a current customer link of an open offer, sent: its
    page as sent is kept (recorded here as sending does, the demo data
    has none), as on the links customers get by email."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with bc.admin_transaction(database, readonly=False) as transaction:
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        for link in Link.search([('offer.state', '=', 'open')],
                order=[('id', 'DESC')], limit=50):
            if link.is_current:
                if not link.sent_page_id:
                    with Transaction().set_user(0):
                        Link.record_sent_document(link.offer)
                    transaction.commit()
                return link.token, link.offer.number
    raise SystemExit("no current link of an open offer")


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_server(args, workers, port):
    command = shlex.split(args.offline) + [
        'gunicorn', '--workers', str(workers),
        '--bind', f'127.0.0.1:{port}', '--timeout', '120',
        '--backlog', '2048', '--env', f'TRYTOND_CONFIG={args.config}',
        '--env', f'TRYTOND_DATABASE_NAMES={args.database}',
        'trytond.application:app']
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL,
        stderr=open(os.devnull, 'w') if not args.verbose else None)
    url = f'http://127.0.0.1:{port}/{args.database}/offers/static/{STATIC}'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def seconds(text):
    number, unit = re.fullmatch(r'([\d.]+)(us|ms|s|m)', text).groups()
    return float(number) * UNITS[unit]


def wrk(url, concurrency, duration):
    "requests/s, p50 s, p99 s, errors of wrk's run on url."
    output = subprocess.run(
        ['wrk', '--latency', '-t', str(min(concurrency, 2)),
            '-c', str(concurrency), '-d', f'{duration}s', '--timeout', '30s',
            '-H', f'User-Agent: {USER_AGENT}', url],
        check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1))
    p50 = seconds(re.search(r'\s50%\s+(\S+)', output).group(1))
    p99 = seconds(re.search(r'\s99%\s+(\S+)', output).group(1))
    errors = sum(int(n) for n in re.findall(
            r'(?:Non-2xx or 3xx responses|connect|read|write|timeout)'
            r'[: ]\s*(\d+)', output))
    return rate, p50, p99, errors


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--seconds', type=int, default=10)
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--concurrency', type=int, nargs='+',
        default=[1, 8, 32])
    parser.add_argument('--offline',
        default=f'{sys.executable} scripts/offline.py')
    parser.add_argument('--verbose', action='store_true')
    args = parser.parse_args()
    args.config = os.path.abspath(args.config)

    bc.start_pool(args.config, args.database)
    token, number = current_link(args.database)
    print(f"# customer page of offer {number}; load average before: "
        f"{bc.loadavg()}")
    rows, results = [], {}
    for workers in args.workers:
        port = free_port()
        server = start_server(args, workers, port)
        base = f'http://127.0.0.1:{port}/{args.database}/offers'
        try:
            for concurrency in args.concurrency:
                static = wrk(f'{base}/static/{STATIC}', concurrency,
                    args.seconds)
                page = wrk(f'{base}/{token}', concurrency, args.seconds)
                results[workers, concurrency] = static, page
                rows.append([workers, concurrency,
                        f"{static[0]:,.0f}", f"{page[0]:,.1f}",
                        f"{page[1] * 1000:.0f} ms", f"{page[2] * 1000:.0f} ms",
                        f"{100 * page[0] / static[0]:.1f} %",
                        f"{static[3]} / {page[3]}"])
                print(*rows[-1], sep=' | ', flush=True)
        finally:
            server.terminate()
            server.wait(30)
    print()
    bc.print_table(["Processes", "Concurrency", "static req/s",
            "page req/s", "page p50", "page p99", "page / static",
            "errors static / page"], rows)
    most, high, low = max(args.workers), max(args.concurrency), \
        min(args.concurrency)
    static, page = results[most, high]
    if len(args.workers) > 1:
        one = results[min(args.workers), high][1]
        print(f"# {most} processes / {min(args.workers)}: "
            f"{page[0] / one[0]:.2f}× the page throughput at concurrency "
            f"{high}")
    # The static route's own ratio beside the page's: what the same server
    # and the same closed loop give a request that does no work at all.
    print(f"# p99 at concurrency {high} / p50 at {low} ({most} processes): "
        f"{page[2] / results[most, low][1][1]:.1f} (page), "
        f"{static[2] / results[most, low][0][1]:.1f} (static)")
    print(f"# load average after: {bc.loadavg()}")
    print(f"page/static: {100 * page[0] / static[0]:.1f} %")


if __name__ == '__main__':
    main()
