#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Measure the scheduled expiry and reminders of offers (ir.cron methods
buero365.offer|expire_due and buero365.offer|remind_due).

    python scripts/bench_expiry.py -c trytond.conf -d DATABASE \\
        [--due 100000] [--remind N | --no-remind] [--tracemalloc] \\
        [--commit]

Runs as the scheduler does: user root (0), context _skip_warnings.

1. expire_due() once on the data as it is (the offers already due), then
   the no-op run (nothing due), median of 3;
2. the reminder is enabled in the configuration (it is off by default),
   optionally --remind more open offers are moved into the reminder
   horizon (made sent, sent_revision 1), and remind_due() is timed for
   all the open, sent offers ending within the horizon, then its no-op
   run.  The '..' in the email addresses of open offers (a flaw of the
   demo data that makes Mail.compose refuse them) are repaired first;
3. an SQL UPDATE makes the --due newest offers open with a valid_until in
   the past (1 to 30 days ago); expire_due() is timed with the peak
   resident memory of the process (getrusage) and, with --tracemalloc, the
   peak of Python allocations (tracemalloc slows Python down a lot: run it
   separately, with a smaller --due, for the memory only).

Without --commit everything happens in one transaction that is rolled back
at the end, and the methods do not commit per batch (they do that only
under the scheduler).  With --commit the context has _cron set, as under
trytond-cron, so expire_due() and remind_due() commit each batch, and the
SQL updates are committed too: use it only on a throwaway copy of the
database (createdb -T DATABASE COPY).  Reminder emails are never delivered:
remind_due() queues them (ir.queue) for the workers; --compose runs those
tasks in the process (composing the emails, timed apart) and leaves the
deliveries they queue.
The SQL updates use PostgreSQL's date arithmetic (date - integer).
The results are written down in doc/benchmarks.md."""
import argparse
import datetime as dt
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
import tracemalloc

import bench_common as bc
from sql import Literal, Null
from sql.aggregate import Count
from sql.conditionals import Greatest
from sql.functions import Function


class RegexpReplace(Function):
    __slots__ = ()
    _function = 'REGEXP_REPLACE'


def rss_mb():
    "Peak resident memory of the process so far, in MiB."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_workers(args):
    """Start trytond-worker with args.workers processes on the database and
    return it once its processes are up (started before the timing, as in
    production, where they run all along)."""
    command = shlex.split(args.offline) + ['trytond-worker', '-c',
        args.config, '-d', args.database, '-n', str(args.workers)]
    # trytond-worker does nothing without [queue] worker = True.
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, 'TRYTOND_QUEUE__WORKER': 'True'})
    deadline = time.monotonic() + 60
    while len(worker_pids(worker)) < args.workers + 1:
        if time.monotonic() > deadline or worker.poll() is not None:
            raise SystemExit("trytond-worker did not start")
        time.sleep(0.2)
    # Each process builds its trytond pool when it starts.
    time.sleep(10)
    return worker


def worker_pids(worker):
    "The pids of the worker and of its processes (Linux's /proc)."
    pids, todo = [], [worker.pid]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            with open(f'/proc/{pid}/task/{pid}/children') as children:
                todo.extend(int(c) for c in children.read().split())
        except OSError:
            pass
    return pids


def worker_peak_mb(worker):
    "The largest peak resident memory among the worker's processes, MiB."
    peaks = []
    for pid in worker_pids(worker):
        try:
            with open(f'/proc/{pid}/status') as status:
                for line in status:
                    if line.startswith('VmHWM:'):
                        peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return max(peaks, default=0)


def wait_for_queue(transaction, name):
    """Wait until the queue name has no unfinished task (polled in
    transactions of their own)."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Queue = Pool().get('ir.queue')
    queue = Queue.__table__()
    while True:
        with Transaction().new_transaction(readonly=True) as waiting:
            cursor = waiting.connection.cursor()
            cursor.execute(*queue.select(Count(queue.id),
                    where=(queue.name == name)
                    & (queue.finished_at == Null)))
            left, = cursor.fetchone()
        if not left:
            return
        time.sleep(0.05)


def compose_queued(transaction, pool):
    """Run the reminder tasks remind_due queued (ir.queue), as a worker
    would, without delivering; return the number of reminders sent."""
    Queue = pool.get('ir.queue')
    tasks, transaction.tasks[:] = list(transaction.tasks), []
    count = 0
    for task_id in tasks:
        task = Queue(task_id)
        if task.data['method'] == 'send_expiry_reminders':
            task.run()
            count += len(task.data['instances'])
    # The deliveries they queued are left: no email leaves.
    transaction.tasks.clear()
    return count


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--due', type=int, default=100000,
        help="offers made open and due (default 100000, 0 to skip)")
    parser.add_argument('--remind', type=int, default=0,
        help="open offers moved into the reminder horizon, besides those "
        "already in it (default 0)")
    parser.add_argument('--compose', action='store_true',
        help="also run the queued reminder tasks (composing the emails, "
        "as the workers do; without --commit)")
    parser.add_argument('--no-remind', action='store_true',
        help="skip the reminders")
    parser.add_argument('--tracemalloc', action='store_true',
        help="trace the Python allocations during the timed runs")
    parser.add_argument('--commit', action='store_true',
        help="commit as trytond-cron does (only on a throwaway copy!)")
    parser.add_argument('--workers', type=int, default=0,
        help="with --commit: [queue] worker = True and trytond-worker -n "
        "WORKERS processes expire the batches; timed until the last")
    parser.add_argument('--offline',
        default=f'{sys.executable} scripts/offline.py')
    args = parser.parse_args()
    if args.workers and not args.commit:
        parser.error("--workers needs --commit (the workers commit)")

    pool = bc.start_pool(args.config, args.database)
    from trytond.transaction import Transaction
    Offer = pool.get('buero365.offer')
    Configuration = pool.get('buero365.offer.configuration')
    Date = pool.get('ir.date')
    table = Offer.__table__()
    rows = []

    def run(label, method):
        if args.tracemalloc:
            tracemalloc.start()
        before = rss_mb()
        start = time.perf_counter()
        count = method()
        duration = time.perf_counter() - start
        peak = rss_mb()
        traced = ''
        if args.tracemalloc:
            traced = f"{tracemalloc.get_traced_memory()[1] / 2**20:.1f}"
            tracemalloc.stop()
        rows.append([label, f"{count:,}", f"{duration:.2f}",
                f"{count / duration:,.0f}" if count else '–',
                f"{before:.0f} → {peak:.0f}", traced or '–'])
        print(*rows[-1], sep=' | ', flush=True)
        return duration

    context = {'_skip_warnings': True}
    if args.commit:
        context['_cron'] = 'buero365.offer|expire_due'
    # The configuration is a singleton: creating its record locks its table.
    with Transaction().start(args.database, 0, readonly=False,
            context=context, _lock_tables=[Configuration._table]
            ) as transaction:
        cursor = transaction.connection.cursor()
        print(f"# {bc.machine()}, {bc.server_version(transaction)}")
        today = Date.today()
        cursor.execute(*table.select(table.state, Count(table.id),
                group_by=[table.state], order_by=[table.state]))
        states = dict(cursor)
        print(f"# database {args.database}: {sum(states.values()):,} offers "
            f"{states}, today {today}, "
            f"{'commit per batch (_cron)' if args.commit else 'rolled back'}")
        print(f"# load average before: {bc.loadavg()}")

        run("expire_due, offers due in the data as loaded", Offer.expire_due)
        noop = []
        for _ in range(3):
            start = time.perf_counter()
            Offer.expire_due()
            noop.append(time.perf_counter() - start)
        rows.append(["expire_due, nothing due (median of 3)", "0",
                f"{statistics.median(noop):.3f}", '–', '–', '–'])
        print(*rows[-1], sep=' | ', flush=True)

        if not args.no_remind:
            # The demo data has some addresses with '..' (first names such
            # as "Hans-H."), which Mail.compose refuses: the whole run
            # would stop at the first of them.
            cursor.execute(*table.update([table.email],
                    [RegexpReplace(table.email, r'\.\.+', '.', 'g')],
                    where=(table.state == 'open')
                    & table.email.like('%..%')))
            print(f"# {cursor.rowcount} open offers with '..' in their "
                "email address repaired", flush=True)
            config = Configuration(1)
            config.reminder_enabled = True
            config.reminder_days = config.reminder_days or 3
            config.save()
            days = config.reminder_days
            # Open offers that are not due, made sent and ending within the
            # horizon (today .. today + days).
            candidates = table.select(table.id,
                where=(table.state == 'open')
                & (table.valid_until > today + dt.timedelta(days=days)),
                order_by=[table.id.desc], limit=args.remind)
            cursor.execute(*table.update(
                    [table.valid_until, table.sent_revision,
                        table.reminded_for],
                    [Literal(today) + table.id % (days + 1),
                        Greatest(table.sent_revision, 1), Null],
                    where=table.id.in_(candidates)))
            moved = cursor.rowcount
            if args.commit:
                transaction.commit()
            cursor.execute(*table.select(Count(table.id),
                    where=(table.state == 'open')
                    & (table.valid_until >= today)
                    & (table.valid_until
                        <= today + dt.timedelta(days=days))
                    & (table.sent_revision > 0)))
            due, = cursor.fetchone()
            print(f"# reminder enabled ({days} days), {moved:,} open offers "
                f"moved into the horizon, {due:,} due for a reminder",
                flush=True)
            if args.commit:
                context = {'_cron': 'buero365.offer|remind_due'}
            else:
                context = {}
            with transaction.set_context(context):
                run(f"remind_due, {due:,} offers due", Offer.remind_due)
                if args.compose and not args.commit:
                    run("queued reminders composed (the workers' part)",
                        lambda: compose_queued(transaction, pool))
                start = time.perf_counter()
                Offer.remind_due()
                rows.append(["remind_due, nothing due", "0",
                        f"{time.perf_counter() - start:.3f}",
                        '–', '–', '–'])
                print(*rows[-1], sep=' | ', flush=True)
        if args.due:
            # The newest offers (about a month of them): mixed states,
            # made open and due 1 to 30 days ago.
            newest = table.select(table.id, order_by=[table.id.desc],
                limit=args.due)
            start = time.perf_counter()
            cursor.execute(*table.update(
                    [table.state, table.valid_until],
                    ['open', Literal(today) - (table.id % 30 + 1)],
                    where=table.id.in_(newest)))
            updated = cursor.rowcount
            if args.commit:
                transaction.commit()
            print(f"# SQL UPDATE of {updated:,} offers to open and due: "
                f"{time.perf_counter() - start:.1f} s", flush=True)
            if args.workers:
                from trytond import config as trytond_config
                from trytond.modules.buero365_offers import expiry
                worker = start_workers(args)
                trytond_config.set('queue', 'worker', 'True')

                def expire():
                    count = Offer.expire_due()
                    transaction.commit()
                    wait_for_queue(transaction, expiry.EXPIRY_QUEUE)
                    return count
                try:
                    run(f"expire_due, {updated:,} offers due, "
                        f"{args.workers} queue workers", expire)
                    print(f"# peak resident memory of a worker process: "
                        f"{worker_peak_mb(worker):.0f} MiB", flush=True)
                finally:
                    worker.terminate()
                    worker.wait()
            else:
                run(f"expire_due, {updated:,} offers due", Offer.expire_due)

        if not args.commit:
            transaction.rollback()
    print()
    bc.print_table(["Run", "Offers", "Time s", "Offers/s",
            "Peak RSS MiB (before → after)", "tracemalloc peak MiB"], rows)
    print(f"# load average after: {bc.loadavg()}")


if __name__ == '__main__':
    main()
