# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Helpers shared by the scripts/bench_*.py benchmarks.

Not a benchmark itself: the bench scripts import it (python puts scripts/
on sys.path when one of them runs)."""
import contextlib
import os
import platform
import statistics
import time


def start_pool(config_file, database):
    "Configure trytond from config_file and return the ready pool."
    from trytond import config
    config.update_etc(config_file)
    from trytond.pool import Pool
    Pool.start()
    pool = Pool(database)
    pool.init()
    return pool


@contextlib.contextmanager
def admin_transaction(database, readonly=True, context=None):
    """A transaction as the user admin with its preferences in the context,
    as the Tryton client has them; rolled back at the end."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=readonly) as transaction:
        User = Pool().get('res.user')
        admin, = User.search([('login', '=', 'admin')])
        with transaction.set_user(admin.id), transaction.set_context(
                User.get_preferences(context_only=True)):
            with transaction.set_context(context or {}):
                try:
                    yield transaction
                finally:
                    transaction.rollback()


def list_fields(Model):
    """The fields the client reads for the list view of Model (with the
    rec_name of the Many2One and Reference fields)."""
    view = Model.fields_view_get(view_type='tree')
    names = []
    for name, field in view['fields'].items():
        names.append(name)
        if field['type'] in {'many2one', 'reference'}:
            names.append(f'{name}.rec_name')
    return names


def backend_name():
    from trytond import backend
    return backend.name


def set_jit(transaction, jit):
    "SET LOCAL jit (PostgreSQL only); None leaves the server's setting."
    if jit is None or backend_name() != 'postgresql':
        return
    cursor = transaction.connection.cursor()
    cursor.execute('SET LOCAL jit = %s' % ('on' if jit else 'off'))


class SQLRecorder:
    """Record the SQL statements trytond runs on PostgreSQL with their
    duration: wraps the execute() of trytond's LoggingCursor.

    Use as a context manager; .queries is a list of (seconds, sql) with the
    parameters inlined (psycopg's mogrify)."""

    def __init__(self):
        self.queries = []
        self._original = None

    def __enter__(self):
        if backend_name() != 'postgresql':
            return self
        from psycopg import ClientCursor

        from trytond.backend.postgresql import database
        self._cls = database.LoggingCursor
        self._original = original = self._cls.execute
        queries = self.queries

        def execute(cursor, query, params=None, **kwargs):
            start = time.perf_counter()
            try:
                return original(cursor, query, params, **kwargs)
            finally:
                duration = time.perf_counter() - start
                try:
                    sql = ClientCursor(cursor.connection).mogrify(
                        query, params)
                except Exception:
                    sql = str(query)
                queries.append((duration, sql))
        self._cls.execute = execute
        return self

    def __exit__(self, *exc):
        if self._original is not None:
            self._cls.execute = self._original
            self._original = None

    def clear(self):
        del self.queries[:]

    @property
    def count(self):
        return len(self.queries)

    @property
    def seconds(self):
        return sum(d for d, _ in self.queries)

    def slowest(self):
        return max(self.queries, key=lambda q: q[0]) if self.queries else None


def explain(transaction, sql):
    "EXPLAIN (ANALYZE, BUFFERS) of sql (PostgreSQL), as text."
    cursor = transaction.connection.cursor()
    cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql)
    return '\n'.join(r[0] for r in cursor.fetchall())


def index_summary(plan):
    "The scan nodes of an EXPLAIN text: [(kind, relation or index), ...]."
    import re
    found = []
    for line in plan.splitlines():
        m = re.search(
            r'(Seq Scan|Index Only Scan Backward|Index Only Scan|'
            r'Index Scan Backward|Index Scan|Bitmap Index Scan|'
            r'Bitmap Heap Scan)(?: using (\S+))? on (\S+)', line)
        if m:
            kind, index, relation = m.groups()
            if kind == 'Bitmap Index Scan':
                found.append((kind, relation))
            else:
                found.append((kind, relation
                        + (f' ({_short(index)})' if index else '')))
    return found


def _short(index):
    "idx_<table>_<hash> names are long: keep the start of the hash."
    return index if len(index) < 30 else index[:24] + '…'


def machine():
    "One line about the machine and the software versions."
    import trytond
    parts = [
        f"{os.cpu_count()} cores",
        f"{_mem_gb():.0f} GB RAM",
        platform.platform(terse=True),
        f"Python {platform.python_version()}",
        f"trytond {trytond.__version__}",
        ]
    return ', '.join(parts)


def _mem_gb():
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0


def server_version(transaction):
    if backend_name() != 'postgresql':
        import sqlite3
        return f"SQLite {sqlite3.sqlite_version}"
    cursor = transaction.connection.cursor()
    cursor.execute('SHOW server_version')
    version, = cursor.fetchone()
    cursor.execute('SHOW jit')
    jit, = cursor.fetchone()
    return f"PostgreSQL {version.split()[0]} (jit={jit})"


def loadavg():
    return '%.2f %.2f %.2f' % os.getloadavg()


def summary(times):
    "(median, worst) of a list of seconds."
    return statistics.median(times), max(times)


def print_table(header, rows):
    "Print a Markdown table."
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = '| ' + ' | '.join(
        str(h).ljust(w) for h, w in zip(header, widths)) + ' |'
    print(line)
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for row in rows:
        print('| ' + ' | '.join(
                str(c).ljust(w) for c, w in zip(row, widths)) + ' |')
