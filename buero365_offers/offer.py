# This file is part of Büro 365 Offers.  See the README for licence terms.
import datetime as dt
from decimal import Decimal

from sql import Null
from sql.aggregate import Min

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Index,
    ModelSQL,
    ModelView,
    Unique,
    Workflow,
    fields,
    sequence_ordered,
)
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.account.tax import TaxableMixin
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.tools import grouped_slice
from trytond.tools.email_ import (
    EmailNotValidError,
    normalize_email,
    validate_email,
)
from trytond.tools.timezone import UTC, get_tzinfo
from trytond.transaction import Transaction, without_check_access

from .acceptance import AnsweringMixin
from .choice import CUSTOMER_CHOICE, ChoosingMixin
from .deposit import DEPOSIT_WITHOUT_GIROCODE, DepositMixin
from .document import preview_field, sao_richtext
from .exceptions import LineWithoutTaxWarning
from .expiry import ExpiryMixin
from .mail import SendingMixin
from .media import KIND_FIELDS, MediaMixin, lock_offers
from .note import NotesMixin
from .portal import PortalMixin
from .search import SearchMixin, any_field_domain
from .service import (
    CHOICE_FIELDS,
    SERVICE_FIELDS,
    LineTaxMixin,
    ServiceMixin,
    check_alternatives,
    taxes_field,
)
from .template import TemplateMixin
from .text import clean_line

STATES = [
    ('open', "Open"),
    ('accepted', "Accepted"),
    ('rejected', "Rejected"),
    ('expired', "Expired"),
    ]
EMAIL_STATES = [
    ('pending', "Pending"),
    ('sent', "Sent"),
    ('failed', "Failed"),
    ]
REJECTION_REASONS = [
    (None, ""),
    ('hidden_costs', "Hidden costs"),
    ('not_fitting', "The service does not fit"),
    ('too_expensive', "Too expensive"),
    ('other_provider', "Chose another provider"),
    ('other', "Other"),
    ]

# Only open offers can be edited: what was accepted, rejected or expired is
# evidence of what the customer saw.
_EDITABLE = Eval('state') == 'open'
_READONLY = {'readonly': ~_EDITABLE}
_LINE_READONLY = {'readonly': Eval('offer_state', 'open') != 'open'}

# The customer's answer and its evidence, written by the server when they
# answer: kept on a closed offer, never copied.
ANSWER_FIELDS = frozenset({
        'signed_by', 'signed_at', 'signature', 'signature_id',
        'signed_ip', 'signed_user_agent', 'signed_revision',
        'signed_document', 'signed_document_id', 'signed_document_name',
        'signed_document_sha256', 'signed_selection', 'evidence_seal',
        'evidence_state',
        'evidence_checked_at', 'rejection_reason', 'rejection_comment',
        'date_requests'})
# What was sent to the customer and what they did with it: kept on a
# closed offer, never copied.
SENDING_FIELDS = frozenset({
        'mails', 'events', 'email_opened_at', 'page_opened_at',
        'reminded_for'})
# Computed from the lines (update_amounts), which are frozen themselves.
AMOUNT_FIELDS = frozenset({'untaxed_amount', 'tax_amount', 'total_amount'})
# When the offer was first emailed and first answered, kept for the
# reporting (offer_reporting.py): written by the server, never copied.
REPORTING_FIELDS = frozenset({'first_sent_at', 'first_answered_at'})
# The states in which the customer gave an answer
ANSWER_STATES = ['accepted', 'rejected']

# The offer's buttons: the workflow, sending, evidence and portal.
BUTTONS = {
    'accept': {
        'invisible': Eval('state') != 'open',
        'icon': 'tryton-ok',
        'depends': ['state'],
        },
    'reject': {
        'invisible': Eval('state') != 'open',
        'icon': 'tryton-cancel',
        'depends': ['state'],
        },
    'expire': {
        'invisible': Eval('state') != 'open',
        'icon': 'tryton-clear',
        'depends': ['state'],
        },
    'reopen': {
        'invisible': Eval('state') == 'open',
        'icon': 'tryton-back',
        'depends': ['state'],
        },
    'send': {
        'icon': 'tryton-email',
        'depends': ['state'],
        },
    'retry_send': {
        'invisible': Eval('email_state') != 'failed',
        'icon': 'tryton-refresh',
        'depends': ['email_state'],
        },
    'verify_evidence': {
        'invisible': ~Bool(Eval('signed_document_sha256')),
        'icon': 'tryton-ok',
        'depends': ['signed_document_sha256'],
        },
    'invite_portal': {
        'icon': 'tryton-email',
        'readonly': ~Eval('party'),
        'depends': ['party'],
        },
    }


def _company_zone(company):
    "The time zone of the company (UTC when it has none)."
    if company and company.timezone:
        return get_tzinfo(company.timezone)
    return UTC


def round_amount(amount, currency):
    """Round to the currency's precision as Tryton's sales and invoices do
    (half even): the offer, its sale and the sale's invoice show the same
    amounts to the cent."""
    if currency:
        return currency.round(amount)
    return amount.quantize(Decimal('0.01'))


class Offer(
        AnsweringMixin, ChoosingMixin, SendingMixin, DepositMixin,
        ExpiryMixin, PortalMixin, MediaMixin, NotesMixin, SearchMixin,
        TemplateMixin, Workflow, ModelSQL, ModelView, TaxableMixin):
    """Offer

    Its fields, workflow, freeze rule (_closed_writable_fields) and copy
    rule are here; what it does for a concern is in that concern's mixin:
    answering (acceptance.py), the chosen services (choice.py), emails
    (mail.py), the deposit (deposit.py),
    expiry, portal, media, notes and templates; the totals come from
    TaxableMixin."""
    __name__ = 'buero365.offer'
    __string__ = "Offer"
    _rec_name = 'number'

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': _READONLY['readonly'] | Eval('lines', [0]),
            })
    number = fields.Char(
        "Number", readonly=True,
        help="The identifier of the offer, given when it is saved.")
    party = fields.Many2One(
        'party.party', "Customer", required=True, states=_READONLY,
        context={'company': Eval('company', -1)}, depends={'company'},
        help="Choose an existing customer or type a new name to create one.")
    email = fields.Char(
        "Email", states=_READONLY,
        help="Where the offer is sent; added to the customer's contacts.")
    phone = fields.Char(
        "Phone", states=_READONLY,
        help="Added to the customer's contacts.")
    customer_address = fields.Many2One(
        'party.address', "Postal Address", ondelete='RESTRICT',
        domain=[('party', '=', Eval('party', -1))],
        states=_READONLY,
        help="The customer's postal address, printed on the offer letter.")
    title = fields.Char("Title", required=True, states=_READONLY)
    content = fields.Text("Content", states=_READONLY)
    additional_details = fields.Text(
        "Additional Details", states=_READONLY)
    terms = fields.Text("Terms and Conditions", states=_READONLY)
    # sao shows nothing for a read-only html widget (a closed offer) and
    # only a link to the editor otherwise: the rich text, rendered.
    content_preview = preview_field("Content")
    additional_details_preview = preview_field("Additional Details")
    terms_preview = preview_field("Terms and Conditions")
    start = fields.DateTime(
        "Start", states=_READONLY,
        domain=[If(Bool(Eval('start')) & Bool(Eval('end')),
                ('start', '<=', Eval('end')), ())],
        help="When the service starts.")
    end = fields.DateTime(
        "End", states=_READONLY,
        domain=[If(Bool(Eval('start')) & Bool(Eval('end')),
                ('end', '>=', Eval('start')), ())],
        help="When the service ends.")
    valid_until = fields.Date(
        "Valid Until", required=True, states=_READONLY,
        help="The customer can accept the offer until the end of this day.")
    lead_source = fields.Many2One(
        'buero365.lead.source', "Lead Source", ondelete='RESTRICT',
        states=_READONLY)
    # Templates and placeholders (template.py): choosing one fills the
    # offer, until it is sent.
    template = fields.Many2One(
        'buero365.offer.template', "Template", ondelete='SET NULL',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': ~_EDITABLE | Bool(Eval('sent_revision')),
            },
        help="Fills the title, texts, services and address labels of the "
        "offer; everything can be changed afterwards.")
    addresses = fields.One2Many(
        'buero365.offer.address', 'offer', "Service Addresses",
        states=_READONLY)
    lines = fields.One2Many(
        'buero365.offer.line', 'offer', "Services", states=_READONLY)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True,
        states={
            'readonly': _READONLY['readonly'] | Eval('lines', [0]),
            })
    untaxed_amount = Monetary(
        "Net", currency='currency', digits='currency', readonly=True)
    tax_amount = Monetary(
        "VAT", currency='currency', digits='currency', readonly=True)
    total_amount = Monetary(
        "Total", currency='currency', digits='currency', readonly=True)
    # The deposit the customer pays after accepting: deposit_type and
    # deposit_value (deposit.py)
    deposit_amount = fields.Function(
        Monetary(
            "Deposit Amount", currency='currency', digits='currency',
            states={
                'invisible': Eval('deposit_type', 'none') == 'none',
                },
            help="What the customer is asked to pay as deposit."),
        'on_change_with_deposit_amount')
    deposit_without_girocode = fields.Function(
        fields.Selection(DEPOSIT_WITHOUT_GIROCODE, "Deposit Without GiroCode"),
        'on_change_with_deposit_without_girocode')
    state = fields.Selection(
        STATES, "Status", readonly=True, required=True, sort=False)
    email_state = fields.Selection(
        EMAIL_STATES, "Email Status", readonly=True, required=True,
        sort=False)
    revision = fields.Integer(
        "Revision", readonly=True, required=True,
        help="Increases each time a sent offer is edited.")
    sent_revision = fields.Integer(
        "Sent Revision", readonly=True,
        help="The last revision the customer received by email.")
    revision_unsent = fields.Function(
        fields.Boolean(
            "Changed Since Sent",
            help="The customer has not yet received this revision."),
        'on_change_with_revision_unsent')
    lines_without_tax = fields.Function(
        fields.Boolean(
            "Services Without VAT",
            help="A service of the offer has no tax: "
            "the customer would pay no VAT on it."),
        'on_change_with_lines_without_tax')
    links = fields.One2Many(
        'buero365.offer.link', 'offer', "Customer Links", readonly=True)
    customer_url = fields.Function(
        fields.Char(
            "Customer Page",
            help="The page where the customer reads and answers the offer."),
        'get_customer_url')
    signed_by = fields.Char("Signed By", readonly=True)
    signed_at = fields.Timestamp("Signed At", readonly=True)
    signature = fields.Binary(
        "Signature", readonly=True, file_id='signature_id')
    signature_id = fields.Char("Signature ID", readonly=True)
    rejection_reason = fields.Selection(
        REJECTION_REASONS, "Rejection Reason", sort=False,
        states={
            'readonly': ~Eval('state').in_(['open', 'rejected']),
            })
    rejection_comment = fields.Text(
        "Rejection Comment",
        states={
            'readonly': ~Eval('state').in_(['open', 'rejected']),
            })
    history = fields.One2Many(
        'buero365.offer.history', 'offer', "Status History", readonly=True)
    # The list shows status, not state: sao hides a column whose value the
    # tab's domain fixes (all "Open" in the Open tab), and staff want to see
    # the status in every tab.  The state's column itself (column_status):
    # read, searched and sorted in SQL, no getter.
    status = fields.Function(fields.Selection(STATES, "Status", sort=False))
    create_day = fields.Function(
        fields.Date(
            "Created",
            help="The day the offer was created, in the company's time "
            "zone."),
        'get_create_day', searcher='search_create_day')

    # Sending (mail.py) and tracking (tracking.py)
    mails = fields.One2Many(
        'buero365.offer.mail', 'offer', "Emails", readonly=True)
    events = fields.One2Many(
        'buero365.offer.event', 'offer', "Mail Tracker", readonly=True)
    email_error = fields.Function(
        fields.Text("Email Error"), 'get_email_error')
    email_opened_at = fields.Timestamp(
        "Email Opened", readonly=True,
        help="When the customer first opened an email of this offer "
        "(many mail programs block or pre-fetch the tracking image; "
        "mail filters and link scanners do not count).")
    page_opened_at = fields.Timestamp(
        "Page Opened", readonly=True,
        help="When the customer first opened the offer page "
        "(mail filters and link scanners do not count).")
    reminded_for = fields.Date(
        "Reminder Sent For", readonly=True,
        help="The validity date the last expiry reminder was sent for.")

    # Evidence of the acceptance (acceptance.py)
    signed_ip = fields.Char(
        "Signed From", readonly=True,
        help="The IP address the customer signed from.")
    signed_user_agent = fields.Char(
        "Signed With", readonly=True,
        help="The browser the customer signed with.")
    signed_revision = fields.Integer(
        "Signed Revision", readonly=True,
        help="The revision of the offer the customer signed.")
    signed_document = fields.Binary(
        "Signed Document", readonly=True,
        file_id='signed_document_id', filename='signed_document_name',
        help="The PDF of the revision the customer accepted, as it was "
        "when they signed.")
    signed_document_id = fields.Char("Signed Document ID", readonly=True)
    signed_document_name = fields.Char(
        "Signed Document Name", readonly=True)
    signed_document_sha256 = fields.Char(
        "Signed Document SHA-256", readonly=True,
        help="The fingerprint of the signed document.")
    signed_selection = fields.Text(
        "Signed Choice", readonly=True,
        help="The services the customer chose and signed, of an offer "
        "with optional or alternative services.")
    evidence_seal = fields.Char(
        "Evidence Seal", readonly=True,
        help="A keyed fingerprint of the name, time, address, browser, "
        "revision, signature and document of the acceptance.")
    evidence_state = fields.Selection([
            (None, ""),
            ('valid', "Verified"),
            ('invalid', "Does Not Match"),
            ], "Evidence Check", readonly=True, sort=False)
    evidence_checked_at = fields.Timestamp(
        "Evidence Checked At", readonly=True)
    date_requests = fields.One2Many(
        'buero365.offer.date_request', 'offer', "Date Requests",
        readonly=True,
        help="Other dates the customer proposed.")

    # Media (media.py) and internal notes (note.py)
    images = fields.One2Many(
        'ir.attachment', 'resource', "Images",
        filter=[('media_kind', '=', 'image')],
        order=[('create_date', 'ASC'), ('id', 'ASC')],
        context={'media_kind': 'image'},
        help="Photos that support the offer: PNG, JPEG or WEBP.")
    videos = fields.One2Many(
        'ir.attachment', 'resource', "Videos",
        filter=[('media_kind', '=', 'video')],
        order=[('create_date', 'ASC'), ('id', 'ASC')],
        context={'media_kind': 'video'},
        help="MP4, MOV, AVI or WEBM videos.")
    documents = fields.One2Many(
        'ir.attachment', 'resource', "Attachments",
        filter=[('media_kind', '=', 'attachment')],
        order=[('create_date', 'ASC'), ('id', 'ASC')],
        context={'media_kind': 'attachment'},
        help="PDF, ODT, DOC, DOCX or XLSX documents.")
    web_links = fields.One2Many(
        'ir.attachment', 'resource', "Links",
        filter=[('media_kind', '=', 'link')],
        order=[('create_date', 'ASC'), ('id', 'ASC')],
        context={'media_kind': 'link'},
        help="Web addresses (http or https) with an optional title.")
    media_count = fields.Function(
        fields.Integer(
            "Media", help="Images, videos, attachments and links."))
    notes = fields.One2Many(
        'buero365.offer.note', 'offer', "Notes",
        help="Internal notes; customers never see them.")
    note_count = fields.Function(
        fields.Integer("Notes", help="How many internal notes."))

    # --- Kept for the reporting (offer_reporting.py) ---------------------
    # The first dates of the history and the emails, so that the reports
    # read the offer table alone: Mail.deliver fills first_sent_at,
    # record_history first_answered_at; __register__ fills both once from
    # the history and the emails.
    first_sent_at = fields.Timestamp(
        "First Sent", readonly=True,
        help="When the offer itself was first emailed to the customer.")
    first_answered_at = fields.Timestamp(
        "First Answered", readonly=True,
        help="When the offer was first accepted or rejected "
        "(a reopening does not change it).")
    # --- end of the reporting block ---------------------------------------

    @classmethod
    def __setup__(cls):
        cls.number.search_unaccented = False
        super().__setup__()
        cls.deposit_type.states = _READONLY.copy()
        cls.deposit_value.states['readonly'] = _READONLY['readonly']
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_company_uniq', Unique(t, t.company, t.number),
                'buero365_offers.msg_offer_number_unique'),
            ]
        # No trigram index of title or email: the search box and the
        # pickers look in the search key (search.py), trytond's filter of
        # a Char field on unaccent(...) could not use one, and each would
        # be written again by every change of an offer (the expiry of
        # 100,000 offers spent a third of its time in them).  The number
        # keeps the one trytond gives the rec_name: its filter is not
        # unaccented (above), so the *Number* filter uses it; without it
        # the expiry at 1,000,000 took 11.5 s instead of 11.9 s.
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range())),
                Index(t, (t.lead_source, Index.Range())),
                Index(t, (t.create_date, Index.Range())),
                # The reports read the offers of one company created in a
                # range; their trends (sent, acceptance per period) count
                # them from this index alone (PostgreSQL's index-only scan:
                # the main report's of 12 months at 200,000 offers in 38 ms
                # instead of 129 ms).
                Index(t, (t.company, Index.Equality()),
                    (t.create_date, Index.Range()),
                    include=[t.id, t.lead_source, t.state, t.email_state,
                        t.sent_revision]),
                # and the offers of each lead source of the period.
                Index(t, (t.company, Index.Equality()),
                    (t.lead_source, Index.Equality()),
                    (t.create_date, Index.Range())),
                Index(t, (t.valid_until, Index.Range()),
                    where=t.state == 'open'),
                Index(t, (t.state, Index.Equality(cardinality='low'))),
                })
        cls._order = [
            ('create_date', 'DESC'),
            ('id', 'DESC'),
            ]
        cls._transitions |= {
            ('open', 'accepted'),
            ('open', 'rejected'),
            ('open', 'expired'),
            ('accepted', 'open'),
            ('rejected', 'open'),
            ('expired', 'open'),
            }
        cls._buttons.update(BUTTONS)

    # --- Reporting dates (see the reporting block of the fields) ----------
    @classmethod
    def __register__(cls, module):
        # A database made before the reporting dates existed gets them
        # from the history and the emails, once.
        fill = (backend.TableHandler.table_exist(cls._table)
            and not cls.__table_handler__(module).column_exist(
                'first_answered_at'))
        super().__register__(module)
        if fill:
            cls.fill_reporting_dates()

    @classmethod
    def fill_reporting_dates(cls):
        "Set the reporting dates of all offers from history and emails."
        pool = Pool()
        History = pool.get('buero365.offer.history')
        Mail = pool.get('buero365.offer.mail')
        offer = cls.__table__()
        history = History.__table__()
        mail = Mail.__table__()
        cursor = Transaction().connection.cursor()
        first_answer = history.select(
            history.offer.as_('offer'), Min(history.date).as_('date'),
            where=history.to_state.in_(ANSWER_STATES),
            group_by=[history.offer])
        first_sent = mail.select(
            mail.offer.as_('offer'), Min(mail.sent_at).as_('date'),
            where=(mail.purpose == 'offer') & (mail.state == 'sent'),
            group_by=[mail.offer])
        for column, first in [
                (offer.first_answered_at, first_answer),
                (offer.first_sent_at, first_sent)]:
            cursor.execute(*offer.update(
                    [column], [Null], where=column != Null))
            cursor.execute(*offer.update([column], [first.date],
                    from_=[first], where=offer.id == first.offer))
    # --- end of the reporting dates ---------------------------------------

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/form//label[@id="lines_without_tax"]', 'states', {
                    'invisible': (
                        ~Eval('lines_without_tax') | ~_EDITABLE),
                    }),
            ('/form//label[@id="revision_unsent"]', 'states', {
                    'invisible': ~Eval('revision_unsent'),
                    }),
            ('/form//label[@id="deposit_without_iban"]', 'states', {
                    'invisible': (
                        Eval('deposit_without_girocode') != 'iban'),
                    }),
            ('/form//label[@id="deposit_not_euro"]', 'states', {
                    'invisible': (
                        Eval('deposit_without_girocode') != 'currency'),
                    }),
            ]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_currency(cls, **pattern):
        pool = Pool()
        Company = pool.get('company.company')
        company = pattern.get('company')
        if not company:
            company = cls.default_company()
        if company is not None and company >= 0:
            return Company(company).currency.id

    @staticmethod
    def default_state():
        return 'open'

    @staticmethod
    def default_email_state():
        return 'pending'

    @staticmethod
    def default_revision():
        return 1

    @staticmethod
    def default_sent_revision():
        return 0

    @fields.depends('revision', 'sent_revision')
    def on_change_with_revision_unsent(self, name=None):
        return bool(self.sent_revision
            and (self.revision or 0) > self.sent_revision)

    def get_preview(self, name):
        return sao_richtext(getattr(self, name[:-len('_preview')]))

    @fields.depends('lines')
    def on_change_with_lines_without_tax(self, name=None):
        return bool(self.untaxed_lines())

    def untaxed_lines(self):
        "The lines of the offer that have no tax."
        return [l for l in (self.lines or []) if not l.taxes]

    def check_line_taxes(self):
        """Warn before the offer goes to the customer with a service
        without VAT: an untaxed line must be on purpose, never by mistake."""
        pool = Pool()
        Warning = pool.get('res.user.warning')
        lines = self.untaxed_lines()
        if not lines:
            return
        key = Warning.format('line_without_tax', lines)
        if Warning.check(key):
            raise LineWithoutTaxWarning(key, gettext(
                    'buero365_offers.msg_offer_line_without_tax',
                    offer=self.rec_name,
                    lines=', '.join(l.summary for l in lines)))

    @classmethod
    def get_customer_url(cls, offers, name):
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        links = Link.search([
                ('offer', 'in', [o.id for o in offers]),
                ])
        tokens = {(l.offer.id, l.revision): l.token for l in links}
        urls = {}
        for offer in offers:
            token = tokens.get((offer.id, offer.revision))
            urls[offer.id] = Link.url_for(token) if token else None
        return urls

    @classmethod
    def default_valid_until(cls):
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        Date = pool.get('ir.date')
        days = Configuration(1).validity_days or 0
        return Date.today() + dt.timedelta(days=days)

    @classmethod
    def default_terms(cls):
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        return Configuration(1).default_terms

    @staticmethod
    def default_untaxed_amount():
        return Decimal(0)

    @staticmethod
    def default_tax_amount():
        return Decimal(0)

    @staticmethod
    def default_total_amount():
        return Decimal(0)

    @fields.depends('company', 'currency')
    def on_change_company(self):
        if self.company:
            self.currency = self.company.currency

    @fields.depends('party', 'email', 'phone', 'customer_address',
        methods=['fill_placeholders'])
    def on_change_party(self):
        if not self.party:
            return
        self.fill_placeholders()
        self.email = self.party.email or self.email
        self.phone = self.party.phone or self.phone
        if (not self.customer_address
                or self.customer_address.party != self.party):
            self.customer_address = self.party.address_get()

    @fields.depends(
        'lines', 'currency',
        methods=['_compute_amounts', 'on_change_with_deposit_amount'])
    def on_change_lines(self):
        (self.untaxed_amount, self.tax_amount,
            self.total_amount) = self._compute_amounts()
        self.deposit_amount = self.on_change_with_deposit_amount()

    @classmethod
    def column_status(cls, tables):
        table, _ = tables[None]
        return table.state

    @classmethod
    def get_create_day(cls, offers, name):
        """The creation times and companies of the offers in one statement:
        the list reads neither, and an offer's attribute would load all its
        stored fields."""
        pool = Pool()
        Company = pool.get('company.company')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        in_ = fields.SQL_OPERATORS['in']
        days = dict.fromkeys(map(int, offers))
        zones = {}
        for sub_ids in grouped_slice(list(days), backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(
                    table.id, table.create_date, table.company,
                    where=in_(table.id, list(sub_ids))))
            for id_, created, company in cursor.fetchall():
                if not created:
                    continue
                if company not in zones:
                    zones[company] = _company_zone(
                        Company(company) if company is not None else None)
                days[id_] = created.replace(tzinfo=UTC).astimezone(
                    zones[company]).date()
        return days

    @classmethod
    def search_create_day(cls, name, clause):
        """A day stands for the whole day in the company's time zone, so
        that "created until 5 December" includes the offers of the 5th."""
        pool = Pool()
        Company = pool.get('company.company')
        _, operator, value = clause[:3]
        company = Transaction().context.get('company')
        zone = _company_zone(Company(company) if company else None)

        def start(day, days=0):
            "The first moment of day (+ days) there, as naive UTC."
            moment = dt.datetime.combine(
                day + dt.timedelta(days=days), dt.time(), tzinfo=zone)
            return moment.astimezone(UTC).replace(tzinfo=None)

        if operator in {'in', 'not in'}:
            days = [d for d in value or [] if d]
            if operator == 'in':
                return ['OR', *(cls.search_create_day(name, (name, '=', d))
                        for d in days)] if days else [('id', '=', -1)]
            return [cls.search_create_day(name, (name, '!=', d))
                for d in days]
        if value is None:
            return [('create_date', operator, None)]
        if operator == '=':
            return [('create_date', '>=', start(value)),
                ('create_date', '<', start(value, 1))]
        if operator == '!=':
            return ['OR', ('create_date', '<', start(value)),
                ('create_date', '>=', start(value, 1))]
        return [{
                '<': ('create_date', '<', start(value)),
                '<=': ('create_date', '<', start(value, 1)),
                '>': ('create_date', '>=', start(value, 1)),
                '>=': ('create_date', '>=', start(value)),
                }[operator]]

    @staticmethod
    def order_create_day(tables):
        table, _ = tables[None]
        return [table.create_date]

    def get_rec_name(self, name):
        number = self.number or f'({self.id})'
        if self.title:
            return f'{number} - {self.title}'
        return number

    @property
    @fields.depends('lines')
    def taxable_lines(self):
        "The taxes apply to the chosen services (see chosen_lines)."
        return [taxable for line in self.lines or [] if line.chosen
            for taxable in line.taxable_lines]

    @fields.depends('lines', 'currency', methods=['_get_taxes'])
    def _compute_amounts(self):
        """Return (net, VAT, gross) of the offer's chosen services,
        rounded by currency.

        VAT comes from TaxableMixin, as on a sale: with the company's tax
        rounding 'document' (the default, as German invoices show it) per
        tax on the sum of the net line amounts, with 'line' line by line."""
        untaxed = sum(
            (line.on_change_with_amount() or Decimal(0)
                for line in self.lines or [] if line.chosen), Decimal(0))
        tax = sum(
            (t.amount for t in self._get_taxes().values()), Decimal(0))
        untaxed = round_amount(untaxed, self.currency)
        return untaxed, tax, untaxed + tax

    @classmethod
    def update_amounts(cls, offers):
        "Store net, VAT and gross of the offers from their lines."
        to_write = []
        for offer in offers:
            amounts = dict(zip(
                    ['untaxed_amount', 'tax_amount', 'total_amount'],
                    offer._compute_amounts()))
            if any(getattr(offer, k) != v for k, v in amounts.items()):
                to_write.extend([[offer], amounts])
        if to_write:
            # Computed from the lines, which only change on open offers.
            cls.write(*to_write)

    @classmethod
    def validate_fields(cls, offers, field_names):
        super().validate_fields(offers, field_names)
        cls.check_email(offers, field_names)
        cls.check_valid_until(offers, field_names)
        cls.check_deposit(offers, field_names)
        if not field_names or 'lines' in field_names:
            for offer in offers:
                check_alternatives(offer.lines, offer)

    @classmethod
    def check_email(cls, offers, field_names=None):
        if field_names and 'email' not in field_names:
            return
        for offer in offers:
            if not offer.email:
                continue
            try:
                validate_email(offer.email)
            except EmailNotValidError as exception:
                raise ValidationError(gettext(
                        'buero365_offers.msg_offer_email_invalid',
                        email=offer.email, offer=offer.rec_name,
                        reason=str(exception))) from exception

    @classmethod
    def check_valid_until(cls, offers, field_names=None):
        if field_names and 'valid_until' not in field_names:
            return
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        for offer in offers:
            created = (offer.create_date.date()
                if offer.create_date else today)
            if offer.valid_until and offer.valid_until < created:
                raise ValidationError(gettext(
                        'buero365_offers.msg_offer_valid_until_past',
                        offer=offer.rec_name,
                        valid_until=offer.valid_until,
                        created=created))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        for name in ['email', 'phone']:
            if values.get(name):
                # Newlines would let a value smuggle mail headers in later.
                values[name] = ' '.join(values[name].split())
        if values.get('title'):
            # A title is one line of text: it goes into email subjects.
            values['title'] = clean_line(values['title'])
        if mode == 'create' and not values.get('number'):
            values['number'] = cls._new_number(
                values.get('company', cls.default_company()))
        if values.get('email'):
            # unchanged when invalid: check_email raises the translated error
            values['email'] = normalize_email(values['email'])
        return values

    @classmethod
    def _new_number(cls, company):
        "The next number of the offer sequence of company."
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        sequence = Configuration(1).get_multivalue(
            'offer_sequence', company=company)
        if not sequence:
            raise AccessError(gettext(
                    'buero365_offers.msg_offer_no_sequence'))
        with Transaction().set_context(company=company):
            return sequence.get()

    @classmethod
    def check_modification(cls, mode, offers, values=None, external=False):
        """Refuse to change what the customer saw once an offer is closed;
        the offers edited are locked first, so that an edit and a
        customer's answer cannot both win."""
        super().check_modification(
            mode, offers, values=values, external=external)
        if mode != 'write' or not (
                set(values) - cls._closed_writable_fields() - AMOUNT_FIELDS):
            return
        cls.lock_for_edit(offers)
        for offer in cls.browse(offers):
            if offer.state != 'open':
                raise AccessError(gettext(
                        'buero365_offers.msg_offer_not_open',
                        offer=offer.rec_name))

    @classmethod
    def on_modification(cls, mode, offers, field_names=None):
        """Keep the totals, the customer's contacts and the revision in
        step with what was edited; status, evidence and tracking writes
        (e.g. expiring a million offers) change none of them."""
        super().on_modification(mode, offers, field_names=field_names)
        if mode == 'delete' or (mode == 'write'
                and not (field_names - cls._unseen_fields())):
            return
        cls.update_amounts(offers)
        cls.sync_party_contacts(offers)
        if mode == 'create':
            cls.ensure_links(offers)
        else:
            cls.new_revision(offers)

    @classmethod
    def _closed_writable_fields(cls):
        """The fields that may change on a closed offer: none is part of
        what the customer sees and signs.  The status, revisions and links,
        the answer and its evidence, what was sent and tracked, the media
        (ir.attachment checks each item: what the customer cannot see may
        change) and the internal notes."""
        return ({'state', 'email_state', 'sent_revision', 'revision',
                'links', 'notes'}
            | ANSWER_FIELDS | SENDING_FIELDS | REPORTING_FIELDS
            | set(KIND_FIELDS.values()))

    @classmethod
    def lock_for_edit(cls, offers):
        """Lock the offers about to be edited, answered or made a sale of,
        and forget what was read of them: their status is then checked
        under one lock, so an answer and an edit cannot both win."""
        if not offers:
            return
        lock_offers({o.id for o in offers})
        for cache in Transaction().cache.values():
            cache.clear()

    @classmethod
    def _unseen_fields(cls):
        """Fields the customer does not see: changing them on a sent offer
        makes no new revision (the customer could not tell the change)."""
        return cls._closed_writable_fields() | AMOUNT_FIELDS | {
            'lead_source', 'template'}

    @classmethod
    def new_revision(cls, offers):
        """Start a new revision for offers edited after being sent.

        The customer's old link then says the offer was updated; several
        edits before the next sending make a single revision."""
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        offers = cls.browse({o.id for o in offers})
        to_bump = [o for o in offers
            if o.sent_revision and o.revision == o.sent_revision]
        for offer in to_bump:
            super().write([offer], {'revision': offer.revision + 1})
        cls.ensure_links(to_bump)
        # A revision not sent yet is still being written: its PDF too.
        Link.forget_documents([o for o in offers if o not in to_bump])

    @classmethod
    def ensure_links(cls, offers):
        "Give the current revision of each offer its customer link."
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        existing = {(l.offer.id, l.revision) for l in Link.search([
                    ('offer', 'in', [o.id for o in offers]),
                    ])} if offers else set()
        # Links are made by the server, never by a user's values.
        with without_check_access():
            Link.save([Link(offer=o, revision=o.revision) for o in offers
                    if (o.id, o.revision) not in existing])

    @classmethod
    def copy(cls, offers, default=None):
        """A copy (Duplicate) is a new open offer, valid from today: new
        number, first revision, its own customer link, no answer or
        evidence, nothing sent or tracked, no history; the media and the
        internal notes only when the configuration says so (Tryton's copy
        leaves out the media: their fields are filtered)."""
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        configuration = Configuration(1)
        default = default.copy() if default else {}
        default.setdefault('number', None)
        default.setdefault('state', 'open')
        default.setdefault('email_state', 'pending')
        default.setdefault('revision', 1)
        default.setdefault('sent_revision', 0)
        default.setdefault('valid_until', cls.default_valid_until())
        for name in ANSWER_FIELDS | SENDING_FIELDS | REPORTING_FIELDS | {
                'links', 'history'}:
            default.setdefault(name, None)
        if not configuration.copy_notes:
            default.setdefault('notes', None)
        copies = super().copy(offers, default=default)
        if configuration.copy_media:
            cls.copy_media(offers, copies)
        return copies

    @classmethod
    def delete(cls, offers):
        for offer in offers:
            if offer.state == 'accepted':
                raise AccessError(gettext(
                        'buero365_offers.msg_offer_delete_accepted',
                        offer=offer.rec_name))
        super().delete(offers)

    @classmethod
    def sync_party_contacts(cls, offers):
        "Add the offer's email and phone to the customer's contacts."
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        to_save = []
        for offer in offers:
            if not offer.party:
                continue
            known = {
                (m.type, (m.value or '').lower())
                for m in offer.party.contact_mechanisms}
            for type_, value in [('email', offer.email),
                    ('phone', offer.phone)]:
                if value and (type_, value.lower()) not in known:
                    to_save.append(ContactMechanism(
                            party=offer.party, type=type_, value=value))
                    known.add((type_, value.lower()))
        if to_save:
            ContactMechanism.save(to_save)

    @classmethod
    def record_history(cls, offers, state):
        pool = Pool()
        History = pool.get('buero365.offer.history')
        date = dt.datetime.now()
        # The history is written by the system, never by hand.
        with without_check_access():
            History.save([History(
                        offer=offer, from_state=offer.state,
                        to_state=state, date=date)
                    for offer in offers])
            if state in ANSWER_STATES:
                first = [o for o in offers if not o.first_answered_at]
                if first:
                    cls.write(first, {'first_answered_at': date})

    @classmethod
    def _follow_up(cls, offers):
        """Offer staff to tell the customer about a status change: the
        client opens the send wizard with the follow-up template."""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        if len(offers) == 1:
            return ModelData.get_id('buero365_offers', 'wizard_send')

    @classmethod
    @ModelView.button
    @Workflow.transition('accepted')
    def accept(cls, offers):
        "Mark the offers as accepted by the customer."
        cls.record_history(offers, 'accepted')
        return cls._follow_up(offers)

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, offers):
        "Mark the offers as rejected by the customer."
        cls.record_history(offers, 'rejected')
        return cls._follow_up(offers)

    @classmethod
    @ModelView.button
    @Workflow.transition('expired')
    def expire(cls, offers):
        "Mark the offers as expired."
        cls.record_history(offers, 'expired')
        return cls._follow_up(offers)

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, offers):
        "Open the offers again so they can be edited and answered."
        cls.record_history(offers, 'open')


class OfferLine(ServiceMixin, sequence_ordered(), ModelSQL, ModelView):
    "Offer Service Line"
    __name__ = 'buero365.offer.line'
    __string__ = "Offer Service Line"

    offer = fields.Many2One(
        'buero365.offer', "Offer", required=True, ondelete='CASCADE')
    offer_state = fields.Function(
        fields.Selection(STATES, "Offer Status"),
        'on_change_with_offer_state')
    # company, currency, product, description, quantity, unit, unit_price,
    # discount_rate: ServiceMixin (service.py), read-only once the offer is
    # closed.
    taxes = taxes_field(
        'buero365.offer.line-account.tax', states=_LINE_READONLY)
    amount = fields.Function(Monetary(
            "Amount", digits='currency', currency='currency'),
        'on_change_with_amount')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('offer')
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.offer, Index.Range())))
        for name in SERVICE_FIELDS:
            getattr(cls, name).states = _LINE_READONLY
        for name in CHOICE_FIELDS:
            field = getattr(cls, name)
            readonly = _LINE_READONLY['readonly']
            if 'readonly' in field.states:
                readonly |= field.states['readonly']
            field.states = dict(field.states, readonly=readonly)

    @fields.depends('offer', '_parent_offer.state')
    def on_change_with_offer_state(self, name=None):
        if self.offer:
            return self.offer.state

    @fields.depends('offer', '_parent_offer.company')
    def on_change_with_company(self, name=None):
        return self.offer.company if self.offer else None

    @fields.depends('offer', '_parent_offer.currency')
    def on_change_with_currency(self, name=None):
        return self.offer.currency if self.offer else None

    @property
    def summary(self):
        "The first line of the description, short enough for a message."
        lines = (self.description or '').strip().splitlines()
        return lines[0][:60] if lines else '?'

    @fields.depends('offer', 'taxes', methods=['compute_taxes'])
    def on_change_offer(self):
        self.taxes = self.compute_taxes()

    @fields.depends(
        'product', 'company', 'offer', '_parent_offer.company',
        '_parent_offer.party')
    def compute_taxes(self):
        """Return the taxes of the line (ServiceMixin.service_taxes): the
        service's, with the customer's tax rule."""
        company = self.company or (self.offer.company if self.offer else None)
        party = self.offer.party if self.offer else None
        return self.service_taxes(self.product, company, party)

    @property
    @fields.depends('taxes', 'quantity', 'unit_price', 'discount_rate')
    def taxable_lines(self):
        """The taxes of the line apply to its quantity at the unit price
        after discount, as on the sale line it becomes."""
        return [(list(self.taxes or []), self.net_unit_price or Decimal(0),
                self.quantity or 0, None)]

    @fields.depends(
        'quantity', 'unit_price', 'discount_rate', 'currency',
        'offer', '_parent_offer.currency')
    def on_change_with_amount(self, name=None):
        "The net amount of the line: quantity × unit price − discount."
        if self.quantity is None or self.unit_price is None:
            return None
        amount = Decimal(str(self.quantity)) * self.net_unit_price
        currency = self.currency
        if not currency and self.offer:
            currency = self.offer.currency
        return round_amount(amount, currency)

    @classmethod
    def check_offer_open(cls, lines):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        offers = {l.offer for l in lines if l.offer}
        Offer.lock_for_edit(offers)
        for offer in Offer.browse([o.id for o in offers]):
            if offer.state != 'open':
                raise AccessError(gettext(
                        'buero365_offers.msg_offer_not_open',
                        offer=offer.rec_name))

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        cls.check_offer_open(lines)

    @classmethod
    def on_modification(cls, mode, lines, field_names=None):
        super().on_modification(mode, lines, field_names=field_names)
        if mode != 'delete':
            cls._update_offers_of({l.offer for l in lines})

    @classmethod
    def on_delete(cls, lines):
        offers = {l.offer for l in lines}
        return super().on_delete(lines) + [
            lambda: cls._update_offers_of(offers)]

    @classmethod
    def _update_offers_of(cls, offers):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        if offers:
            offers = Offer.browse([o.id for o in offers])
            Offer.update_amounts(offers)
            if Transaction().context.get(CUSTOMER_CHOICE):
                # The customer's choice as they accept: what they signed.
                return
            # Also when a line is saved on its own: the customer's revision
            # must not change under them.
            Offer.new_revision(offers)


class OfferLineTax(LineTaxMixin, ModelSQL):
    "Offer Line - Tax"
    __name__ = 'buero365.offer.line-account.tax'
    __string__ = "Offer Line - Tax"
    line = fields.Many2One(
        'buero365.offer.line', "Line", required=True, ondelete='CASCADE')


class OfferAddress(sequence_ordered(), ModelSQL, ModelView):
    "Offer Service Address"
    __name__ = 'buero365.offer.address'
    __string__ = "Offer Service Address"

    offer = fields.Many2One(
        'buero365.offer', "Offer", required=True, ondelete='CASCADE')
    label = fields.Char(
        "Label", help="What happens here, e.g. Auszug or Einzug.")
    street = fields.Char("Street and Number", required=True)
    postal_code = fields.Char("Postal Code", required=True)
    city = fields.Char("City", required=True)
    country = fields.Many2One(
        'country.country', "Country", ondelete='RESTRICT')
    floor = fields.Char("Floor", help="e.g. EG, 3. OG, Dachgeschoss.")
    lift = fields.Boolean("Lift")
    parking_zone = fields.Boolean(
        "No-Parking Zone Needed",
        help="A no-parking zone must be requested for the vehicle.")
    walking_distance = fields.Integer(
        "Walking Distance (m)",
        domain=['OR',
            ('walking_distance', '=', None),
            ('walking_distance', '>=', 0)],
        help="From the vehicle to the door, in metres.")
    full_address = fields.Function(
        fields.Text("Full Address"), 'get_full_address')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('offer')
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.offer, Index.Range())))

    @classmethod
    def default_country(cls):
        pool = Pool()
        Country = pool.get('country.country')
        countries = Country.search([('code', '=', 'DE')], limit=1)
        if countries:
            return countries[0].id

    @classmethod
    def on_modification(cls, mode, addresses, field_names=None):
        super().on_modification(mode, addresses, field_names=field_names)
        if mode != 'delete':
            cls._new_revision({a.offer for a in addresses})

    @classmethod
    def on_delete(cls, addresses):
        offers = {a.offer for a in addresses}
        return super().on_delete(addresses) + [
            lambda: cls._new_revision(offers)]

    @classmethod
    def _new_revision(cls, offers):
        "An address saved on its own changes what the customer sees too."
        Pool().get('buero365.offer').new_revision(offers)

    def get_full_address(self, name):
        lines = [self.street or '',
            ' '.join(filter(None, [self.postal_code, self.city]))]
        if self.country:
            lines.append(self.country.name)
        return '\n'.join(filter(None, lines))

    def get_rec_name(self, name):
        place = ', '.join(filter(None, [self.street, self.city]))
        if self.label:
            return f'{self.label}: {place}'
        return place

    @classmethod
    def search_rec_name(cls, name, clause):
        return any_field_domain(
            clause, ['label', 'street', 'city', 'postal_code'])


class OfferLogMixin:
    """A log of an offer (its status changes, its mail tracker): rows of
    an offer, readable with it, listed newest first."""
    __slots__ = ()

    offer = fields.Many2One(
        'buero365.offer', "Offer", required=True, ondelete='CASCADE',
        readonly=True)
    date = fields.Timestamp("Date", required=True, readonly=True)
    # Lists show the time to the second, not to the microsecond.
    date.format = '%H:%M:%S'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('offer')
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.offer, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]


class OfferHistory(OfferLogMixin, ModelSQL, ModelView):
    "Offer Status Change"
    __name__ = 'buero365.offer.history'
    __string__ = "Offer Status Change"

    user = fields.Many2One(
        'res.user', "User", readonly=True, ondelete='SET NULL')
    from_state = fields.Selection(STATES, "From", readonly=True)
    to_state = fields.Selection(STATES, "To", required=True, readonly=True)
    from_state_string = from_state.translated('from_state')
    to_state_string = to_state.translated('to_state')

    @staticmethod
    def default_date():
        return dt.datetime.now()

    @staticmethod
    def default_user():
        user = Transaction().user
        # The scheduler and the customer pages run as root (0).
        return user or None
