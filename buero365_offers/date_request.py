# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Another date proposed by the customer: recorded on the offer, confirmed
by the staff (the offer moves and the new revision is sent) or declined
with a message."""
import datetime as dt

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools.timezone import UTC, get_tzinfo
from trytond.transaction import Transaction

from .acceptance import clean_comment, utc_now
from .document import render_fragment
from .exceptions import AnswerInvalid
from .text import clean_line

# How far ahead a customer may propose a date.
MAX_AHEAD = dt.timedelta(days=3 * 365)
# The longest service a proposal may span.
MAX_DURATION = dt.timedelta(days=60)

STATES = [
    ('pending', "Pending"),
    ('confirmed', "Confirmed"),
    ('declined', "Declined"),
    ]


def parse_customer_datetime(value, zone):
    """Return a date-time of the customer as naive UTC, None when empty.

    Text is ISO 8601; without an offset it is the company's local time, as
    a browser's date-time field sends it.  A datetime without tzinfo is
    UTC, as everywhere in trytond.  Raise AnswerInvalid when unreadable."""
    if value is None or value == '':
        return None
    if isinstance(value, dt.datetime):
        parsed = value
        if parsed.tzinfo is None:
            return parsed
    else:
        text = value.strip() if isinstance(value, str) else ''
        if not text:
            return None
        try:
            if len(text) > 40:
                raise ValueError(text)
            parsed = dt.datetime.fromisoformat(text)
        except ValueError as exception:
            raise AnswerInvalid(gettext(
                    'buero365_offers.msg_date_invalid')) from exception
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError as exception:
        # Before year 1 or after 9999 in UTC (0001-01-01T00:30 in Berlin).
        raise AnswerInvalid(gettext(
                'buero365_offers.msg_date_invalid')) from exception


class DateRequest(Workflow, ModelSQL, ModelView):
    "Offer Date Request"
    __name__ = 'buero365.offer.date_request'
    __string__ = "Offer Date Request"

    offer = fields.Many2One(
        'buero365.offer', "Offer", required=True, ondelete='CASCADE',
        readonly=True)
    revision = fields.Integer(
        "Revision", readonly=True,
        help="The revision of the offer the customer answered.")
    start = fields.DateTime("Proposed Start", required=True, readonly=True)
    end = fields.DateTime("Proposed End", readonly=True)
    comment = fields.Text("Customer's Comment", readonly=True)
    requested_at = fields.Timestamp("Requested At", readonly=True)
    # Lists show the time to the second, not to the microsecond.
    requested_at.format = '%H:%M:%S'
    ip_address = fields.Char("IP Address", readonly=True)
    user_agent = fields.Char("Browser", readonly=True)
    state = fields.Selection(
        STATES, "Status", required=True, readonly=True, sort=False)
    answer = fields.Text(
        "Message to the Customer",
        states={
            'readonly': Eval('state') != 'pending',
            },
        help="Sent to the customer when the date is declined.")
    answered_at = fields.Timestamp("Answered At", readonly=True)
    answered_by = fields.Many2One(
        'res.user', "Answered By", readonly=True, ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('offer')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.offer, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'pending'),
                })
        cls._order = [('requested_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('pending', 'confirmed'),
            ('pending', 'declined'),
            }
        cls._buttons.update({
                'confirm': {
                    'invisible': Eval('state') != 'pending',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'decline': {
                    'invisible': Eval('state') != 'pending',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    def get_rec_name(self, name):
        return f'{self.offer.rec_name} @ {self.start}'

    @classmethod
    def pending_of(cls, offer):
        "The proposal waiting for the staff on the offer's revision, or None."
        requests = cls.search([
                ('offer', '=', offer.id),
                ('revision', '=', offer.revision),
                ('state', '=', 'pending'),
                ], limit=1)
        return requests[0] if requests else None

    @classmethod
    def propose(cls, link, start, end=None, comment=None, ip=None,
            user_agent=None, digest=None, now=None):
        """Record the date the customer proposes on the revision of link
        and notify the staff; returns the request.

        It is an answer: until the staff confirm or decline it, the
        revision cannot be answered again."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Offer.check_answerable(link, digest)
        offer = link.offer
        zone = UTC
        if offer.company and offer.company.timezone:
            zone = get_tzinfo(offer.company.timezone)
        now = now or utc_now()
        start = parse_customer_datetime(start, zone)
        end = parse_customer_datetime(end, zone)
        if not start:
            raise AnswerInvalid(gettext('buero365_offers.msg_date_required'))
        if start <= now:
            raise AnswerInvalid(gettext('buero365_offers.msg_date_past'))
        if start > now + MAX_AHEAD:
            raise AnswerInvalid(gettext('buero365_offers.msg_date_too_far'))
        if end and (end <= start or end - start > MAX_DURATION):
            raise AnswerInvalid(gettext(
                    'buero365_offers.msg_date_end_before_start'))
        comment = clean_comment(comment)
        link = Offer.lock_answerable(link, digest)
        offer = link.offer
        request = cls(
            offer=offer, revision=link.revision, start=start, end=end,
            comment=comment, requested_at=dt.datetime.now(),
            ip_address=(ip or '')[:45] or None,
            user_agent=clean_line(user_agent)[:300] or None)
        request.save()
        Offer.notify_staff(
            offer, 'buero365_offers.msg_notify_date_requested',
            icon='tryton-date', description=comment)
        return request

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, requests):
        """Move the offers to the proposed dates and send the customers the
        new revision."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        for request in requests:
            offer = request.offer
            if offer.state != 'open':
                raise UserError(gettext(
                        'buero365_offers.msg_date_request_offer_closed',
                        offer=offer.rec_name))
            values = {'start': request.start, 'end': request.end}
            if not request.end and offer.start and offer.end:
                # Keep the duration the staff planned.
                values['end'] = request.start + (offer.end - offer.start)
            Offer.write([offer], values)
            cls.send_new_revision(Offer(offer.id))
        cls._answered(requests)

    @classmethod
    @ModelView.button
    @Workflow.transition('declined')
    def decline(cls, requests):
        "Tell the customers that their date is not possible, and why."
        for request in requests:
            if not (request.answer or '').strip():
                raise UserError(gettext(
                        'buero365_offers.msg_date_request_answer_required',
                        offer=request.offer.rec_name))
        for request in requests:
            request.send_decline()
        cls._answered(requests)

    @classmethod
    def _answered(cls, requests):
        cls.write(requests, {
                'answered_at': dt.datetime.now(),
                'answered_by': Transaction().user or None,
                })

    @classmethod
    def send_new_revision(cls, offer):
        "Email the offer's current revision with its PDF to the customer."
        offer.send_to_customer(
            'offer', 'email_template_date_confirmed', attach_pdf=True)

    def send_decline(self):
        "Email the customer that the date is declined, with the message."
        offer = self.offer
        subject, body = offer.render_mail_template(
            'email_template_date_declined')
        quote = render_fragment('buero365_offers/report/quote.html',
            lines=self.answer.strip().splitlines())
        offer.send_to_customer('date_declined', subject=subject,
            body=body + quote)
