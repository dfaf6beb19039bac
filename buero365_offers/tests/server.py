# This file is part of Büro 365 Offers.  See the README for licence terms.
"""A real trytond server for the tests that talk to it over HTTP (the
browser tests, sao, the fuzzing of the public routes).

    server = TrytondServer('fuzz').start()
    urllib.request.urlopen(server.url(path))   # path with DB_NAME in it
    server.stop()

It runs `trytond` (through scripts/offline.py: no DNS check of the email
domains typed in) on a free 127.0.0.1 port with an SMTP server of its own
(``server.inbox`` collects what it sends), on the test database: on
SQLite a copy of it made at start() (read what the server did from the
copy, ``server.directory``/<name>.sqlite), on PostgreSQL the database
itself."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import trytond.config as config
from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .smtp import free_port, smtp_server
from .tools import CustomerRouteTestCase

__all__ = ['TrytondServer', 'LiveServerTestCase', 'server_database']

SOURCES = Path(__file__).resolve().parents[2]


def server_database(directory, name):
    """The database a trytond server started by a test can open:
    (database name, [database] uri, [database] path).  On SQLite the test
    database (in memory) is copied into directory/name.sqlite and its
    filestore (Binary fields with file_id, attachments) into
    directory/name; on PostgreSQL it is the test database itself."""
    if backend.name == 'sqlite':
        database = backend.Database(DB_NAME).connect()
        connection = database.get_connection()
        try:
            with sqlite3.connect(
                    os.path.join(directory, f'{name}.sqlite')) as target:
                connection.backup(target)
        finally:
            database.put_connection(connection)
        # and the files of the Binary fields kept in the filestore
        store = os.path.join(config.get('database', 'path'), DB_NAME)
        if os.path.isdir(store):
            shutil.copytree(store, os.path.join(directory, name),
                dirs_exist_ok=True)
        return name, 'sqlite://', directory
    return (DB_NAME, config.get('database', 'uri'),
        config.get('database', 'path') or directory)


class TrytondServer:
    """A trytond server process for a test class (see the module
    docstring).  web_root is the folder served at / ([web] root), config
    further lines of its trytond.conf."""

    #: seconds the server has to answer its first request
    start_timeout = 60

    def __init__(self, name, web_root=None, config=()):
        self.name = name
        self.web_root = web_root
        self.config = list(config)
        self._closers = []
        self.process = None

    def start(self):
        "Start the server and wait until it answers; return self."
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        self.directory = tempfile.mkdtemp(prefix=f'buero365-{self.name}-')
        self._closers.append(
            lambda: shutil.rmtree(self.directory, ignore_errors=True))
        smtp = smtp_server()
        self.inbox = smtp.__enter__()
        self._closers.append(lambda: smtp.__exit__(None, None, None))
        self.database, uri, path = server_database(self.directory, self.name)
        self.port = free_port()
        self.base = f'http://127.0.0.1:{self.port}'
        self.configuration = os.path.join(self.directory, 'trytond.conf')
        with open(self.configuration, 'w') as file:
            file.write('\n'.join([
                        '[database]', f'uri = {uri}', f'path = {path}', '',
                        '[web]', f'listen = 127.0.0.1:{self.port}',
                        *([f'root = {self.web_root}']
                            if self.web_root else []), '',
                        '[email]', f"uri = {config.get('email', 'uri')}",
                        'from = Büro 365 <angebote@buero365.example>', '',
                        *self.config, '',
                        ]))
        self.log_file = open(
            os.path.join(self.directory, 'trytond.log'), 'w+')
        self._closers.append(self.log_file.close)
        env = dict(os.environ)
        env.pop('TRYTOND_DATABASE_URI', None)
        offline = SOURCES / 'scripts' / 'offline.py'
        command = ([sys.executable, str(offline), 'trytond']
            if offline.is_file()
            else [str(Path(sys.executable).with_name('trytond'))])
        self.process = subprocess.Popen(
            [*command, '-c', self.configuration, '-d', self.database],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=env)
        self._closers.append(self._stop_process)
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with urllib.request.urlopen(self.base + '/', timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answers (/ is no page without a web root)
            except OSError:
                if (time.monotonic() > deadline
                        or self.process.poll() is not None):
                    raise RuntimeError(
                        "trytond did not start:\n" + self.log())
                time.sleep(0.3)

    def _stop_process(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stop(self):
        "Stop the server and its SMTP server, delete its files."
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                pass
        self._closers = []

    def log(self, size=4000):
        "The end of the server's log (for failure messages)."
        log = getattr(self, 'log_file', None)
        if not log or log.closed:
            return ''
        log.flush()
        log.seek(0)
        text = log.read()
        log.seek(0, os.SEEK_END)
        return text[-size:]

    def url(self, path):
        "The URL of a path of the test database on this server."
        return self.base + path.replace(
            f'/{DB_NAME}/', f'/{self.database}/', 1)


class LiveServerTestCase(CustomerRouteTestCase):
    """The customer pages' test case with a real trytond server on a free
    local port, serving the test database (on SQLite a copy of it, made
    after createData)."""

    @classmethod
    def createData(cls):
        "Create what the server serves (before it starts)."

    # The folder the server serves at / ([web] root), e.g. sao's
    web_root = None

    @classmethod
    def server_config(cls):
        "Further sections of the server's trytond.conf"
        return []

    @classmethod
    def setUpData(cls):
        cls.createData()
        cls.server = TrytondServer(
            cls.__name__.lower(), web_root=cls.web_root,
            config=cls.server_config())
        try:
            cls.server.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.directory = cls.server.directory
        cls.database = cls.server.database
        cls.inbox = cls.server.inbox
        cls.base = cls.server.base

    @classmethod
    def tearDownClass(cls):
        server = getattr(cls, 'server', None)
        if server:
            server.stop()
        super().tearDownClass()

    def server_log(self):
        return self.server.log(3000)

    def server_sqlite(self):
        "The path of the server's copy of the database (SQLite)."
        return os.path.join(self.directory, f'{self.server.name}.sqlite')

    def offer_state(self, offer_id, column='signed_by'):
        "The offer as the server stored it: (state, column)."
        if backend.name == 'sqlite':
            with sqlite3.connect(self.server_sqlite()) as db:
                return db.execute(
                    f'SELECT state, {column} FROM buero365_offer '
                    'WHERE id = ?', (offer_id,)).fetchone()
        with Transaction().start(DB_NAME, 0):
            offer = Pool().get('buero365.offer')(offer_id)
            return offer.state, getattr(offer, column)

    def server_sql(self, query, *parameters):
        """Run an SQL query (%s for parameters) on the database of the
        server, committed; return the rows it selected."""
        if backend.name == 'sqlite':
            with sqlite3.connect(self.server_sqlite()) as db:
                return db.execute(
                    query.replace('%s', '?'), parameters).fetchall()
        with Transaction().start(DB_NAME, 0) as transaction:
            cursor = transaction.connection.cursor()
            cursor.execute(query, parameters)
            rows = cursor.fetchall() if cursor.description else []
            transaction.commit()
            return rows

    def url(self, path):
        return self.server.url(path)
