# This file is part of Büro 365 Offers.  See the README for licence terms.
"""What a customer page view costs the server: its SQL queries and its
template compilations; parallel views in threads."""
import contextlib
import os
import threading
import unittest
from unittest.mock import patch

from genshi.template import MarkupTemplate
from genshi.template import eval as genshi_eval

from trytond import backend
from trytond.modules.company.tests import set_company
from trytond.pool import Pool

from .tools import (
    CustomerRouteTestCase,
    company,
    fill_offer,
    new_offer,
    run_committed,
    send_by_email,
)

# The most SQL statements one view of the customer page may run: a sent
# offer (what customers open: its page is kept, see web/pages.py) and one
# never sent (rendered live: staff's preview; down from 65).
MAX_SENT_PAGE_QUERIES = 10
MAX_LIVE_PAGE_QUERIES = 37


@contextlib.contextmanager
def recorded_queries():
    "Yield the list of the SQL statements run meanwhile (both backends)."
    if backend.name == 'sqlite':
        from trytond.backend.sqlite.database import SQLiteCursor as cursor
    else:
        from trytond.backend.postgresql.database import LoggingCursor as cursor
    queries = []
    original = cursor.execute

    def execute(self, query, *args, **kwargs):
        queries.append(' '.join(str(query).split()))
        return original(self, query, *args, **kwargs)
    with patch.object(cursor, 'execute', execute):
        yield queries


class PageCostTestCase(CustomerRouteTestCase):
    "Test the cost of a view of the customer page"

    def assertQueries(self, path, maximum):
        self.page(path)  # the first view warms the caches
        with recorded_queries() as queries:
            self.page(path)
        if os.environ.get('SHOW_QUERIES'):
            print('\n'.join(q[:200] for q in queries))
        self.assertLessEqual(len(queries), maximum,
            '\n'.join(q[:200] for q in queries))
        return queries

    def test_queries_sent_offer(self):
        "A view of a sent offer runs few SQL statements, a reload no write"
        offer_id, path = new_offer(send=False)
        fill_offer(offer_id)

        def send():
            with set_company(company()):
                send_by_email(Pool().get('buero365.offer')(offer_id))
        run_committed(send)
        queries = self.assertQueries(path, MAX_SENT_PAGE_QUERIES)
        # A reload is the visit already recorded (tracking.VISIT_WINDOW).
        self.assertEqual([q for q in queries
                if q.startswith(('INSERT', 'UPDATE', 'DELETE'))], [])

    def test_kept_page_follows_changes(self):
        "A sent offer's page is kept until what it shows changes"
        offer_id, path = new_offer()
        first = self.page(path)
        self.assertIn('id="accept-form"', first)
        with patch.object(MarkupTemplate, 'generate', autospec=True,
                side_effect=MarkupTemplate.generate) as generate:
            self.assertEqual(self.page(path), first)
        self.assertEqual(generate.call_count, 0)

        def edit():
            Offer = Pool().get('buero365.offer')
            Offer.write([Offer(offer_id)], {'title': "Umzug Köln → Berlin"})
        run_committed(edit)
        page = self.page(path)
        self.assertIn("An updated version is being prepared", page)
        self.assertNotIn('id="accept-form"', page)

    def test_queries_unsent_offer(self):
        "A view of an offer not sent yet (live) runs few SQL statements"
        offer_id, path = new_offer(send=False)
        fill_offer(offer_id)
        self.assertQueries(path, MAX_LIVE_PAGE_QUERIES)

    def test_templates_compiled_once(self):
        "The second view of a page compiles no template expression"
        offer_id, path = new_offer(send=False)
        fill_offer(offer_id)
        self.page(path)
        with patch.object(genshi_eval, '_compile',
                wraps=genshi_eval._compile) as compile_:
            page = self.page(path)
        self.assertIn("Position 5", page)
        self.assertEqual(compile_.call_count, 0)

    @unittest.skipIf(backend.name == 'sqlite',
        "each thread would open its own empty in-memory SQLite database")
    def test_parallel_views(self):
        "Eight customers open their pages at the same moment: all are served"
        paths = []
        for _ in range(4):
            offer_id, path = new_offer(send=False)
            paths.append(path)
        barrier = threading.Barrier(8)
        statuses = []

        def view(path):
            client = self.client()
            barrier.wait()
            for _ in range(3):
                statuses.append(client.get(path).status_code)
        threads = [threading.Thread(target=view, args=(paths[i % 4],))
            for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertEqual(statuses, [200] * 24)
