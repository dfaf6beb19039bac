# This file is part of Büro 365 Offers.  See the README for licence terms.
"""What an offer's service line and an offer template's share: a service
of the catalogue or in free text, its unit, price and taxes."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, Unique, fields
from trytond.model.exceptions import ValidationError
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import round_price
from trytond.pool import Pool
from trytond.pyson import Eval

from .text import clean_line

# How a service is part of the offer: included (always), optional (a
# Bedarfsposition the customer may add) or one of an alternative group
# (the customer chooses one of its services).
CHOICES = [
    ('', "Included"),
    ('optional', "Optional"),
    ('alternative', "Alternative"),
    ]
# The fields that say so, written by staff (and selected by the customer
# when they accept).
CHOICE_FIELDS = ['choice', 'alternative_group', 'selected']
# The fields a service line has from ServiceMixin that staff write.
SERVICE_FIELDS = [
    'product', 'description', 'quantity', 'unit', 'unit_price',
    'discount_rate']


def check_alternatives(lines, record):
    """Raise ValidationError unless each alternative group of lines (of
    one offer or template, record) has exactly one service selected."""
    groups = {}
    for line in lines:
        if line.choice == 'alternative' and line.alternative_group:
            groups.setdefault(line.alternative_group, []).append(line)
    for group, members in groups.items():
        selected = [l for l in members if l.chosen]
        if len(selected) != 1:
            raise ValidationError(gettext(
                    'buero365_offers.msg_alternative_one_selected',
                    group=group, record=record.rec_name,
                    count=len(selected)))


def taxes_field(relation, **kwargs):
    "The taxes of a service line, stored in the model relation."
    return fields.Many2Many(
        relation, 'line', 'tax', "Taxes",
        order=[('tax.sequence', 'ASC'), ('tax.id', 'ASC')],
        domain=[
            ('parent', '=', None),
            ['OR',
                ('group', '=', None),
                ('group.kind', 'in', ['sale', 'both'])],
            ('company', '=', Eval('company', -1)),
            ],
        **kwargs)


class ServiceMixin:
    """A service line: company and currency (the class computes them:
    on_change_with_company, on_change_with_currency), the fields of
    SERVICE_FIELDS; the class gives taxes (taxes_field) and
    compute_taxes() (its company and customer)."""
    __slots__ = ()

    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'on_change_with_company')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')

    product = fields.Many2One(
        'product.product', "Service", ondelete='RESTRICT',
        domain=[('type', '=', 'service')],
        context={'company': Eval('company', -1)}, depends={'company'},
        help="An existing service; leave empty for a new service "
        "described in free text.")
    description = fields.Text("Description", required=True)
    quantity = fields.Float(
        "Quantity", digits='unit', required=True,
        domain=[('quantity', '>=', 0)])
    unit = fields.Many2One('product.uom', "Unit", ondelete='RESTRICT')
    unit_price = Monetary(
        "Unit Price", digits='currency', currency='currency',
        required=True, domain=[('unit_price', '>=', 0)])
    discount_rate = fields.Numeric(
        "Discount", digits=(16, 4), required=True,
        domain=[('discount_rate', '>=', 0), ('discount_rate', '<=', 1)],
        help="As a fraction of the price: 0.1 is 10 %.")
    choice = fields.Selection(
        CHOICES, "Choice", sort=False,
        help="Included: always part of the offer. Optional: the customer "
        "may add it. Alternative: the customer chooses one service of its "
        "group.")
    alternative_group = fields.Char(
        "Alternative Group",
        states={
            'invisible': Eval('choice') != 'alternative',
            'required': Eval('choice') == 'alternative',
            },
        help="The alternatives of one offer share a group, e.g. \"LKW\": "
        "the customer chooses one of them.")
    selected = fields.Boolean(
        "Selected",
        states={
            'readonly': Eval('choice', '') == '',
            },
        help="Counted in the totals. For an optional service: ticked for "
        "the customer in advance; for an alternative: the one chosen in "
        "advance in its group. When accepting, the customer's choice "
        "replaces it.")

    @property
    @fields.depends('choice', 'selected')
    def chosen(self):
        "Tell whether the service is in the set the totals count."
        return not self.choice or bool(self.selected)

    @staticmethod
    def default_choice():
        return ''

    @staticmethod
    def default_selected():
        return True

    @fields.depends('choice', 'selected', 'alternative_group')
    def on_change_choice(self):
        if not self.choice:
            self.selected = True
        if self.choice != 'alternative':
            self.alternative_group = None

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'alternative_group' in values:
            values['alternative_group'] = clean_line(
                values['alternative_group']) or None
        if 'choice' in values and not values['choice']:
            # An included service is always part of the offer.
            values['selected'] = True
        return values

    @property
    def net_unit_price(self):
        """The unit price after the discount, to the price digits: what a
        sale line of the service costs (Tryton's sale has no discount)."""
        if self.unit_price is None:
            return None
        return round_price(
            self.unit_price * (1 - (self.discount_rate or Decimal(0))))

    @staticmethod
    def default_quantity():
        return 1

    @staticmethod
    def default_discount_rate():
        return Decimal(0)

    @staticmethod
    def default_unit_price():
        return Decimal(0)

    @fields.depends('product', 'unit', 'description', 'unit_price', 'taxes',
        methods=['compute_taxes'])
    def on_change_product(self):
        self.taxes = self.compute_taxes()
        if not self.product:
            return
        self.unit = self.product.default_uom
        if not self.description:
            self.description = self.product.rec_name
        self.unit_price = self.product.list_price_used

    @classmethod
    def service_taxes(cls, product, company, party, taxes_used=None):
        """Return the ids of the taxes of a service line, as a sale line
        computes them.

        taxes_used defaults to the customer taxes of product, or for a
        free-text service to the default taxes of the company's default
        revenue account (account configuration); the customer's tax rule
        (party's) applies to them."""
        if taxes_used is None:
            taxes_used = cls.catalogue_taxes(product, company)
        rule = party.customer_tax_rule if party else None
        taxes = []
        for tax in taxes_used:
            if company and tax.company != company:
                continue
            if rule:
                tax_ids = rule.apply(tax, {})
                if tax_ids:
                    taxes.extend(t for t in tax_ids if t not in taxes)
                    continue
            if tax.id not in taxes:
                taxes.append(tax.id)
        if rule:
            taxes.extend(t for t in rule.apply(None, {}) or []
                if t not in taxes)
        return taxes

    @staticmethod
    def catalogue_taxes(product, company):
        "The customer taxes of product, else the company's default taxes."
        pool = Pool()
        AccountConfiguration = pool.get('account.configuration')
        if product:
            return product.customer_taxes_used
        if company:
            account = AccountConfiguration(1).get_multivalue(
                'default_category_account_revenue', company=company.id)
            return account.taxes if account else []
        return []

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        for line in lines:
            if line.unit and line.product and (
                    line.unit.category != line.product.default_uom.category):
                raise ValidationError(gettext(
                        'buero365_offers.msg_line_unit_category',
                        line=line.description, unit=line.unit.rec_name,
                        product=line.product.rec_name))
            # None: a row from before the choices (counted as included).
            if not line.choice and line.selected is not None and (
                    not line.selected):
                raise ValidationError(gettext(
                        'buero365_offers.msg_line_included_selected',
                        line=line.description))


class LineTaxMixin:
    """A tax of a service line (the relation taxes_field names); the class
    gives line, the Many2One to its service line."""
    __slots__ = ()
    tax = fields.Many2One(
        'account.tax', "Tax", required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('line_tax_unique', Unique(t, t.line, t.tax),
                'buero365_offers.msg_line_tax_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.line, Index.Range())))
