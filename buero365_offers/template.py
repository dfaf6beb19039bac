# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Offer templates ("select or type the title and content of the offer").

A template holds what offers of one kind of job share: title, rich-text
content, additional details, terms, validity, lead source, services and
the labels of the service addresses.  Choosing it on an offer fills the
offer in the form (Offer.on_change_template); staff change what they like
afterwards.  The offer keeps its own copy of everything: editing or
archiving a template never changes an offer made from it.

Placeholders such as {customer_name} in the title and the texts are filled
from the offer when the template is applied and, for a value not known
yet, as soon as staff enter it (fill_placeholders).  They are filled in
the offer's own text, not when it is shown: what staff read in the editor
is what the customer reads, signs and what the evidence keeps."""
import datetime as dt
import html
import re

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    fields,
    sequence_ordered,
)
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.tools.timezone import UTC, get_tzinfo
from trytond.transaction import Transaction

from .deposit import DepositChoiceMixin
from .document import preview_field, sao_richtext
from .exceptions import PlaceholderWarning
from .search import any_field_domain
from .service import (
    CHOICE_FIELDS,
    SERVICE_FIELDS,
    LineTaxMixin,
    ServiceMixin,
    check_alternatives,
    taxes_field,
)

# {name}: lower-case letters and underscores only; never evaluated.  The
# names are those of placeholder_values.
PLACEHOLDER = re.compile(r'\{([a-z_]+)\}')
# What placeholder_values may fill (the template form lists them).
PLACEHOLDER_NAMES = (
    'customer_name', 'company_name', 'start_date', 'start_time',
    'end_date', 'end_time', 'valid_until', 'addresses')
# The offer's texts placeholders are filled in; the title is plain text.
TEXT_FIELDS = ('content', 'additional_details', 'terms')
PLACEHOLDER_DEPENDS = [
    'title', *TEXT_FIELDS, 'party', 'company', 'start', 'end',
    'valid_until', 'addresses']


class JobType(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "Job Type"
    __name__ = 'buero365.job.type'
    __string__ = "Job Type"

    name = fields.Char("Name", required=True, translate=True)


class OfferTemplate(
        DepositChoiceMixin, DeactivableMixin, ModelSQL, ModelView):
    "Offer Template"
    __name__ = 'buero365.offer.template'
    __string__ = "Offer Template"

    name = fields.Char(
        "Name", required=True, translate=True,
        help="How staff find the template on an offer.")
    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': Bool(Eval('lines', [0])),
            })
    job_type = fields.Many2One(
        'buero365.job.type', "Job Type", ondelete='RESTRICT')
    title = fields.Char(
        "Title", required=True,
        help="The title of the offer; placeholders are allowed.")
    content = fields.Text(
        "Content",
        help="Placeholders such as {customer_name} or {start_date} are "
        "filled from the offer.")
    additional_details = fields.Text("Additional Details")
    terms = fields.Text(
        "Terms and Conditions",
        help="Replace the default terms of the configuration on the offer; "
        "leave empty to keep them.")
    content_preview = preview_field("Content")
    additional_details_preview = preview_field("Additional Details")
    terms_preview = preview_field("Terms and Conditions")
    validity_days = fields.Integer(
        "Validity (Days)",
        domain=['OR',
            ('validity_days', '=', None),
            ('validity_days', '>=', 0),
            ],
        help="How many days the offer is valid; "
        "leave empty for the default of the configuration.")
    lead_source = fields.Many2One(
        'buero365.lead.source', "Lead Source", ondelete='RESTRICT',
        help="Given to an offer that has no lead source yet.")
    lines = fields.One2Many(
        'buero365.offer.template.line', 'template', "Services")
    addresses = fields.One2Many(
        'buero365.offer.template.address', 'template', "Service Addresses",
        help="The offer gets a service address with each of these labels, "
        "to be completed.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.company, Index.Equality())))
        cls._order = [('name', 'ASC'), ('id', 'ASC')]
        # The offer checks its deposit against its total (deposit.py).
        cls.deposit_value.domain = [
            If(Eval('deposit_type') == 'percent',
                [('deposit_value', '>', 0), ('deposit_value', '<=', 100)],
                If(Eval('deposit_type') == 'amount',
                    [('deposit_value', '>', 0)], []))]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if not field_names or 'lines' in field_names:
            for template in templates:
                check_alternatives(template.lines, template)

    def get_preview(self, name):
        return sao_richtext(getattr(self, name[:-len('_preview')]))

    @classmethod
    def search_rec_name(cls, name, clause):
        return any_field_domain(clause, ['name', 'job_type.name'])

    def apply(self, offer):
        """Fill offer (in a form, not saved) from the template.

        What the template holds replaces the offer's title, texts and
        services; terms, validity, deposit and lead source only where the
        template has one (the lead source only on an offer without); each
        address
        label the offer lacks becomes a service address to complete, and
        the service addresses left empty go."""
        pool = Pool()
        Date = pool.get('ir.date')
        Address = pool.get('buero365.offer.address')
        offer.title = self.title
        offer.content = self.content
        offer.additional_details = self.additional_details
        if self.terms:
            offer.terms = self.terms
        if self.validity_days is not None:
            offer.valid_until = Date.today() + dt.timedelta(
                days=self.validity_days)
        if self.lead_source and not offer.lead_source:
            offer.lead_source = self.lead_source
        if self.deposit_type != 'none':
            offer.deposit_type = self.deposit_type
            offer.deposit_value = self.deposit_value
        if self.lines:
            offer.lines = [l.offer_line(offer, self.company)
                for l in self.lines]
        # the totals and the deposit amount
        offer.on_change_lines()
        addresses = [a for a in offer.addresses or []
            if any(_address_parts(a))]
        labels = {getattr(a, 'label', None) for a in addresses}
        for template_address in self.addresses:
            if template_address.label not in labels:
                addresses.append(Address(
                        label=template_address.label,
                        country=Address.default_country()))
        offer.addresses = addresses


class TemplatePartMixin:
    "A part of an offer template: a service, an address label."
    __slots__ = ()

    template = fields.Many2One(
        'buero365.offer.template', "Template", required=True,
        ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('template')
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.template, Index.Range())))


class OfferTemplateLine(
        TemplatePartMixin, ServiceMixin, sequence_ordered(), ModelSQL,
        ModelView):
    "Offer Template Service Line"
    __name__ = 'buero365.offer.template.line'
    __string__ = "Offer Template Service Line"

    taxes = taxes_field(
        'buero365.offer.template.line-account.tax',
        help="The customer's tax rule applies to them on the offer.")

    @fields.depends('template', '_parent_template.company')
    def on_change_with_company(self, name=None):
        return self.template.company if self.template else None

    @fields.depends('template', '_parent_template.company')
    def on_change_with_currency(self, name=None):
        if self.template and self.template.company:
            return self.template.company.currency

    @fields.depends('template', 'taxes', methods=['compute_taxes'])
    def on_change_template(self):
        self.taxes = self.compute_taxes()

    def offer_line(self, offer, company):
        """Return the service line (not saved) this line gives offer (in a
        form), of company unless the offer has one."""
        pool = Pool()
        Line = pool.get('buero365.offer.line')
        company = offer.company or company
        # The function fields too: the client shows the line as the
        # server sends it (amount, taxes' company).
        line = Line(
            company=company, currency=offer.currency, offer_state='open',
            sequence=self.sequence,
            **{name: getattr(self, name)
                for name in SERVICE_FIELDS + CHOICE_FIELDS})
        line.taxes = Line.service_taxes(
            line.product, company, offer.party, taxes_used=self.taxes)
        line.amount = line.on_change_with_amount()
        return line

    @fields.depends(
        'product', 'company', 'template', '_parent_template.company')
    def compute_taxes(self):
        "The taxes of the service (without a customer's tax rule)."
        company = self.company or (
            self.template.company if self.template else None)
        return self.service_taxes(self.product, company, None)


class OfferTemplateLineTax(LineTaxMixin, ModelSQL):
    "Offer Template Line - Tax"
    __name__ = 'buero365.offer.template.line-account.tax'
    __string__ = "Offer Template Line - Tax"
    line = fields.Many2One(
        'buero365.offer.template.line', "Line", required=True,
        ondelete='CASCADE')


class OfferTemplateAddress(
        TemplatePartMixin, sequence_ordered(), ModelSQL, ModelView):
    "Offer Template Address Label"
    __name__ = 'buero365.offer.template.address'
    __string__ = "Offer Template Address Label"

    label = fields.Char(
        "Label", required=True, help="e.g. Auszug, Einzug.")


class TemplateMixin:
    """Offer templates and placeholders on the offer (buero365.offer uses
    it)."""
    __slots__ = ()

    @fields.depends(
        'template', 'lines', 'currency', 'lead_source', 'deposit_type',
        'deposit_value', methods=['on_change_lines', 'fill_placeholders'])
    def on_change_template(self):
        if self.template:
            self.template.apply(self)
            self.fill_placeholders()

    # The values placeholders read (and the customer, on_change_party): a
    # placeholder left waiting for one is filled as soon as staff enter it.
    @fields.depends(methods=['fill_placeholders'])
    def on_change_start(self):
        self.fill_placeholders()

    @fields.depends(methods=['fill_placeholders'])
    def on_change_end(self):
        self.fill_placeholders()

    @fields.depends(methods=['fill_placeholders'])
    def on_change_addresses(self):
        self.fill_placeholders()

    @fields.depends(*PLACEHOLDER_DEPENDS)
    def fill_placeholders(self):
        """Replace each placeholder of the title and the texts whose value
        the offer has by it; the others stay as they are."""
        values = self.placeholder_values()
        if not values:
            return

        def filled(text, escape):
            def value(match):
                name = match.group(1)
                if name not in values:
                    return match.group(0)
                text = values[name]
                if escape:
                    text = '<br/>'.join(
                        html.escape(l) for l in text.split('\n'))
                else:
                    text = '; '.join(text.split('\n'))
                return text
            return PLACEHOLDER.sub(value, text)

        if self.title and PLACEHOLDER.search(self.title):
            self.title = filled(self.title, False)
        for name in TEXT_FIELDS:
            text = getattr(self, name, None)
            if text and PLACEHOLDER.search(text):
                setattr(self, name, filled(text, True))

    def unfilled_placeholders(self):
        "The placeholders left in the offer's title and texts, once each."
        found = []
        for text in [self.title, *(getattr(self, n) for n in TEXT_FIELDS)]:
            for match in PLACEHOLDER.finditer(text or ''):
                if (match.group(1) in PLACEHOLDER_NAMES
                        and match.group(0) not in found):
                    found.append(match.group(0))
        return found

    def check_placeholders(self):
        """Warn before the customer is sent an offer whose text still has
        a placeholder: they would read "{start_date}" as it is."""
        pool = Pool()
        Warning = pool.get('res.user.warning')
        placeholders = self.unfilled_placeholders()
        if not placeholders:
            return
        key = Warning.format('offer_placeholders', [self])
        if Warning.check(key):
            raise PlaceholderWarning(key, gettext(
                    'buero365_offers.msg_offer_placeholders_unfilled',
                    offer=self.rec_name,
                    placeholders=', '.join(placeholders)))

    def placeholder_values(self):
        """The values of the placeholders the offer has, as plain text
        (the addresses one a line), dates in the customer's language and
        times in the company's time zone."""
        pool = Pool()
        Lang = pool.get('ir.lang')
        values = {}
        if self.party and self.party.name:
            values['customer_name'] = self.party.name
        if self.company:
            values['company_name'] = self.company.rec_name
        lang = Lang.get(self.customer_language() if self.company else None)
        zone = (get_tzinfo(self.company.timezone)
            if self.company and self.company.timezone else UTC)
        for name in ['start', 'end']:
            moment = getattr(self, name, None)
            if moment:
                moment = moment.replace(tzinfo=UTC).astimezone(zone)
                values[f'{name}_date'] = lang.strftime(moment.date())
                values[f'{name}_time'] = moment.strftime('%H:%M')
        if self.valid_until:
            values['valid_until'] = lang.strftime(self.valid_until)
        addresses = [_address_parts(a) for a in self.addresses or []]
        if addresses and all(all(a) for a in addresses):
            lines = []
            for address, (street, postal_code, city) in zip(
                    self.addresses, addresses):
                place = f'{street}, {postal_code} {city}'
                label = getattr(address, 'label', None)
                lines.append(f'{label}: {place}' if label else place)
            values['addresses'] = '\n'.join(lines)
        return values


def _address_parts(address):
    "The street, postal code and city of a service address (in a form)."
    return tuple(getattr(address, name, None)
        for name in ['street', 'postal_code', 'city'])
