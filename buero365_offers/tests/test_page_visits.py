# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The Mail Tracker counts visits of the offer page, not requests: a
customer reloading the page is recorded once (tracking.VISIT_WINDOW)."""
import datetime as dt
from unittest.mock import patch

from trytond.modules.buero365_offers import tracking
from trytond.pool import Pool
from trytond.transaction import Transaction

from .tools import (
    CustomerRouteTestCase,
    date_mails_back,
    new_offer,
    read,
    run_committed,
)

FIREFOX = ('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) '
    'Gecko/20100101 Firefox/133.0')
SAFARI = ('Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) '
    'AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 '
    'Safari/604.1')


def page_events(offer_id):
    "The offer's page opened events (browser, scanner), oldest first."
    def events():
        offer = Pool().get('buero365.offer')(offer_id)
        return [(e.user_agent, e.scanner) for e in reversed(offer.events)
            if e.event_type == 'page_opened']
    return read(events)


def age_events(offer_id, minutes):
    "Make the offer's events minutes older (in SQL: they are read-only)."
    def age():
        Event = Pool().get('buero365.offer.event')
        table = Event.__table__()
        cursor = Transaction().connection.cursor()
        # In Python: SQLite cannot subtract an interval.
        for event in Event.search([('offer', '=', offer_id)]):
            cursor.execute(*table.update([table.date],
                    [event.date - dt.timedelta(minutes=minutes)],
                    where=table.id == event.id))
    run_committed(age)


class PageVisitsTestCase(CustomerRouteTestCase):
    "Test how the views of the offer page are tracked"

    def sent_offer(self):
        "A sent offer whose email went out a minute ago: (id, page path)."
        offer_id, path = new_offer()
        run_committed(lambda: date_mails_back(offer_id))
        return offer_id, path

    def view(self, path, agent=FIREFOX, method='get'):
        response = getattr(self.client(), method)(
            path, headers={'User-Agent': agent})
        self.assertEqual(response.status_code, 200)

    def test_reloads_are_one_visit(self):
        "A customer pressing F5 is one page opened; another browser another"
        offer_id, path = self.sent_offer()
        for _ in range(3):
            self.view(path)
        self.view(path, method='head')
        self.view(path, method='head')
        self.view(path, agent=SAFARI)
        self.assertEqual(page_events(offer_id), [
                (FIREFOX, None), (FIREFOX, 'head'), (SAFARI, None)])
        self.assertTrue(read(
                lambda: Pool().get('buero365.offer')(offer_id)
                .page_opened_at))

    def test_scanner_then_customer(self):
        "A link scanner's view does not hide the customer's a minute later"
        offer_id, path = new_offer()
        self.view(path)  # seconds after sending: a mail filter
        run_committed(lambda: date_mails_back(offer_id))
        self.view(path)
        self.view(path)
        self.assertEqual(page_events(offer_id), [
                (FIREFOX, 'early'), (FIREFOX, None)])

    def test_another_process_knows_the_visit(self):
        "A view served by another process is of the same visit too"
        offer_id, path = self.sent_offer()
        self.view(path)
        age_events(offer_id, 20)
        with patch.object(tracking, '_visits', {}):
            self.view(path)
        self.assertEqual(len(page_events(offer_id)), 1)

    def test_back_after_the_window(self):
        "A customer back after half an hour opens the page again"
        offer_id, path = self.sent_offer()
        self.view(path)
        age_events(offer_id, 31)
        with tracking._visits_lock:
            for visit in list(tracking._visits):
                tracking._visits[visit] -= dt.timedelta(minutes=31)
        self.view(path)
        self.view(path)
        self.assertEqual(page_events(offer_id), [(FIREFOX, None)] * 2)

    def test_email_opened_each_time(self):
        "The email's image and links are recorded at every request"
        offer_id, path = self.sent_offer()

        def signed():
            Mail = Pool().get('buero365.offer.mail')
            mail, = Mail.search([('offer', '=', offer_id)])
            return mail.signed_token()
        base = path.rsplit('/', 1)[0] + f'/t/{read(signed)}'
        client = self.client()
        for _ in range(2):
            client.get(f'{base}/open.gif', headers={'User-Agent': FIREFOX})
            client.get(f'{base}/view', headers={'User-Agent': FIREFOX})

        def kinds():
            offer = Pool().get('buero365.offer')(offer_id)
            return sorted(e.event_type for e in offer.events
                if e.event_type in {'opened', 'clicked'})
        self.assertEqual(read(kinds), ['clicked'] * 2 + ['opened'] * 2)
