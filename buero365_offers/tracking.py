# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The mail tracker (buero365.offer.event): what happened to an offer's
emails and page, listed on its Mail Tracker tab, with the requests of
link scanners told apart from a person's.

The offer page is opened once a visit: a visitor who reloads it or comes
back to it within VISIT_WINDOW of its "page opened" is not recorded again,
and such a view writes nothing."""
import datetime as dt
import threading

from sql import Null
from sql.functions import CurrentTimestamp

from trytond.cache import LRUDict
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .link_scanners import REASONS as SCANNER_REASONS
from .link_scanners import scanner_reason
from .mail import _rename_kind
from .offer import OfferLogMixin
from .text import clean_line

EVENT_TYPES = [
    ('queued', "Email queued"),
    ('sent', "Email sent"),
    ('failed', "Email failed"),
    ('opened', "Email opened"),
    ('clicked', "Link clicked"),
    ('page_opened', "Offer page opened"),
    ]
# The events a reload of the page repeats: recorded once a visit.  The
# email's image and links and every answer are recorded each time.
VISIT_EVENTS = {'page_opened'}
# A view of the offer page within this time of the "page opened" recorded
# for the same visitor (the same offer, browser and scanner verdict) is
# the same visit.  30 minutes is the visit of web analytics (Matomo,
# Google Analytics): staff read the Mail Tracker to learn when the customer
# looked at the offer; a customer pressing F5, or going back to the tab
# while reading it, tells them nothing new, a customer back after lunch or
# the next day does.  A visit reloaded all along is recorded every 30 min.
VISIT_WINDOW = dt.timedelta(minutes=30)
# The visits each process remembers, so that a repeated view asks the
# database nothing: bounded, the oldest recorded forgotten first (then the
# database still knows).
VISIT_MEMORY = 10000
_visits = LRUDict(VISIT_MEMORY)
_visits_lock = threading.Lock()


def _visit_going_on(visit, now):
    "Whether this process remembers visit as started within VISIT_WINDOW."
    with _visits_lock:
        started = _visits.get(visit)
    return started is not None and now - started < VISIT_WINDOW


def _remember_visits(visits):
    "Remember when the visits (a dict) started, the newest last."
    with _visits_lock:
        for visit, started in visits.items():
            _visits.pop(visit, None)
            _visits[visit] = started


class _VisitsRecorded:
    """The visits a transaction recorded, remembered once it committed
    (not when it is rolled back or retried)."""

    def __init__(self):
        self.visits = {}

    def __eq__(self, other):
        return isinstance(other, _VisitsRecorded)

    def tpc_begin(self, transaction):
        pass

    commit = tpc_vote = tpc_abort = tpc_begin

    def tpc_finish(self, transaction):
        _remember_visits(self.visits)


class OfferEvent(OfferLogMixin, ModelSQL, ModelView):
    "Offer Mail Tracker Event"
    __name__ = 'buero365.offer.event'
    __string__ = "Offer Mail Tracker Event"

    mail = fields.Many2One(
        'buero365.offer.mail', "Email", readonly=True, ondelete='SET NULL')
    event_type = fields.Selection(EVENT_TYPES, "Event", required=True,
        readonly=True)
    detail = fields.Char("Detail", readonly=True)
    user_agent = fields.Char("Browser", readonly=True)
    scanner = fields.Selection([(None, '')] + SCANNER_REASONS,
        "Link Scanner", readonly=True,
        help="Why the request most likely came from a mail filter or a "
        "link scanner rather than the customer; such events do not count "
        "as opened.")

    @classmethod
    def __register__(cls, module):
        _rename_kind(cls, module, 'event_type')
        super().__register__(module)

    @classmethod
    def record_visit(cls, offer, event_type, request, mail=None, detail=None):
        """Record a request of the customer's side (the email's image or
        links, the offer page), telling link scanners from people: by
        method, prefetch headers, User-Agent and how soon after the
        email was sent it came.

        A "page opened" (VISIT_EVENTS) is recorded once a visit: not
        again for the same visitor within VISIT_WINDOW."""
        now = dt.datetime.now()
        user_agent = clean_line(request.headers.get('User-Agent'))[:200]
        user_agent = user_agent or None
        visit = None
        if event_type in VISIT_EVENTS:
            # The verdict without the sending time: the same for a person
            # (never remembered as 'early', see below).  The offer's
            # creation too: a database made anew under its name (tests)
            # has the same ids.
            visit = (Transaction().database.name, offer.id,
                offer.create_date, event_type, user_agent,
                scanner_reason(request.method, request.headers))
            if _visit_going_on(visit, now):
                return
        if mail:
            # Not sent yet: it is being delivered, and scanned.
            sent_at = mail.sent_at if mail.state == 'sent' else now
        else:
            sent_at = cls._last_sent_at(offer)
        scanner = scanner_reason(request.method, request.headers, sent_at,
            now)
        if visit:
            # An 'early' visit is never looked up in memory: the database
            # tells it from a person's view a minute later.
            visit = visit[:-1] + (scanner,)
            started = cls._visit_started(offer, event_type, user_agent,
                scanner, now)
            if started:
                _remember_visits({visit: started})
                return
        cls.record(offer, event_type, mail=mail, detail=detail,
            user_agent=user_agent, scanner=scanner)
        if visit:
            Transaction().join(_VisitsRecorded()).visits[visit] = now

    @staticmethod
    def _last_sent_at(offer):
        "When an email of the offer was last sent, or None."
        Mail = Pool().get('buero365.offer.mail')
        # The time alone: a Mail record would read its bodies.
        table = Mail.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.sent_at,
                where=(table.offer == offer.id) & (table.sent_at != Null),
                order_by=[table.sent_at.desc], limit=1))
        sent_at, = cursor.fetchone() or [None]
        return sent_at

    @classmethod
    def _visit_started(cls, offer, event_type, user_agent, scanner, now):
        """When the event of the visit of this visitor that is going on
        was recorded, or None (a new visit)."""
        event = cls.__table__()
        cursor = Transaction().connection.cursor()
        # None is IS NULL in python-sql.
        cursor.execute(*event.select(event.date,
                where=(event.offer == offer.id)
                & (event.event_type == event_type)
                & (event.user_agent == user_agent)
                & (event.scanner == scanner)
                & (event.date > now - VISIT_WINDOW),
                order_by=[event.date.desc], limit=1))
        started, = cursor.fetchone() or [None]
        return started

    @classmethod
    def record(cls, offer, event_type, mail=None, detail=None, user_agent=None,
            scanner=None):
        """Record what happened to an offer's emails and page.

        Tracking never changes the offer's status: it only writes events
        and the first time the email or page was opened (by a person: not
        when scanner gives why a link scanner most likely asked)."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        now = dt.datetime.now()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        # One INSERT, as a log is written: an event is never read back,
        # validated or changed, and a page view writes one.
        event = cls.__table__()
        cursor.execute(*event.insert(
                [event.create_uid, event.create_date, event.offer,
                    event.mail, event.event_type, event.date, event.detail,
                    event.user_agent, event.scanner],
                [[transaction.user, CurrentTimestamp(), offer.id,
                        mail.id if mail else None, event_type, now,
                        clean_line(detail)[:200] or None,
                        clean_line(user_agent)[:200] or None, scanner]]))
        column = {
            'opened': 'email_opened_at',
            'page_opened': 'page_opened_at',
            }.get(event_type)
        if column and not scanner and not getattr(offer, column):
            table = Offer.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [getattr(table, column)], [now],
                    where=(table.id == offer.id)
                    & (getattr(table, column) == None)))  # noqa: E711
