# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Offer conversion per lead source and period, computed in SQL.

Every figure is about the offers *created* in the context's date range (a
cohort), with their current state.  The answer time runs from the first
successful sending of the offer by email (buero365.offer.mail) to its first
acceptance or rejection in the status history; for an offer never sent by
email (printed and posted, or answered by phone) its creation stands in.
"""
import datetime as dt
from collections import defaultdict

from dateutil.relativedelta import relativedelta
from sql import Column, Literal, Null, Window
from sql.aggregate import Aggregate, Avg, Count, Min, Sum
from sql.conditionals import Case, Coalesce, NullIf
from sql.functions import DatePart, DateTrunc, Extract, Round
from sql.operators import Exists

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import pairwise_longest
from trytond.tools.chart import sparkline
from trytond.transaction import Transaction

from .offer import REJECTION_REASONS


class PercentileCont(Aggregate):
    "PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY ...)"
    __slots__ = ()
    _sql = 'PERCENTILE_CONT'


def _date_range_where(offer):
    "Filter the offers of the context's company and creation dates."
    context = Transaction().context
    where = offer.company == context.get('company')
    # Compare create_date with timestamps, not with its date, so that the
    # (create_date) index serves the range.
    from_date = context.get('from_date')
    if from_date:
        where &= offer.create_date >= dt.datetime.combine(
            from_date, dt.time.min)
    to_date = context.get('to_date')
    if to_date:
        where &= offer.create_date < dt.datetime.combine(
            to_date + dt.timedelta(days=1), dt.time.min)
    return where


def _per_record(figures, table, key):
    """Join the figures to the records of table (the companies, the lead
    sources) with offers in the period, a row's id being the record's id.

    search() reads only the ids: the database then drops the join to the
    figures (nothing of it is read) and only asks whether such an offer
    exists, instead of computing every figure to find the rows."""
    pool = Pool()
    Offer = pool.get('buero365.offer')
    offer = Offer.__table__()
    context = Transaction().context
    names = [c.output_name for c in figures.columns
        if c.output_name not in {'id', 'company', key}]
    exists = Exists(offer.select(Literal(1),
            where=_date_range_where(offer)
            & (Column(offer, key) == table.id)))
    return (table
        .join(figures, 'LEFT', condition=Column(figures, key) == table.id)
        .select(
            table.id.as_('id'),
            Literal(context.get('company')).as_('company'),
            *([table.id.as_(key)] if key != 'company' else []),
            *(Column(figures, n).as_(n) for n in names),
            where=exists))


class Abstract(ModelSQL):

    company = fields.Many2One('company.company', "Company")
    # The figures are loaded lazily: search() then selects only the keys of
    # the rows and the database skips the aggregates; read() computes the
    # figures it is asked for, in one query.
    sent = fields.Integer(
        "Sent", loading='lazy',
        help="Offers sent by email or already answered or expired.")
    sent_trend = fields.Function(fields.Char("Sent Trend"), 'get_trends')
    accepted = fields.Integer("Accepted", loading='lazy')
    rejected = fields.Integer("Rejected", loading='lazy')
    expired = fields.Integer("Expired", loading='lazy')
    acceptance_rate = fields.Float(
        "Acceptance Rate", digits=(1, 4), loading='lazy',
        help="Accepted offers among the sent offers.")
    acceptance_trend = fields.Function(
        fields.Char("Acceptance Trend"), 'get_trends')
    accepted_amount = Monetary(
        "Accepted Amount", currency='currency', digits='currency',
        loading='lazy',
        help="The net amount of the accepted offers, "
        "in the company's currency.")
    answered = fields.Integer(
        "Answered", loading='lazy',
        help="Offers the customer accepted or rejected.")
    median_answer_time = fields.TimeDelta(
        "Median Answer Time", loading='lazy',
        help="Half of the answered offers were answered faster. "
        "Measured from the first sending of the offer by email (from its "
        "creation if it was never emailed) to its first acceptance or "
        "rejection.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')

    time_series = None

    @classmethod
    def table_query(cls):
        offers, names = cls._offers()
        keys = cls._keys()
        if backend.name == 'postgresql':
            # The median of each group in the aggregate itself.
            return offers.select(
                *cls._columns(offers),
                group_by=[Column(offers, k) for k in keys])
        partition = [Column(offers, k) for k in keys]
        # Number the answered offers of each group by answer time to pick
        # the middle one(s) in the aggregate below: a median that SQLite
        # computes too (it has no percentile_cont).  A running COUNT
        # ignores the unanswered offers wherever the database sorts NULLs.
        ranked = offers.select(
            *(Column(offers, n) for n in names),
            Count(offers.answer_time, window=Window(
                    partition, order_by=[offers.answer_time.asc],
                    frame='ROWS', start=None, end=0)).as_('answer_rank'),
            Count(offers.answer_time, window=Window(partition)).as_(
                'answer_count'))
        return ranked.select(
            *cls._columns(ranked),
            group_by=[Column(ranked, k) for k in keys])

    @classmethod
    def _keys(cls):
        "Return the names of the columns that make a row of the report."
        return ['company']

    @classmethod
    def _offers(cls):
        """Return the query with one row per offer of the report and the
        names of its columns."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        offer = Offer.__table__()
        # in seconds, from the dates kept on the offer (first answer, first
        # sending by email): the report reads the offer table alone.
        sent_at = cls._column_sent_at(offer)
        if backend.name == 'postgresql':
            # date_part gives a float, EXTRACT a numeric (PostgreSQL 14+)
            # whose arithmetic took a third of the report's aggregate.
            answer_time = DatePart(
                'epoch', offer.first_answered_at - sent_at)
        else:
            answer_time = cls.acceptance_rate.sql_cast(
                Extract('EPOCH', offer.first_answered_at)
                - Extract('EPOCH', sent_at))
        columns = [
            offer.id.as_('id'),
            offer.company.as_('company'),
            offer.lead_source.as_('lead_source'),
            offer.state.as_('state'),
            offer.email_state.as_('email_state'),
            offer.sent_revision.as_('sent_revision'),
            cls._column_amount(offer).as_('amount'),
            answer_time.as_('answer_time'),
            ] + cls._offer_columns(offer)
        query = offer.select(*columns, where=cls._offer_where(offer))
        return query, [c.output_name for c in columns]

    @classmethod
    def _column_sent_at(cls, offer):
        "When the offer was sent: by email if it was, else its creation."
        return Coalesce(offer.first_sent_at, offer.create_date)

    @classmethod
    def _column_amount(cls, offer):
        "The net amount of the offer in the company's currency."
        pool = Pool()
        Company = pool.get('company.company')
        Rate = pool.get('currency.currency.rate')
        company_id = Transaction().context.get('company')
        if company_id is None or company_id < 0:
            return offer.untaxed_amount
        currency_id = Company(company_id).currency.id

        def rate(currency):
            rate = Rate.__table__()
            return rate.select(
                rate.rate,
                where=(rate.currency == currency)
                & (rate.date <= offer.create_date),
                order_by=[rate.date.desc], limit=1)
        # The rates are looked up only for offers in another currency.
        return Case(
            (offer.currency == currency_id, offer.untaxed_amount),
            else_=offer.untaxed_amount * rate(currency_id)
            / rate(offer.currency))

    @classmethod
    def _offer_columns(cls, offer):
        return []

    @classmethod
    def _offer_where(cls, offer):
        return _date_range_where(offer)

    @classmethod
    def _counts(cls, rows):
        """The aggregates of the offers' counts over rows (a query with the
        columns of _offers()): sent, accepted, rejected, expired and the
        acceptance rate."""
        def count(condition):
            return Sum(Case((condition, Literal(1)), else_=Literal(0)))
        # A revision was sent even if a later email (a resend) failed.
        sent = count((rows.sent_revision > 0)
            | (rows.email_state == 'sent') | (rows.state != 'open'))
        accepted = count(rows.state == 'accepted')
        return {
            'sent': sent,
            'accepted': accepted,
            'rejected': count(rows.state == 'rejected'),
            'expired': count(rows.state == 'expired'),
            'acceptance_rate': Coalesce(cls.acceptance_rate.sql_cast(
                    accepted) / NullIf(sent, 0), 0),
            }

    @classmethod
    def _columns(cls, ranked):
        """The report's columns over ranked: the offers of _offers(), on
        SQLite with their rank by answer time (see table_query)."""
        pool = Pool()
        Company = pool.get('company.company')
        if backend.name == 'postgresql':
            # The same: the middle answer time, or the mean of the two.
            median = PercentileCont(Literal(0.5),
                within=[ranked.answer_time])
        else:
            in_middle = ((ranked.answer_time != Null)
                & (ranked.answer_rank * 2 >= ranked.answer_count)
                & (ranked.answer_rank * 2 <= ranked.answer_count + 2))
            median = Avg(Case((in_middle, ranked.answer_time)))
        company_id = Transaction().context.get('company')
        digits = 2
        if company_id is not None and company_id >= 0:
            digits = Company(company_id).currency.digits
        # NULL, not 0, for the other offers: a sum of numeric zeros costs
        # a numeric addition an offer.
        accepted_amount = Round(cls.accepted_amount.sql_cast(Coalesce(
                    Sum(Case((ranked.state == 'accepted', ranked.amount))),
                    0)), digits)
        return [
            cls._column_id(ranked).as_('id'),
            ranked.company.as_('company'),
            *(c.as_(n) for n, c in cls._counts(ranked).items()),
            accepted_amount.as_('accepted_amount'),
            Count(ranked.answer_time).as_('answered'),
            median.as_('median_answer_time'),
            ] + [Column(ranked, k).as_(k) for k in cls._keys()
            if k != 'company']

    @classmethod
    def _column_id(cls, ranked):
        # The groups are disjoint sets of offers.
        return Min(ranked.id)

    def get_currency(self, name):
        return self.company.currency.id

    @classmethod
    def get_trends(cls, records, names):
        """The sparklines of sent offers and acceptance rate per period (and
        for the main report its time series), from one query."""
        result = {name: {r.id: '' for r in records} for name in names}
        if cls.time_series is None:
            return result
        Timeseries = cls.time_series.get_target()
        parent_keys = [k for k in cls._keys() if k != 'company']
        # Only the figures drawn, grouped as the series' rows (the same
        # ids): not its table_query, whose median ranks the offers of each
        # period (two window sorts) for a figure the trends do not draw.
        offers, _ = Timeseries._offers()
        counts = Timeseries._counts(offers)
        series_id = Timeseries._column_id(offers)
        cursor = Transaction().connection.cursor()
        cursor.execute(*offers.select(
                series_id, offers.date, counts['sent'],
                counts['acceptance_rate'],
                *(Column(offers, k) for k in parent_keys),
                group_by=[Column(offers, k) for k in Timeseries._keys()],
                order_by=[offers.date.asc, series_id.asc]))
        rows = defaultdict(list)
        for id_, date, sent, rate, *key in cursor:
            if isinstance(date, str):  # SQLite
                date = dt.date.fromisoformat(date[:10])
            rows[tuple(key)].append({
                    'id': id_, 'date': date, 'sent': sent,
                    'acceptance_rate': rate})
        columns = {
            'sent_trend': 'sent',
            'acceptance_trend': 'acceptance_rate',
            }
        for record in records:
            key = cls._series_key(record)
            periods = list(cls._periods_all(rows[key]))
            for name in names:
                if name == 'time_series':
                    result[name][record.id] = [p['id'] for p in rows[key]]
                else:
                    result[name][record.id] = sparkline([
                            p[columns[name]] or 0 if p else 0
                            for p in periods])
        return result

    @classmethod
    def _series_key(cls, record):
        "The values of the keys of the record's time series rows."
        return ()

    @classmethod
    def _periods_all(cls, rows):
        "The rows sorted by date with None for the periods without offers."
        delta = cls._period_delta()
        for row, next_row in pairwise_longest(rows):
            yield row
            if delta and next_row:
                date = row['date'] + delta
                while date < next_row['date']:
                    yield None
                    date += delta

    @classmethod
    def _period_delta(cls):
        context = Transaction().context
        return {
            'year': relativedelta(years=1),
            'month': relativedelta(months=1),
            'day': relativedelta(days=1),
            }.get(context.get('period', 'month'))


class AbstractTimeseries(Abstract):

    date = fields.Date("Date")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'ASC'))

    @classmethod
    def _keys(cls):
        return super()._keys() + ['date']

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls._create_period_statistics()

    @classmethod
    def _create_period_statistics(cls):
        """On PostgreSQL, let the planner know how many periods the offers
        fall in (extended statistics on the expression of
        _offer_columns): without them it takes each offer for a period of
        its own, sorts the offers of the range on disk to group them and
        hashes nothing (the trends of 12 months at 200,000 offers: 206 ms
        against 135 ms)."""
        if backend.name != 'postgresql':
            return
        pool = Pool()
        Offer = pool.get('buero365.offer')
        cursor = Transaction().connection.cursor()
        created = False
        for period, _ in cls.period_selection():
            name = f'{Offer._table}_create_{period}'
            cursor.execute(
                'SELECT 1 FROM pg_statistic_ext WHERE stxname = %s', (name,))
            if cursor.fetchone():
                continue
            # The expression as _offer_columns writes it (DDL takes no
            # parameters; period is one of the selection's keys).
            cursor.execute(f'CREATE STATISTICS "{name}" '
                f"ON (CAST(DATE_TRUNC('{period}', create_date) AS DATE)) "
                f'FROM "{Offer._table}"')
            created = True
        if created:
            cursor.execute(f'ANALYZE "{Offer._table}"')

    @classmethod
    def period_selection(cls):
        pool = Pool()
        Context = pool.get('buero365.offer.reporting.context')
        return Context.period.selection

    @classmethod
    def _offer_columns(cls, offer):
        context = Transaction().context
        date = DateTrunc(context.get('period', 'month'), offer.create_date)
        return super()._offer_columns(offer) + [
            cls.date.sql_cast(date).as_('date')]


class Context(ModelView):
    "Offer Reporting Context"
    __name__ = 'buero365.offer.reporting.context'
    __string__ = "Offer Reporting Context"

    company = fields.Many2One('company.company', "Company", required=True)
    from_date = fields.Date(
        "From Date",
        domain=[
            If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')),
                ()),
            ],
        help="The offers created from this day.")
    to_date = fields.Date(
        "To Date",
        domain=[
            If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')),
                ()),
            ],
        help="The offers created until this day, included.")
    period = fields.Selection([
            ('year', "Year"),
            ('month', "Month"),
            ('day', "Day"),
            ], "Period", required=True)

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        context = Transaction().context
        if 'from_date' in context:
            return context['from_date']
        return Date.today() - relativedelta(years=1)

    @classmethod
    def default_to_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        context = Transaction().context
        if 'to_date' in context:
            return context['to_date']
        return Date.today()

    @classmethod
    def default_period(cls):
        return Transaction().context.get('period', 'month')


class Main(Abstract, ModelView):
    "Offer Reporting"
    __name__ = 'buero365.offer.reporting.main'
    __string__ = "Offer Reporting"

    time_series = fields.Function(fields.Many2Many(
            'buero365.offer.reporting.main.time_series', None, None,
            "Time Series"),
        'get_trends')

    @classmethod
    def table_query(cls):
        pool = Pool()
        Company = pool.get('company.company')
        return _per_record(super().table_query(), Company.__table__(),
            'company')

    def get_rec_name(self, name):
        return self.company.rec_name


class MainTimeseries(AbstractTimeseries, ModelView):
    "Offer Reporting per Period"
    __name__ = 'buero365.offer.reporting.main.time_series'
    __string__ = "Offer Reporting per Period"


class LeadSourceMixin:
    __slots__ = ()

    lead_source = fields.Many2One('buero365.lead.source', "Lead Source")

    @classmethod
    def _keys(cls):
        return super()._keys() + ['lead_source']

    @classmethod
    def _offer_where(cls, offer):
        return super()._offer_where(offer) & (offer.lead_source != Null)

    def get_rec_name(self, name):
        return self.lead_source.rec_name if self.lead_source else ''

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('lead_source.rec_name', *clause[1:])]


class LeadSource(LeadSourceMixin, Abstract, ModelView):
    "Offer Reporting per Lead Source"
    __name__ = 'buero365.offer.reporting.lead_source'
    __string__ = "Offer Reporting per Lead Source"

    time_series = fields.One2Many(
        'buero365.offer.reporting.lead_source.time_series', 'lead_source',
        "Time Series")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('lead_source', 'ASC'))

    @classmethod
    def _column_id(cls, ranked):
        # One row per source: the row is the source (see time_series).
        return ranked.lead_source

    @classmethod
    def table_query(cls):
        pool = Pool()
        Source = pool.get('buero365.lead.source')
        return _per_record(super().table_query(), Source.__table__(),
            'lead_source')

    @classmethod
    def _series_key(cls, record):
        return (record.id,)


class LeadSourceTimeseries(LeadSourceMixin, AbstractTimeseries, ModelView):
    "Offer Reporting per Lead Source and Period"
    __name__ = 'buero365.offer.reporting.lead_source.time_series'
    __string__ = "Offer Reporting per Lead Source and Period"


class RejectionReason(ModelSQL, ModelView):
    "Offer Rejection Reasons"
    __name__ = 'buero365.offer.reporting.rejection_reason'
    __string__ = "Offer Rejection Reasons"

    company = fields.Many2One('company.company', "Company")
    lead_source = fields.Many2One('buero365.lead.source', "Lead Source")
    rejection_reason = fields.Selection(
        REJECTION_REASONS, "Rejection Reason", sort=False)
    number = fields.Integer("Rejected")
    share = fields.Float(
        "Share", digits=(1, 4),
        help="Among the rejected offers of the lead source.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('lead_source', 'ASC'),
            ('number', 'DESC'),
            ('id', 'ASC'),
            ]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        offer = Offer.__table__()
        number = Count()
        per_source = Sum(number, window=Window(
                [offer.company, offer.lead_source]))
        return offer.select(
            Min(offer.id).as_('id'),
            offer.company.as_('company'),
            offer.lead_source.as_('lead_source'),
            offer.rejection_reason.as_('rejection_reason'),
            number.as_('number'),
            (cls.share.sql_cast(number) / per_source).as_('share'),
            where=_date_range_where(offer) & (offer.state == 'rejected'),
            group_by=[offer.company, offer.lead_source,
                offer.rejection_reason])

    def get_rec_name(self, name):
        reasons = dict(self.fields_get(
                ['rejection_reason'])['rejection_reason']['selection'])
        return reasons.get(self.rejection_reason) or ''
