# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The sale order (sale.sale) an accepted offer becomes, when Tryton's sale
module is active: made by a button or on acceptance, as configured; then
Tryton's own flow (quotation, confirmation, invoice, shipment) takes over."""
import datetime as dt

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.sale.exceptions import SaleQuotationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import SaleCancelWarning
from .offer import _company_zone

SALE_CREATIONS = [
    ('manual', "Manually"),
    ('accepted', "On Acceptance"),
    ]
SALE_STATES = [
    ('quotation', "Quotation"),
    ('confirmed', "Confirmed"),
    ]
# A sale in these states is still an offer to the customer: it is cancelled
# with the reopened offer.  Later ones are handled in Sales.
SALE_CANCELLABLE = {'draft', 'quotation'}


class Configuration(metaclass=PoolMeta):
    __name__ = 'buero365.offer.configuration'

    sale_creation = fields.Selection(
        SALE_CREATIONS, "Create Sale", required=True, sort=False,
        help="When an accepted offer becomes a sale order: with the "
        "\"Create Sale\" button of the offer, or at once when it is "
        "accepted (online or by staff).")
    sale_state = fields.Selection(
        SALE_STATES, "Sale Status", required=True, sort=False,
        help="The status of the sale order created: a quotation to check, "
        "or confirmed (Tryton then makes its invoice and shipment as the "
        "sale configuration says).")

    @classmethod
    def default_sale_creation(cls):
        return 'manual'

    @classmethod
    def default_sale_state(cls):
        return 'quotation'


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    offer = fields.Many2One(
        'buero365.offer', "Offer", readonly=True, ondelete='RESTRICT',
        help="The accepted offer this sale was made from.")

    @classmethod
    def copy(cls, sales, default=None):
        # A copy is a new sale of its own, not the offer's.
        default = default.copy() if default else {}
        default.setdefault('offer', None)
        return super().copy(sales, default=default)


class Offer(metaclass=PoolMeta):
    __name__ = 'buero365.offer'

    # Read-only: a duplicated offer has no sales (Tryton's copy).
    sales = fields.One2Many(
        'sale.sale', 'offer', "Sales", readonly=True,
        help="The sale orders made from the accepted offer.")
    sale_count = fields.Function(
        fields.Integer("Sales"), 'get_sale_count')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'create_sale': {
                    'invisible': ((Eval('state') != 'accepted')
                        | (Eval('sale_count', 0) > 0)),
                    'icon': 'tryton-forward',
                    'depends': ['state', 'sale_count'],
                    },
                })

    def get_sale_count(self, name):
        "How many sales of the offer are not cancelled."
        return len(self.active_sales())

    def active_sales(self):
        "The sales of the offer that are not cancelled."
        return [s for s in self.sales if s.state != 'cancelled']

    @classmethod
    @ModelView.button_action('buero365_offers.act_sale_from_offer')
    def create_sale(cls, offers):
        """Make the sale order of each accepted offer that has none yet and
        open the sales of the offers."""
        sales = cls.make_sales(offers)
        return {'res_id': [s.id for s in sales]}

    @classmethod
    def accept(cls, offers):
        action = super().accept(offers)
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        if Configuration(1).sale_creation == 'accepted':
            # Only those the transition accepted (not a rejected one).
            cls.make_sales([o for o in cls.browse([o.id for o in offers])
                    if o.state == 'accepted'])
        return action

    @classmethod
    def make_sales(cls, offers):
        """Return the sales of the accepted offers, made once: a second
        click or acceptance finds the sale of the first (under the offer's
        lock)."""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Configuration = pool.get('buero365.offer.configuration')
        if not offers:
            return []
        cls.lock_for_edit(offers)
        offers = cls.browse([o.id for o in offers])
        sales, new = [], []
        # The customer pages and offer staff have no access to sales: the
        # sale is a consequence of the acceptance.
        with without_check_access():
            for offer in offers:
                if offer.state != 'accepted':
                    raise UserError(gettext(
                            'buero365_offers.msg_sale_offer_not_accepted',
                            offer=offer.rec_name))
                existing = offer.active_sales()
                if existing:
                    sales.extend(existing)
                else:
                    new.append(offer.get_sale())
            Sale.save(new)
            cls._advance_sales(new, Configuration(1).sale_state)
            cls._check_sale_amounts(Sale.browse(new))
        return Sale.browse([s.id for s in sales + new])

    @classmethod
    def _advance_sales(cls, sales, state):
        """Quote (and confirm) the new sales; one that cannot be quoted (its
        customer has no address) stays a draft and staff are told why."""
        pool = Pool()
        Sale = pool.get('sale.sale')
        quoted = []
        for sale in sales:
            try:
                Sale.quote([sale])
            except SaleQuotationError as error:
                cls.notify_staff(sale.offer,
                    'buero365_offers.msg_notify_sale_draft',
                    icon='tryton-warning', sale=sale.rec_name,
                    description=error.message)
                continue
            quoted.append(sale)
        if state == 'confirmed' and quoted:
            Sale.confirm(quoted)

    @classmethod
    def reopen(cls, offers):
        """Reopening an offer with a sale: a quotation (or draft) is
        cancelled with it, after a warning; a confirmed sale is handled in
        Sales first (cancel it there, then reopen)."""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Warning = pool.get('res.user.warning')
        with without_check_access():
            offers = cls.browse([o.id for o in offers])
            to_cancel = []
            for offer in offers:
                for sale in offer.active_sales():
                    if sale.state not in SALE_CANCELLABLE:
                        raise UserError(gettext(
                                'buero365_offers.msg_offer_reopen_sale_kept',
                                offer=offer.rec_name, sale=sale.rec_name))
                    to_cancel.append(sale)
            if to_cancel:
                key = Warning.format('buero365_offer_reopen_sale', to_cancel)
                if Warning.check(key):
                    raise SaleCancelWarning(key, gettext(
                            'buero365_offers.msg_offer_reopen_sale_cancel',
                            sales=', '.join(s.rec_name for s in to_cancel)))
                Sale.cancel(to_cancel)
        return super().reopen(offers)

    @classmethod
    def _check_sale_amounts(cls, sales):
        """Tell staff when a sale's total is not its offer's: Tryton rounds
        a line amount of exactly half a cent to even, the offer up."""
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        for sale in sales:
            offer = sale.offer
            if (sale.untaxed_amount, sale.tax_amount, sale.total_amount) == (
                    offer.untaxed_amount, offer.tax_amount,
                    offer.total_amount):
                continue
            cls.notify_staff(offer,
                'buero365_offers.msg_notify_sale_amounts_differ',
                icon='tryton-warning', sale=sale.rec_name,
                description=gettext(
                    'buero365_offers.msg_sale_amounts_rounding'),
                sale_total=lang.currency(sale.total_amount, sale.currency),
                offer_total=lang.currency(
                    offer.total_amount, offer.currency))

    def sale_date(self):
        "The day the service starts, in the company's time zone; else today."
        pool = Pool()
        Date = pool.get('ir.date')
        if not self.start:
            with Transaction().set_context(company=self.company.id):
                return Date.today()
        start = self.start.replace(tzinfo=dt.timezone.utc)
        return start.astimezone(_company_zone(self.company)).date()

    def get_sale(self):
        "Return a new sale (not saved) of the lines the customer signed."
        pool = Pool()
        Sale = pool.get('sale.sale')
        sale = Sale(
            company=self.company, party=self.party, offer=self,
            reference=self.number, description=self.title,
            sale_date=self.sale_date())
        with Transaction().set_context(company=self.company.id):
            sale.on_change_party()
        sale.currency = self.currency
        if (self.customer_address
                and self.customer_address.party == self.party):
            sale.invoice_address = self.customer_address
        sale.lines = [
            line.get_sale_line(sale) for line in self.chosen_lines()]
        return sale


class OfferLine(metaclass=PoolMeta):
    __name__ = 'buero365.offer.line'

    def get_sale_line(self, sale):
        """Return the sale line of this service: its product (if it can be
        sold), description, quantity, unit and taxes, at its unit price
        after the discount (Tryton's sale has no discount of its own)."""
        pool = Pool()
        SaleLine = pool.get('sale.line')
        line = SaleLine(
            type='line', description=self.description,
            quantity=self.quantity, unit=self.unit,
            taxes=list(self.taxes))
        if self.product and self.product.salable:
            line.product = self.product
            line.unit = self.unit or self.product.sale_uom
        line.unit_price = self.net_unit_price
        return line
