# This file is part of Büro 365 Offers.  See the README for licence terms.
"""scripts/offline.py, through which `make demo` runs trytond-cron.

Ctrl-C on `make demo` stops trytond-cron with SIGTERM (the shell ignores
SIGINT for background jobs).  trytond-cron runs its jobs in worker
processes; without offline.py's handler SIGTERM killed only the parent and
the workers stayed behind."""
import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

from trytond import backend

from .server import LiveServerTestCase

OFFLINE = Path(__file__).parents[2] / 'scripts' / 'offline.py'


def children(pid):
    "The processes whose parent is pid"
    found = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@unittest.skipUnless(OFFLINE.is_file() and Path('/proc/self/stat').exists(),
    "needs scripts/offline.py (source tree) and /proc")
@unittest.skipUnless(backend.name == 'sqlite',
    "trytond-cron runs on the SQLite copy of the test database only")
class OfflineTestCase(LiveServerTestCase):
    "Test scripts/offline.py"

    def test_sigterm_stops_cron_and_its_workers(self):
        "SIGTERM stops trytond-cron and its worker processes"
        configuration = os.path.join(self.directory, 'trytond.conf')
        log = open(os.path.join(self.directory, 'cron.log'), 'w+')
        self.addCleanup(log.close)
        cron = subprocess.Popen([sys.executable, str(OFFLINE),
                'trytond-cron', '-c', configuration, '-d', self.database,
                '-n', '2'], stdout=log, stderr=subprocess.STDOUT)
        workers = []
        try:
            deadline = time.monotonic() + 60
            while not workers and time.monotonic() < deadline:
                time.sleep(0.3)
                workers = children(cron.pid)
            self.assertTrue(workers, "trytond-cron started no worker")
            cron.send_signal(signal.SIGTERM)
            self.assertEqual(cron.wait(30), 0)
            deadline = time.monotonic() + 10
            while (any(alive(p) for p in workers)
                    and time.monotonic() < deadline):
                time.sleep(0.2)
            log.seek(0)
            self.assertEqual(
                [p for p in workers if alive(p)], [], log.read()[-2000:])
        finally:
            if cron.poll() is None:
                cron.kill()
                cron.wait()
            for pid in workers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
