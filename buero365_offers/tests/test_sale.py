# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The sale order of an accepted offer (sale.py): made by the button or on
acceptance (by staff and online), as a quotation or confirmed, with the
signed lines and amounts to the cent; once only; and what reopening the
offer does to it."""
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import (
    CustomerRouteTestCase,
    ModuleDatabaseTestCase,
    create_customer,
    data_url,
    form_fields,
    load_script,
    local_to_utc,
    new_offer,
    read,
    run_committed,
    setup_offer_company,
    signature_png,
)


def configure(creation='manual', state='quotation'):
    "Set when a sale is made and in which state, as in Offers / Configuration."
    Configuration = Pool().get('buero365.offer.configuration')
    Configuration.write([Configuration(1)], {
            'sale_creation': creation, 'sale_state': state})


def service(name="Umzugshelfer", price='45', salable=True):
    "A service of the catalogue, per hour."
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    hour, = Uom.search([('name', '=', "Hour")])
    template, = Template.create([{
                'name': name, 'type': 'service', 'salable': salable,
                'default_uom': hour.id, 'sale_uom': hour.id,
                'list_price': Decimal(price),
                'products': [('create', [{}])],
                }])
    return template.products[0]


@contextmanager
def sale_company():
    "Yield (company, USt 19 %, USt 7 %) with the company as the context's."
    company, tax19, tax7 = setup_offer_company()
    company.timezone = 'Europe/Berlin'
    company.save()
    with set_company(company):
        yield company, tax19, tax7


def line(description, quantity, price, taxes, discount='0', **values):
    values.update({
            'description': description, 'quantity': quantity,
            'unit_price': Decimal(price), 'discount_rate': Decimal(discount),
            'taxes': [('add', [t.id for t in taxes])],
            })
    return values


def accepted_offer(lines, with_address=True, **values):
    "An offer of lines the customer accepted (by phone: staff's button)."
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Address = pool.get('party.address')
    customer = create_customer("Familie Krause")
    if with_address:
        Address.create([{
                    'party': customer.id, 'street_unstructured': "Ringstr. 4",
                    'postal_code': '04109', 'city': "Leipzig"}])
    values.setdefault('title', "Umzug Leipzig → Dresden")
    offer, = Offer.create([{
                'party': customer.id, 'lines': [('create', lines)],
                **values}])
    Offer.accept([offer])
    return Offer(offer.id)


def amounts(record):
    return record.untaxed_amount, record.tax_amount, record.total_amount


class SaleTestCase(ModuleDatabaseTestCase):
    "Test the sale orders of accepted offers"
    # The demo's set, shared with the other classes (one database to
    # install); scenario_sale.rst runs on sale alone.
    modules = ['buero365_offers', 'sale_opportunity']

    @with_transaction()
    def test_button_makes_the_sale_once(self):
        """Create Sale makes a quotation of the signed offer: customer,
        addresses, lines, number as reference, move date, title; a second
        click opens the same sale"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with sale_company() as (company, tax19, tax7):
            configure('manual')
            hours = service()
            start = local_to_utc(dt.datetime(2027, 3, 1, 0, 30))
            offer = accepted_offer([
                    line("Umzugshelfer", 3, '45', [tax19],
                        product=hours.id, unit=hours.default_uom.id),
                    line("Umzugskartons (Kauf)", 20, '2.50', [tax7]),
                    ], start=start)
            self.assertEqual(offer.sales, ())

            action = Offer.create_sale([offer])
            sale, = Offer(offer.id).sales
            self.assertEqual(action['res_id'], [sale.id])
            self.assertEqual(sale.state, 'quotation')
            self.assertEqual(sale.offer, offer)
            self.assertEqual(sale.reference, offer.number)
            self.assertEqual(sale.description, "Umzug Leipzig → Dresden")
            # 00:30 in Berlin is the day before in UTC.
            self.assertEqual(sale.sale_date, dt.date(2027, 3, 1))
            self.assertEqual(
                (sale.party, sale.company, sale.currency),
                (offer.party, company, offer.currency))
            address, = offer.party.addresses
            self.assertEqual(
                (sale.invoice_address, sale.shipment_address),
                (address, address))
            self.assertEqual([(l.product, l.description, l.quantity, l.unit,
                        l.unit_price, list(l.taxes)) for l in sale.lines], [
                    (hours, "Umzugshelfer", 3, hours.default_uom,
                        Decimal('45'), [tax19]),
                    (None, "Umzugskartons (Kauf)", 20, None,
                        Decimal('2.50'), [tax7]),
                    ])
            self.assertEqual(amounts(sale), amounts(offer))
            self.assertEqual(Offer(offer.id).sale_count, 1)

            # A second click, or a click on two windows: the same sale.
            action = Offer.create_sale([offer])
            self.assertEqual(action['res_id'], [sale.id])
            self.assertEqual(len(Offer(offer.id).sales), 1)

    @with_transaction()
    def test_only_accepted_offer(self):
        "An open offer does not become a sale"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with sale_company() as (_, tax19, _):
            offer = accepted_offer([line("Umzug", 1, '100', [tax19])])
            Offer.reopen([offer])
            with self.assertRaises(UserError) as cm:
                Offer.create_sale([offer])
            self.assertIn("is not accepted", cm.exception.message)
            self.assertEqual(Offer(offer.id).sales, ())

    @with_transaction()
    def test_amounts_to_the_cent(self):
        """Discounts, quantities in hours and two VAT rates: the sale's net,
        VAT and total are the offer's to the cent"""
        with sale_company() as (_, tax19, tax7):
            configure('accepted')
            offer = accepted_offer([
                    line("Umzugshelfer", 8, '39.90', [tax19],
                        discount='0.1'),
                    line("LKW 7,5 t", 1, '189.99', [tax19],
                        discount='0.15'),
                    line("Kartons", 35, '1.99', [tax7], discount='0.05'),
                    line("Halteverbotszone", 1, '89', [tax19]),
                    ])
            sale, = offer.sales
            self.assertEqual(amounts(offer), (
                    Decimal('603.94'), Decimal('106.81'), Decimal('710.75')))
            self.assertEqual(amounts(sale), amounts(offer))
            # The discount is in the unit price: Tryton's sale has none.
            self.assertEqual([l.unit_price for l in sale.lines], [
                    Decimal('35.91'), Decimal('161.4915'),
                    Decimal('1.8905'), Decimal('89')])

    @with_transaction()
    def test_half_cent_as_tryton_rounds(self):
        """A line amount of exactly half a cent, and a discount with more
        digits than a price has, come out as Tryton's sale computes them:
        the offer and its sale agree to the cent, VAT included"""
        with sale_company() as (_, tax19, _):
            configure('accepted')
            offer = accepted_offer([
                    # 7.5 h × 35.91 (39.90 − 10 %) = 269.325
                    line("Umzugshelfer", 7.5, '39.90', [tax19],
                        discount='0.1'),
                    # 12.34 − 33.33 % = 8.227078 → 8.2271 a unit
                    line("Kartons", 3, '12.34', [tax19], discount='0.3333'),
                    ])
            sale, = offer.sales
            self.assertEqual(offer.untaxed_amount, Decimal('294.00'))
            self.assertEqual(
                (sale.untaxed_amount, sale.tax_amount, sale.total_amount),
                (offer.untaxed_amount, offer.tax_amount,
                    offer.total_amount))
            self.assertFalse([n for n in Transaction().user_notifications
                    if sale.rec_name in n.label])

    @with_transaction()
    def test_automatic_confirmed(self):
        """Made on acceptance as configured, confirmed; a product that
        cannot be sold is a free-text line"""
        with sale_company() as (_, tax19, _):
            configure('accepted', 'confirmed')
            storage = service("Einlagerung", salable=False)
            offer = accepted_offer([line(
                        "Einlagerung", 2, '60', [tax19],
                        product=storage.id, unit=storage.default_uom.id)])
            sale, = offer.sales
            self.assertEqual(sale.state, 'confirmed')
            self.assertEqual(sale.sale_date,
                Pool().get('ir.date').today())
            sale_line, = sale.lines
            self.assertEqual(
                (sale_line.product, sale_line.description, sale_line.unit),
                (None, "Einlagerung", storage.default_uom))

    @with_transaction()
    def test_customer_without_address(self):
        """A customer without an address gets a draft sale (Tryton quotes
        none without an invoice address) and staff are told"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with sale_company() as (_, tax19, _):
            configure('accepted')
            offer = accepted_offer(
                [line("Umzug", 1, '100', [tax19])], with_address=False)
            self.assertEqual(offer.state, 'accepted')
            sale, = offer.sales
            self.assertEqual(sale.state, 'draft')
            self.assertEqual(Offer(offer.id).sale_count, 1)
            label, = [n.label for n in Transaction().user_notifications
                if sale.rec_name in n.label]
            self.assertIn("stays a draft", label)

    @with_transaction()
    def test_reopen_cancels_quotation_after_warning(self):
        """Reopening an offer warns that its quotation is cancelled, then
        cancels it; accepted again, it makes a new sale"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with sale_company() as (_, tax19, _):
            configure('accepted')
            offer = accepted_offer([line("Umzug", 1, '100', [tax19])])
            first, = offer.sales
            with self.assertRaises(UserWarning) as cm:
                Offer.reopen([offer])
            self.assertIn(first.rec_name, cm.exception.message)
            self.assertEqual(Offer(offer.id).state, 'accepted')

            with Transaction().set_context(_skip_warnings=True):
                Offer.reopen([offer])
            offer = Offer(offer.id)
            self.assertEqual((offer.state, first.state), ('open', 'cancelled'))
            self.assertEqual(offer.sale_count, 0)

            Offer.accept([offer])
            offer = Offer(offer.id)
            self.assertEqual(
                sorted(s.state for s in offer.sales),
                ['cancelled', 'quotation'])
            self.assertEqual(offer.sale_count, 1)

    @with_transaction()
    def test_reopen_refused_with_confirmed_sale(self):
        "A confirmed sale is handled in Sales: the offer stays accepted"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with sale_company() as (_, tax19, _):
            configure('accepted', 'confirmed')
            offer = accepted_offer([line("Umzug", 1, '100', [tax19])])
            sale, = offer.sales
            with Transaction().set_context(_skip_warnings=True), \
                    self.assertRaises(UserError) as cm:
                Offer.reopen([offer])
            self.assertIn(sale.rec_name, cm.exception.message)
            self.assertIn("Sales", cm.exception.message)
            self.assertEqual(Offer(offer.id).state, 'accepted')

    @with_transaction()
    def test_copies_have_no_link(self):
        """A duplicated offer has no sale; a copied sale no offer; no user
        sets the offer of a sale"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Sale = pool.get('sale.sale')
        with sale_company() as (_, tax19, _):
            configure('accepted')
            offer = accepted_offer([line("Umzug", 1, '100', [tax19])])
            sale, = offer.sales
            copy, = Offer.copy([offer])
            self.assertEqual(copy.sales, ())
            sale_copy, = Sale.copy([sale])
            self.assertIsNone(sale_copy.offer)
            self.assertEqual(len(Offer(offer.id).sales), 1)
            # Nobody links a sale to an offer by hand (RPC).
            with check_access(), self.assertRaises(AccessError):
                Sale.write([sale_copy], {'offer': offer.id})
            self.assertIsNone(Sale(sale_copy.id).offer)

    @with_transaction()
    def test_demo_makes_quotations_on_acceptance(self):
        "The demo's set-up makes accepted offers sale quotations at once"
        Configuration = Pool().get('buero365.offer.configuration')
        demo_setup = load_script('demo_setup')
        demo_setup.REPORT.clear()
        demo_setup.create_sales_on_acceptance()
        configuration = Configuration(1)
        self.assertEqual(
            (configuration.sale_creation, configuration.sale_state),
            ('accepted', 'quotation'))
        self.assertEqual(len(demo_setup.REPORT), 1)
        demo_setup.create_sales_on_acceptance()
        self.assertEqual(len(demo_setup.REPORT), 1)


class SaleOnlineTestCase(CustomerRouteTestCase):
    "The customer signs online: the sale order is made at once"
    extras = ['sale_opportunity']

    @classmethod
    def setUpDatabase(cls):
        super().setUpDatabase()
        configure('accepted', 'quotation')

    def test_signed_online_makes_one_sale(self):
        """The customer signs on the page: a quotation with the offer's
        number; signing again is refused and makes no second sale"""
        offer_id, path = new_offer()

        def add_address():
            Address = Pool().get('party.address')
            offer = Pool().get('buero365.offer')(offer_id)
            Address.create([{'party': offer.party.id, 'city': "Köln"}])
        run_committed(add_address)

        action, fields = form_fields(self.page(path), 'accept-form')
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        self.assertEqual(
            self.client().post(action, data=fields).status_code, 303)
        # Twice (a double tap, the back button): refused.
        self.assertEqual(
            self.client().post(action, data=fields).status_code, 409)

        def sales():
            offer = Pool().get('buero365.offer')(offer_id)
            return offer.number, amounts(offer), [
                (s.state, s.reference, amounts(s)) for s in offer.sales]
        number, offer_amounts, sales = read(sales)
        self.assertEqual(sales, [('quotation', number, offer_amounts)])
