# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Automatic expiry of open offers and reminders before it (ir.cron).

Offers are selected in SQL, batch by batch, through the index on
valid_until of open offers: a million offers never sit in memory."""
import datetime as dt
import logging
from collections import defaultdict

from sql import Literal, Null
from sql.functions import CurrentTimestamp
from sql.operators import NotEqual

from trytond import config
from trytond.exceptions import UserError
from trytond.model import fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

from .mail import QUEUE
from .media import sql_reference

logger = logging.getLogger(__name__)

# Offers expired per statement (ids only in memory): one UPDATE of 5,000
# rows costs 30 % less a row than ten of 500.
BATCH_SIZE = 5000
# Offers handled per batch of records (the ORM transition, reminders):
# trytond's instances cost more than linearly in their number.
RECORD_BATCH_SIZE = 500
# The queue of the batches expire_due gives to the workers.
EXPIRY_QUEUE = 'buero365_offers_expiry'
# "id IN ids": one array parameter on PostgreSQL.
in_ = SQL_OPERATORS['in']


class Configuration(metaclass=PoolMeta):
    __name__ = 'buero365.offer.configuration'

    reminder_enabled = fields.Boolean(
        "Expiry Reminders",
        help="Email the customer when an open offer is about to expire.")
    reminder_days = fields.Integer(
        "Days Before Expiry",
        states={
            'required': Bool(Eval('reminder_enabled')),
            'invisible': ~Bool(Eval('reminder_enabled')),
            },
        domain=['OR',
            ('reminder_days', '=', None),
            ('reminder_days', '>=', 1),
            ],
        help="How many days before the last valid day the reminder is "
        "sent.")

    @classmethod
    def default_reminder_enabled(cls):
        return False

    @classmethod
    def default_reminder_days(cls):
        return 3


class ExpiryMixin:
    "Expiry of the offers and reminders before it (buero365.offer uses it)."
    __slots__ = ()

    @classmethod
    def _context_company(cls):
        """The id of the company a scheduled job runs for: ir.cron runs it
        once for each company it is set for, with that company in the
        context.  None without one (a cron set for no company, a script)."""
        company = Transaction().context.get('company')
        return company if company and company > 0 else None

    @classmethod
    def _for_each_company(cls, job):
        """Run job() once for each company, with it in the context; return
        the sum of what it returns.  What a job does when no company is
        given (e.g. a cron record created before the first company)."""
        pool = Pool()
        Company = pool.get('company.company')
        count = 0
        for company in Company.search([]):
            with Transaction().set_context(company=company.id):
                count += job()
        return count

    @classmethod
    def _due_ids(cls, where, lock=False, size=None):
        """Yield lists of the ids of the offers matching the SQL condition,
        batch after batch in (valid_until, id) order.  Each query starts
        after the last offer of the one before (through the index of open
        offers on valid_until, not again over the rows done); with lock,
        the offers are locked, and those another transaction holds are
        left to it (PostgreSQL).  size: the ids a batch, BATCH_SIZE by
        default."""
        table = cls.__table__()
        database = Transaction().database
        cursor = Transaction().connection.cursor()
        last = None
        while True:
            condition = where(table)
            if last:
                valid_until, id_ = last
                condition &= ((table.valid_until >= valid_until)
                    & ((table.valid_until > valid_until)
                        | (table.id > id_)))
            query = table.select(table.id, table.valid_until,
                where=condition,
                order_by=[table.valid_until.asc, table.id.asc],
                limit=size or BATCH_SIZE)
            if lock and database.has_select_for():
                query.for_ = database.get_select_for_skip_locked()('UPDATE')
            cursor.execute(*query)
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][1], rows[-1][0]
            yield [i for i, _ in rows]

    @classmethod
    def _batches(cls, where):
        "Yield lists of offers matching the SQL condition (see _due_ids)."
        for ids in cls._due_ids(where, size=RECORD_BATCH_SIZE):
            yield cls.browse(ids)

    @classmethod
    def _commit_batch(cls):
        # The scheduler commits each batch: progress is kept and a conflict
        # with a customer's answer only retries one batch.
        transaction = Transaction()
        if transaction.context.get('_cron'):
            transaction.commit()

    @classmethod
    def expire_due(cls):
        """Mark as expired the open offers of the company of the context
        whose validity is over: the whole valid_until day in the company's
        time zone has passed.  Without a company: those of every company.

        Set-based, batch by batch: one UPDATE takes the due offers that
        are still open (so that two overlapping runs expire an offer only
        once), their history and log rows are inserted in bulk, and what
        follows an expiry (_follow_expiry) gets the batch.  With queue
        workers ([queue] worker = True) each batch is a task of theirs
        (expire_batch) and the offers queued are counted."""
        pool = Pool()
        Date = pool.get('ir.date')
        Trigger = pool.get('ir.trigger')
        company = cls._context_company()
        if company is None:
            return cls._for_each_company(cls.expire_due)
        # the company's day under its context (company's ir.date)
        today = Date.today()

        def due(table):
            return ((table.state == 'open')
                & (table.valid_until < today)
                & (table.company == company))
        count = 0
        if Trigger.get_triggers(cls.__name__, 'write'):
            # Triggers an administrator set on offers see each write: the
            # ORM's transition, offer by offer.
            for offers in cls._batches(due):
                cls.expire(offers)
                count += len(offers)
                cls._commit_batch()
        elif config.getboolean('queue', 'worker', default=False):
            # With queue workers, they expire the batches side by side (a
            # state change writes every index of the row, the trigram one
            # most: work for more than one core).  The selection takes no
            # lock: _expire_batch expires only what is still open.
            for ids in cls._due_ids(due):
                # The ids are the task's argument, not its records: the
                # queue would read and browse the 5,000 offers first
                # (trytond checks the ids of a browse once a record: 25
                # million checks, 2 s of the task's 2.6 s).
                with Transaction().set_context(queue_name=EXPIRY_QUEUE):
                    cls.__queue__.expire_batch(ids[0], ids)
                count += len(ids)
            logger.info("queued the expiry of %d offers of company %d",
                count, company)
            return count
        else:
            for ids in cls._due_ids(due, lock=True):
                count += len(cls._expire_batch(ids))
                cls._commit_batch()
        logger.info("expired %d offers of company %d", count, company)
        return count

    @classmethod
    def expire_batch(cls, offer, ids):
        """Expire those of the offers of ids that are still open (the
        ir.queue task of expire_due; offer: the first of them, the task's
        record); return how many."""
        return len(cls._expire_batch(ids))

    @classmethod
    def _expire_batch(cls, ids):
        """Expire those of the offers of ids that are still open, as the
        transition expire does (status, history, log of the transition,
        _follow_expiry), in a few statements; return their ids."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        values = ([table.state, table.write_uid, table.write_date],
            ['expired', transaction.user, CurrentTimestamp()])
        # Still open: an overlapping run or an answer may have come first.
        where = in_(table.id, ids) & (table.state == 'open')
        if transaction.database.has_returning():
            cursor.execute(*table.update(*values, where=where,
                    returning=[table.id]))
            ids = sorted(i for i, in cursor)
        else:
            # SQLite: one writer at a time; the select took no lock.
            cursor.execute(*table.select(table.id, where=where))
            ids = [i for i, in cursor]
            if ids:
                cursor.execute(*table.update(*values,
                        where=in_(table.id, ids)))
        if ids:
            cls._record_expiry(ids)
            # What was read of these offers says they are open.
            for cache in transaction.cache.values():
                cache.clear()
            cls._follow_expiry(ids)
        return ids

    @classmethod
    def _record_expiry(cls, ids):
        """Insert the status history and the transition log (ir.model.log,
        as Workflow.transition logs it) of the offers of ids, just
        expired."""
        pool = Pool()
        History = pool.get('buero365.offer.history')
        Log = pool.get('ir.model.log')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        user = transaction.user
        now = dt.datetime.now()
        table = cls.__table__()
        history = History.__table__()
        # INSERT ... SELECT over the ids (an array on PostgreSQL): a few
        # parameters, not one per value.
        expired = in_(table.id, ids)
        cursor.execute(*history.insert(
                [history.offer, history.date, history.user,
                    history.from_state, history.to_state,
                    history.create_uid, history.create_date],
                table.select(table.id, Literal(now), Literal(user or None),
                    Literal('open'), Literal('expired'), Literal(user),
                    CurrentTimestamp(), where=expired)))
        if cls._log:
            log = Log.__table__()
            cursor.execute(*log.insert(
                    [log.resource, log.event, log.target, log.user,
                        log.create_uid, log.create_date],
                    table.select(
                        sql_reference(cls, table.id),
                        Literal('transition'), Literal('state:expired'),
                        Literal(user), Literal(user), CurrentTimestamp(),
                        where=expired)))

    @classmethod
    def _follow_expiry(cls, ids):
        """What follows the expiry of the offers of ids by expire_due (the
        transition expire's own follow-ups); other modules extend it."""

    @classmethod
    def remind_due(cls):
        """Queue an expiry reminder to the customers of open, sent offers
        whose last valid day is at most the configured days away (not
        while staff prepare an update of them), for the company of the
        context; without a company, for every company.  Return how many
        were queued: the queue's workers compose and send them
        (send_expiry_reminders), the scheduler only marks them."""
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        Date = pool.get('ir.date')
        company = cls._context_company()
        if company is None:
            return cls._for_each_company(cls.remind_due)
        config = Configuration(1)
        if not config.reminder_enabled or not config.reminder_days:
            return 0
        today = Date.today()
        horizon = today + dt.timedelta(days=config.reminder_days)

        def due(table):
            return ((table.state == 'open')
                & (table.valid_until >= today)
                & (table.valid_until <= horizon)
                & (table.company == company)
                & (table.sent_revision > 0)
                # Not while an update is prepared: it cannot be answered.
                & (table.revision == table.sent_revision)
                & ((table.reminded_for == Null)
                    | NotEqual(table.reminded_for, table.valid_until)))
        count = 0
        for offers in cls._batches(due):
            # Marked at once, also without an address (nobody to remind):
            # one write per last valid day.
            by_day = defaultdict(list)
            for offer in offers:
                by_day[offer.valid_until].append(offer)
            cls.write(*(value for day, records in by_day.items()
                    for value in (records, {'reminded_for': day})))
            # Composed and sent by the queue's workers, a batch a task.
            with Transaction().set_context(queue_name=QUEUE):
                cls.__queue__.send_expiry_reminders(offers)
            count += len(offers)
            cls._commit_batch()
        logger.info(
            "queued %d expiry reminders for company %d", count, company)
        return count

    @classmethod
    def send_expiry_reminders(cls, offers):
        """Email the expiry reminder of each offer that can still be
        answered as it was sent (run by ir.queue for remind_due); return
        how many were sent.  One that cannot be composed is logged."""
        count = 0
        for offer in offers:
            if (offer.state != 'open' or not offer.sent_revision
                    or offer.revision != offer.sent_revision):
                continue
            try:
                if offer.send_expiry_reminder():
                    count += 1
            except UserError:
                # e.g. an address refused when composing: one bad
                # offer must not stop (and roll back) the batch.
                logger.warning(
                    "no expiry reminder for offer %s", offer.number,
                    exc_info=True)
        return count

    def send_expiry_reminder(self):
        "Email the customer that the offer expires soon; tell if sent."
        return bool(self.send_to_customer(
                'reminder', 'email_template_reminder'))


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('buero365.offer|expire_due', "Expire Offers"),
                ('buero365.offer|remind_due', "Send Offer Expiry Reminders"),
                ])
