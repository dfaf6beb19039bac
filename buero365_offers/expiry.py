# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Automatic expiry of open offers and reminders before it (ir.cron).

Offers are selected in SQL, batch by batch, through the index on
valid_until of open offers: a million offers never sit in memory."""
import datetime as dt
import logging

from sql import Null
from sql.operators import NotEqual

from trytond.exceptions import UserError
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)

# Offers handled per query and per transition.
BATCH_SIZE = 500


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
    def _batches(cls, where):
        """Yield lists of offers matching the SQL condition, batch after
        batch; each batch must leave the condition (or it loops)."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        while True:
            cursor.execute(*table.select(
                    table.id, where=where(table),
                    order_by=[table.valid_until.asc, table.id.asc],
                    limit=BATCH_SIZE))
            ids = [i for i, in cursor]
            if not ids:
                break
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
        time zone has passed.  Without a company: those of every company."""
        pool = Pool()
        Date = pool.get('ir.date')
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
        for offers in cls._batches(due):
            cls.expire(offers)
            count += len(offers)
            cls._commit_batch()
        logger.info("expired %d offers of company %d", count, company)
        return count

    @classmethod
    def remind_due(cls):
        """Email an expiry reminder to the customers of open, sent offers
        whose last valid day is at most the configured days away (not
        while staff prepare an update of them), for the company of the
        context; without a company, for every company."""
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
            for offer in offers:
                try:
                    if offer.send_expiry_reminder():
                        count += 1
                except UserError:
                    # e.g. an address refused when composing: one bad
                    # offer must not stop (and roll back) the batch.
                    logger.warning(
                        "no expiry reminder for offer %s", offer.number,
                        exc_info=True)
            # Marked also without an address: nobody to remind.
            to_write = []
            for offer in offers:
                to_write.extend(
                    [[offer], {'reminded_for': offer.valid_until}])
            cls.write(*to_write)
            cls._commit_batch()
        logger.info(
            "sent %d expiry reminders for company %d", count, company)
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
