# This file is part of Büro 365 Offers.  See the README for licence terms.
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

from lxml import etree

from trytond.model.exceptions import (
    AccessError,
    DomainValidationError,
    RequiredValidationError,
    SQLConstraintError,
    ValidationError,
)
from trytond.modules.company.tests import (
    CompanyTestMixin,
    create_company,
    set_company,
)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import create_customer, create_germany, setup_offer_company


@contextmanager
def savepoint():
    "Undo what the block wrote, as a refused request would (both backends)."
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    cursor.execute('SAVEPOINT buero365_test')
    try:
        yield
    finally:
        cursor.execute('ROLLBACK TO SAVEPOINT buero365_test')
        # Forget the rows the block wrote (SQLite reuses their ids).
        for cache in transaction.cache.values():
            cache.clear()
        transaction.create_records.clear()
        transaction.delete_records.clear()


def set_default_tax(company, tax):
    """Give the company a default revenue account whose default tax is tax,
    as the accounting configuration does for lines without a product."""
    pool = Pool()
    Account = pool.get('account.account')
    AccountType = pool.get('account.account.type')
    Configuration = pool.get('account.configuration')
    with set_company(company):
        revenue_type = AccountType(
            name="Erlöse", statement='income', revenue=True, company=company)
        revenue_type.save()
        revenue = Account(
            name="Umsatzerlöse", code="8400", type=revenue_type,
            company=company, taxes=[tax])
        revenue.save()
        configuration = Configuration(1)
        configuration.default_category_account_revenue = revenue
        configuration.save()
    return revenue


def create_service(name, price, unit='uom_hour', taxes=()):
    pool = Pool()
    Template = pool.get('product.template')
    Category = pool.get('product.category')
    ModelData = pool.get('ir.model.data')
    uom = ModelData.get_id('product', unit)
    category, = Category.create([{
                'name': f"Services {name}",
                'accounting': True,
                'customer_taxes': [('add', [t.id for t in taxes])],
                }])
    template, = Template.create([{
                'name': name,
                'type': 'service',
                'default_uom': uom,
                'list_price': Decimal(price),
                'account_category': category.id,
                'products': [('create', [{}])],
                }])
    return template.products[0]


class OfferTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Büro 365 Offers module"
    module = 'buero365_offers'
    extras = ['sale_opportunity']

    def _offer(self, party, **values):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        offer = Offer(party=party, title="Umzug Berlin → Hamburg", **values)
        offer.on_change_party()
        return offer

    @with_transaction()
    def test_mail_kind_column_renamed(self):
        "A database from before the rename keeps its emails' purposes"
        pool = Pool()
        cursor = Transaction().connection.cursor()
        for name, column in [
                ('buero365.offer.mail', 'purpose'),
                ('buero365.offer.event', 'event_type')]:
            with self.subTest(model=name):
                Model = pool.get(name)
                table_h = Model.__table_handler__('buero365_offers')
                table_h.column_rename(column, 'kind')
                self.assertFalse(table_h.column_exist(column))
                Model.__register__('buero365_offers')
                table_h = Model.__table_handler__('buero365_offers')
                self.assertTrue(table_h.column_exist(column))
                self.assertFalse(table_h.column_exist('kind'))
                table = Model.__table__()
                cursor.execute(*table.select(getattr(table, column)))

    @with_transaction()
    def test_totals_discount_taxes(self):
        "Net, VAT and gross follow the lines, discounts and tax rates"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, tax19, tax7 = setup_offer_company()
        with set_company(company):
            helper = create_service("Umzugshelfer", '45.50', taxes=[tax19])
            customer = create_customer()
            offer, = Offer.create([{
                        'party': customer.id,
                        'title': "Umzug Berlin → Hamburg",
                        'lines': [('create', [{
                                        'product': helper.id,
                                        'description': "Umzugshelfer",
                                        'quantity': 2,
                                        'unit': helper.default_uom.id,
                                        'unit_price': Decimal('45.50'),
                                        'taxes': [('add', [tax19.id])],
                                        }, {
                                        'description': "Umzugskartons",
                                        'quantity': 10,
                                        'unit_price': Decimal('2.99'),
                                        'discount_rate': Decimal('0.1'),
                                        'taxes': [('add', [tax19.id])],
                                        }, {
                                        'description': "Klaviertransport",
                                        'quantity': 1,
                                        'unit_price': Decimal('100'),
                                        'taxes': [('add', [tax7.id])],
                                        }])],
                        }])
            self.assertEqual(
                [l.amount for l in offer.lines],
                [Decimal('91.00'), Decimal('26.91'), Decimal('100.00')])
            self.assertEqual(offer.untaxed_amount, Decimal('217.91'))
            # 19 % of 117.91 = 22.4029 → 22.40; 7 % of 100 = 7.00
            self.assertEqual(offer.tax_amount, Decimal('29.40'))
            self.assertEqual(offer.total_amount, Decimal('247.31'))
            self.assertEqual(offer.currency.code, 'EUR')

            # Editing or removing a line updates the stored totals.
            line = offer.lines[2]
            line.quantity = 2
            line.save()
            offer = Offer(offer.id)
            self.assertEqual(offer.untaxed_amount, Decimal('317.91'))
            self.assertEqual(offer.total_amount, Decimal('354.31'))
            Offer.write([offer], {'lines': [('delete', [line.id])]})
            offer = Offer(offer.id)
            self.assertEqual(offer.untaxed_amount, Decimal('117.91'))
            self.assertEqual(offer.tax_amount, Decimal('22.40'))
            self.assertEqual(offer.total_amount, Decimal('140.31'))

    @with_transaction()
    def test_rounding_as_tryton(self):
        """Amounts are rounded as Tryton's sales and invoices round them:
        per line half to even, VAT per tax on the document"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, tax19, _ = setup_offer_company()
        with set_company(company):
            customer = create_customer()
            offer, = Offer.create([{
                        'party': customer.id,
                        'title': "Reinigung",
                        'lines': [('create', [{
                                        'description': "Fensterreinigung",
                                        'quantity': 1.5,
                                        'unit_price': Decimal('33.67'),
                                        'taxes': [('add', [tax19.id])],
                                        }, {
                                        'description': "Anfahrt",
                                        'quantity': 1,
                                        'unit_price': Decimal('0.05'),
                                        'taxes': [('add', [tax19.id])],
                                        }])],
                        }])
            # 1.5 × 33.67 = 50.505 → 50.50 (half to even, as a sale line)
            self.assertEqual(offer.lines[0].amount, Decimal('50.50'))
            self.assertEqual(offer.untaxed_amount, Decimal('50.55'))
            # 19 % of 50.505 + 0.05 (the lines' quantity × price, as on a
            # sale) = 9.60545 → 9.61
            self.assertEqual(offer.tax_amount, Decimal('9.61'))
            self.assertEqual(offer.total_amount, Decimal('60.16'))

    @with_transaction()
    def test_tax_rounding_line(self):
        "The company's tax rounding 'line' rounds the VAT line by line"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        AccountConfiguration = pool.get('account.configuration')
        company, tax19, _ = setup_offer_company()
        with set_company(company):
            customer = create_customer()

            def create_offer():
                offer, = Offer.create([{
                            'party': customer.id,
                            'title': "Reinigung",
                            'lines': [('create', [{
                                            'description': description,
                                            'quantity': 1,
                                            'unit_price': Decimal('0.50'),
                                            'taxes': [('add', [tax19.id])],
                                            }
                                        for description in [
                                            "Briefkasten", "Klingelschild"]
                                        ])],
                            }])
                return offer
            # 19 % of 0.50 = 0.095: 0.19 on the sum, 0.10 + 0.10 per line
            offer = create_offer()
            self.assertEqual(offer.tax_amount, Decimal('0.19'))
            config = AccountConfiguration(1)
            config.tax_rounding = 'line'
            config.save()
            offer = create_offer()
            self.assertEqual(offer.untaxed_amount, Decimal('1.00'))
            self.assertEqual(offer.tax_amount, Decimal('0.20'))
            self.assertEqual(offer.total_amount, Decimal('1.20'))

    @with_transaction()
    def test_unit_price_in_currency_digits(self):
        "Unit prices have the digits of the currency: cents for EUR"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Line = pool.get('buero365.offer.line')
        company, tax19, _ = setup_offer_company()
        with set_company(company):
            # The client shows unit prices as it shows amounts.
            digits = Line.fields_get(['unit_price', 'amount'])
            self.assertEqual(
                digits['unit_price']['digits'], digits['amount']['digits'])
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Reinigung",
                        'lines': [('create', [{
                                        'description': "Fensterreinigung",
                                        'quantity': 1,
                                        'unit_price': Decimal('33.35'),
                                        }])],
                        }])
            line, = offer.lines
            self.assertEqual(line.currency.digits, 2)
            with self.assertRaises(ValidationError) as context:
                Line.write([line], {'unit_price': Decimal('33.335')})
            self.assertIn("Unit Price", context.exception.message)

    @with_transaction()
    def test_on_change_lines_shows_totals(self):
        "The form shows the totals before the offer is saved"
        pool = Pool()
        pool.get('buero365.offer')
        Line = pool.get('buero365.offer.line')
        company, tax19, _ = setup_offer_company()
        with set_company(company):
            offer = self._offer(create_customer())
            offer.currency = company.currency
            offer.lines = [Line(
                    description="Endreinigung", quantity=1,
                    unit_price=Decimal('250'), discount_rate=Decimal('0.2'),
                    taxes=[tax19])]
            offer.on_change_lines()
            self.assertEqual(offer.untaxed_amount, Decimal('200.00'))
            self.assertEqual(offer.tax_amount, Decimal('38.00'))
            self.assertEqual(offer.total_amount, Decimal('238.00'))

    @with_transaction()
    def test_product_fills_line(self):
        "Choosing an existing service fills price, unit and taxes"
        pool = Pool()
        Line = pool.get('buero365.offer.line')
        company, tax19, _ = setup_offer_company()
        with set_company(company):
            truck = create_service(
                "LKW 7,5 t inkl. Fahrer", '89.00', taxes=[tax19])
            offer = self._offer(create_customer())
            offer.company = company
            line = Line(offer=offer, product=truck)
            line.on_change_product()
            self.assertEqual(line.unit_price, Decimal('89.00'))
            self.assertEqual(line.unit, truck.default_uom)
            self.assertEqual(line.description, "LKW 7,5 t inkl. Fahrer")
            self.assertEqual(list(line.taxes), [tax19])

    @with_transaction()
    def test_free_text_line_default_tax(self):
        "A free-text service gets the company's default tax, a product its own"
        pool = Pool()
        Line = pool.get('buero365.offer.line')
        company, tax19, tax7 = setup_offer_company()
        with set_company(company):
            boxes = create_service("Umzugskartons", '2.50', taxes=[tax7])
            offer = self._offer(create_customer())
            offer.company = company
            # Without a default revenue account there is nothing to apply.
            line = Line(offer=offer)
            line.on_change_offer()
            self.assertEqual(list(line.taxes), [])
            offer.lines = [line]
            self.assertTrue(offer.on_change_with_lines_without_tax())

            set_default_tax(company, tax19)
            line = Line(offer=offer)
            line.on_change_offer()
            self.assertEqual(list(line.taxes), [tax19])
            line.product = boxes
            line.on_change_product()
            self.assertEqual(list(line.taxes), [tax7])
            # Back to free text: the default tax again.
            line.product = None
            line.on_change_product()
            self.assertEqual(list(line.taxes), [tax19])
            offer.lines = [line]
            self.assertFalse(offer.on_change_with_lines_without_tax())

    @with_transaction()
    def test_customer_tax_rule_applies(self):
        "The customer's tax rule replaces the default tax (e.g. no VAT)"
        pool = Pool()
        Line = pool.get('buero365.offer.line')
        Rule = pool.get('account.tax.rule')
        company, tax19, tax7 = setup_offer_company()
        with set_company(company):
            set_default_tax(company, tax19)
            rule = Rule(name="Ermäßigt", kind='sale', company=company,
                lines=[{'origin_tax': tax19, 'tax': tax7}])
            rule.save()
            customer = create_customer()
            customer.customer_tax_rule = rule
            customer.save()
            offer = self._offer(customer)
            offer.company = company
            line = Line(offer=offer)
            line.on_change_offer()
            self.assertEqual(list(line.taxes), [tax7])

    @with_transaction()
    def test_address_country_in_reader_language(self):
        "Staff read the country of a service address in their language"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Address = pool.get('buero365.offer.address')
        company, _, _ = setup_offer_company()
        germany = create_germany()
        with set_company(company):
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Umzug",
                        'addresses': [('create', [{
                                        'street': "Domstraße 1",
                                        'postal_code': "50667",
                                        'city': "Köln",
                                        }])],
                        }])
            address, = offer.addresses
            self.assertEqual(address.country, germany)
            for language, name in [
                    ('en', "Germany"), ('de', "Deutschland"),
                    ('fr', "Allemagne")]:
                with Transaction().set_context(language=language):
                    address = Address(address.id)
                    self.assertEqual(
                        address.full_address,
                        f"Domstraße 1\n50667 Köln\n{name}")
                    self.assertTrue(address.country.rec_name.endswith(name))

    @with_transaction()
    def test_number_defaults_and_customer_contacts(self):
        "Offers are numbered, valid for the configured days and add contacts"
        pool = Pool()
        pool.get('buero365.offer')
        Configuration = pool.get('buero365.offer.configuration')
        Date = pool.get('ir.date')
        company, _, _ = setup_offer_company()
        with set_company(company):
            config = Configuration(1)
            config.validity_days = 14
            config.default_terms = "<p>Es gelten unsere AGB.</p>"
            config.save()
            customer = create_customer("Erika Mustermann")
            offer1 = self._offer(
                customer, email='erika@example.de', phone='+49 30 1234567')
            offer1.save()
            offer2 = self._offer(customer)
            offer2.save()

            year = Date.today().year
            prefix, _, counter = offer1.number.rpartition('-')
            self.assertEqual(prefix, f'AN-{year}')
            self.assertEqual(len(counter), 5)
            # PostgreSQL sequences do not roll back: compare, don't count
            self.assertEqual(
                offer2.number, f'AN-{year}-{int(counter) + 1:05d}')
            self.assertEqual(
                offer1.valid_until, Date.today() + dt.timedelta(days=14))
            self.assertEqual(offer1.terms, "<p>Es gelten unsere AGB.</p>")
            self.assertEqual(offer1.state, 'open')
            self.assertEqual(offer1.email_state, 'pending')
            self.assertEqual(offer1.revision, 1)
            self.assertEqual(customer.email, 'erika@example.de')
            self.assertEqual(customer.phone, '+49 30 1234567')
            # the second offer took the customer's email as default
            self.assertEqual(offer2.email, 'erika@example.de')
            self.assertEqual(
                len([m for m in customer.contact_mechanisms
                        if m.type == 'email']), 1)

    @with_transaction()
    def test_search_box(self):
        "The search box finds offers by number, customer name or email"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            mueller = self._offer(
                create_customer("Müller Umzüge GmbH"),
                email='info@mueller-umzuege.de')
            mueller.save()
            schmidt = self._offer(
                create_customer("Schmidt Reinigung"),
                email='kontakt@schmidt.example')
            schmidt.save()

            def find(text):
                return Offer.search([('rec_name', 'ilike', f'%{text}%')])

            self.assertEqual(find('müll'), [mueller])
            self.assertEqual(find('UMZÜGE'.lower()), [mueller])
            self.assertEqual(find('MUELLER-UMZUEGE'), [mueller])
            self.assertEqual(find('schmidt'), [schmidt])
            self.assertEqual(find(schmidt.number), [schmidt])
            self.assertEqual(find('nobody'), [])
            # Case and accents are ignored the same way on every backend,
            # and German users write the umlauts out.
            self.assertEqual(find('MÜLLER'), [mueller])
            self.assertEqual(find('Muller umzuge'), [mueller])
            self.assertEqual(find('mueller umzuege'), [mueller])
            self.assertEqual(find('umzüge gmbh'), [mueller])
            # A fragment does not span two texts of an offer.
            self.assertEqual(find('gmbh info'), [])
            # Without wildcards: one of the texts, whole.
            self.assertEqual(Offer.search(
                    [('rec_name', 'ilike', schmidt.number.lower())]),
                [schmidt])
            self.assertEqual(Offer.search(
                    [('rec_name', 'ilike', 'schmidt')]), [])
            self.assertEqual(Offer.search(
                    [('rec_name', 'ilike', 'schmidt%')]), [schmidt])
            self.assertEqual(
                Offer.search([('rec_name', 'not ilike', '%müller%')]),
                [schmidt])

            # Renaming the customer, changing the email: found by the new.
            mueller.party.name = "Özdemir Transporte"
            mueller.party.save()
            schmidt.email = 'buero@straße.example'
            schmidt.save()
            self.assertEqual(find('özdemir'), [mueller])
            self.assertEqual(find('OZDEMIR'), [mueller])
            self.assertEqual(find('oezdemir'), [mueller])
            self.assertEqual(find('müll'), [])
            self.assertEqual(find('strasse'), [schmidt])
            self.assertEqual(find('schmidt.example'), [])

    @with_transaction()
    def test_customer_picker(self):
        "The customer picker finds a customer by name, code, email or phone"
        pool = Pool()
        Party = pool.get('party.party')
        Contact = pool.get('party.contact_mechanism')
        mueller = create_customer("Müller Umzüge GmbH", 'info@mueller.de')
        other = create_customer("Schmidt Reinigung")

        def find(text):
            return Party.search([('rec_name', 'ilike', f'%{text}%'),
                    ('id', 'in', [mueller.id, other.id])])

        self.assertEqual(find('MÜLLER'), [mueller])
        self.assertEqual(find('mueller umzuege'), [mueller])
        self.assertEqual(find('Muller'), [mueller])
        self.assertEqual(find('info@mueller'), [mueller])
        self.assertEqual(find(other.code), [other])
        self.assertEqual(find('nobody'), [])
        # Rename, a new phone number, a contact removed: found by the new.
        phone, = Contact.create([{'party': other.id, 'type': 'phone',
                    'value': '+49 30 9876543'}])
        self.assertEqual(find('9876543'), [other])
        Contact.delete([phone])
        self.assertEqual(find('9876543'), [])
        other.name = "Özdemir Transporte"
        other.save()
        self.assertEqual(find('oezdemir'), [other])
        self.assertEqual(find('schmidt'), [])

    @with_transaction()
    def test_order_by_customer_and_date(self):
        "The list sorts by creation date (latest first) and customer A–Z"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offers = []
            for name in ["Zander", "Albers", "Meier"]:
                offer = self._offer(create_customer(name))
                offer.save()
                offers.append(offer)
            self.assertEqual(Offer.search([]), offers[::-1])
            self.assertEqual(
                [o.party.name for o in Offer.search(
                        [], order=[('party', 'ASC')])],
                ["Albers", "Meier", "Zander"])
            self.assertEqual(
                Offer.search([], order=[('create_date', 'ASC'),
                        ('id', 'ASC')]), offers)

    @with_transaction()
    def test_bad_input_refused(self):
        "Bad input is refused with a clear error and nothing is saved"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Date = pool.get('ir.date')
        company, _, _ = setup_offer_company()
        with set_company(company):
            customer = create_customer()
            now = dt.datetime(2026, 12, 1, 8, 0)
            cases = [
                ({'title': None}, RequiredValidationError),
                ({'party': None}, RequiredValidationError),
                ({'email': 'not-an-email'}, ValidationError),
                ({'email': 'a@b'}, ValidationError),
                ({'start': now, 'end': now - dt.timedelta(hours=1)},
                    DomainValidationError),
                ({'valid_until': Date.today() - dt.timedelta(days=1)},
                    ValidationError),
                ({'lines': [('create', [{
                                    'description': "x", 'quantity': -1,
                                    'unit_price': Decimal(1)}])]},
                    DomainValidationError),
                ({'lines': [('create', [{
                                    'description': "x", 'quantity': 1,
                                    'unit_price': Decimal(-5)}])]},
                    DomainValidationError),
                ({'lines': [('create', [{
                                    'description': "x", 'quantity': 1,
                                    'unit_price': Decimal(5),
                                    'discount_rate': Decimal('1.5')}])]},
                    DomainValidationError),
                ({'lines': [('create', [{
                                    'description': "x", 'quantity': 1,
                                    'unit_price': Decimal(5),
                                    'discount_rate': Decimal('-0.1')}])]},
                    DomainValidationError),
                ]
            for values, error in cases:
                with self.subTest(values=values):
                    record = {
                        'party': customer.id,
                        'title': "Umzug",
                        }
                    record.update(values)
                    if record['party'] is None:
                        del record['party']
                    if record['title'] is None:
                        del record['title']
                    with savepoint(), self.assertRaises(error) as cm:
                        Offer.create([record])
                    self.assertTrue(cm.exception.message)
            self.assertEqual(Offer.search([]), [])

    @with_transaction()
    def test_email_error_is_translated_message(self):
        "A malformed email names the address in the error"
        pool = Pool()
        pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer = self._offer(create_customer(), email='max@@example.de')
            with self.assertRaises(ValidationError) as cm:
                offer.save()
            self.assertIn('max@@example.de', cm.exception.message)

    @with_transaction()
    def test_email_newlines_stripped(self):
        "A newline cannot smuggle a second address into the email field"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Umzug",
                        'phone': "+49 30\n123",
                        }])
            self.assertEqual(offer.phone, "+49 30 123")
            with self.assertRaises(ValidationError):
                Offer.create([{
                            'party': create_customer().id,
                            'title': "Umzug",
                            'email': "a@example.de\nBcc: evil@example.com",
                            }])

    @with_transaction()
    def test_status_changes_recorded(self):
        "Staff change the status; who and when is recorded"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        User = pool.get('res.user')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer = self._offer(create_customer())
            offer.save()
            Offer.accept([offer])
            self.assertEqual(offer.state, 'accepted')
            # accepting again changes nothing and records nothing
            Offer.accept([offer])
            Offer.reject([offer])
            self.assertEqual(offer.state, 'accepted')
            self.assertEqual(len(offer.history), 1)
            Offer.reopen([offer])
            Offer.reject([offer])
            self.assertEqual(offer.state, 'rejected')
            Offer.reopen([offer])
            Offer.expire([offer])
            self.assertEqual(offer.state, 'expired')

            history = sorted(offer.history, key=lambda h: h.id)
            self.assertEqual(
                [(h.from_state, h.to_state) for h in history],
                [('open', 'accepted'), ('accepted', 'open'),
                    ('open', 'rejected'), ('rejected', 'open'),
                    ('open', 'expired')])
            user = User(Transaction().user)
            self.assertTrue(all(h.user == user for h in history))
            self.assertTrue(all(h.date for h in history))

    @with_transaction()
    def test_closed_offer_is_frozen(self):
        "An accepted offer cannot be changed or deleted"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Line = pool.get('buero365.offer.line')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Umzug",
                        'lines': [('create', [{
                                        'description': "Helfer",
                                        'quantity': 1,
                                        'unit_price': Decimal(40)}])],
                        }])
            Offer.accept([offer])
            line, = offer.lines
            with self.assertRaises(AccessError):
                Line.write([line], {'quantity': 5})
            with self.assertRaises(AccessError):
                Line.create([{'offer': offer.id, 'description': "x",
                            'quantity': 1, 'unit_price': Decimal(1)}])
            with self.assertRaises(AccessError):
                Offer.delete([offer])
            self.assertEqual(Offer(offer.id).untaxed_amount, Decimal('40.00'))

    @with_transaction()
    def test_closed_offer_shows_rich_text(self):
        "A closed offer's rich text is shown rendered, read-only, in sao"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Umzug",
                        'content': (
                            '<h2>Leistungen</h2><p>Umzug nach <strong>Bonn'
                            '</strong><script>alert(1)</script></p>'
                            '<ul><li>Kartons</li><li>Möbel</li></ul>'),
                        'terms': '<p>Zahlbar in <em>14 Tagen</em>.</p>',
                        }])
            Offer.accept([offer])
            offer = Offer(offer.id)
            # What sao's richtext widget keeps: b, i, u, font, div, br.
            self.assertEqual(offer.content_preview,
                '<div><b>Leistungen</b></div><div>Umzug nach <b>Bonn</b>'
                '</div><div><br></div>'
                '<div><div>• Kartons</div><div>• Möbel</div></div>')
            self.assertEqual(offer.terms_preview,
                '<div>Zahlbar in <i>14 Tagen</i>.</div>')
            self.assertEqual(offer.additional_details_preview, '')

            arch = Offer.fields_view_get(view_type='form')['arch']
            form = etree.fromstring(arch)
            for name in ['content', 'additional_details', 'terms']:
                preview, = form.xpath(f'//field[@name="{name}_preview"]')
                self.assertEqual(preview.get('widget'), 'richtext')
                self.assertEqual(preview.get('readonly'), '1')

    @with_transaction()
    def test_configuration_shows_default_terms(self):
        "The configuration shows its default terms rendered"
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        company, _, _ = setup_offer_company()
        with set_company(company):
            configuration = Configuration(1)
            configuration.default_terms = (
                '<p><strong>§ 1</strong> Geltungsbereich</p><p>§ 2</p>')
            configuration.save()
            self.assertEqual(Configuration(1).default_terms_preview,
                '<div><b>§ 1</b> Geltungsbereich</div><div><br></div>'
                '<div>§ 2</div>')

    @with_transaction()
    def test_copy_starts_fresh(self):
        "A copied offer is a new open offer with its own number"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Umzug",
                        'lines': [('create', [{
                                        'description': "Helfer",
                                        'quantity': 2,
                                        'unit_price': Decimal(40)}])],
                        }])
            Offer.accept([offer])
            copy, = Offer.copy([offer])
            self.assertEqual(copy.state, 'open')
            self.assertNotEqual(copy.number, offer.number)
            self.assertEqual(copy.untaxed_amount, Decimal('80.00'))
            self.assertEqual(copy.history, ())

    @with_transaction()
    def test_number_unique_per_company(self):
        "Two offers of one company cannot share a number"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            customer = create_customer()
            Offer.create([{'party': customer.id, 'title': "A",
                        'number': 'X-1'}])
            with self.assertRaises(SQLConstraintError):
                Offer.create([{'party': customer.id, 'title': "B",
                            'number': 'X-1'}])

    @with_transaction()
    def test_companies_see_only_their_offers(self):
        "A user sees only the offers of their companies"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company1, _, _ = setup_offer_company("Umzüge Nord")
        company2 = create_company(
            name="Reinigung Süd", currency=company1.currency)
        with set_company(company1):
            offer1, = Offer.create([{
                        'party': create_customer().id, 'title': "Nord"}])
        with set_company(company2):
            offer2, = Offer.create([{
                        'party': create_customer().id, 'title': "Süd"}])
        with set_company(company1), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(Offer.search([]), [offer1])
        with set_company(company2), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(Offer.search([]), [offer2])

    @with_transaction()
    def test_expire_due_per_company(self):
        "A cron set for two companies expires each one's offers in its day"
        pool = Pool()
        Cron = pool.get('ir.cron')
        Offer = pool.get('buero365.offer')
        company1, _, _ = setup_offer_company("Umzüge Nord")
        company2 = create_company(
            name="Reinigung Süd", currency=company1.currency)
        offers = []
        for company in [company1, company2]:
            with set_company(company):
                offers += Offer.create([{
                            'party': create_customer().id, 'title': "Umzug"}])
        table = Offer.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.valid_until], [dt.date.today() - dt.timedelta(days=2)]))
        cron, = Cron.search([('method', '=', 'buero365.offer|expire_due')])
        cron.companies = [company1, company2]
        cron.save()
        expired = []
        expire_batch = Offer._expire_batch

        def spy(ids):
            ids = expire_batch(ids)
            expired.extend(
                (Transaction().context.get('company'), o.company.id)
                for o in Offer.browse(ids))
            return ids
        with patch.object(Offer, '_expire_batch', spy):
            Cron.run_once([cron])
        # once each, with its own company in the context
        self.assertEqual(sorted(expired), [
                (company1.id, company1.id), (company2.id, company2.id)])
        self.assertEqual(
            [o.state for o in Offer.browse(offers)], ['expired'] * 2)

        # Called without a company (a script): every company, once.
        with set_company(company1):
            offers = Offer.create([{
                        'party': create_customer().id, 'title': "Umzug"}])
        cursor.execute(*table.update(
                [table.valid_until], [dt.date.today() - dt.timedelta(days=2)],
                where=table.id == offers[0].id))
        with Transaction().set_context(company=None):
            self.assertEqual(Offer.expire_due(), 1)
        self.assertEqual(Offer(offers[0].id).state, 'expired')

    @with_transaction()
    def test_created_day_in_company_time_zone(self):
        "Searching by day of creation takes whole days in the company's zone"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        company.timezone = 'Europe/Berlin'
        company.save()
        with set_company(company):
            customer = create_customer()
            late, early, next_day = Offer.create([
                    {'party': customer.id, 'title': t} for t in "ABC"])
            # 23:30 and 00:30 in Berlin on 4 and 5 December (UTC + 1).
            table = Offer.__table__()
            cursor = Transaction().connection.cursor()
            for offer, created in [
                    (late, dt.datetime(2026, 12, 4, 22, 30)),
                    (early, dt.datetime(2026, 12, 4, 23, 30)),
                    (next_day, dt.datetime(2026, 12, 5, 23, 30))]:
                cursor.execute(*table.update(
                        [table.create_date], [created],
                        where=table.id == offer.id))
            for cache in Transaction().cache.values():
                cache.clear()
            self.assertEqual(
                [o.create_day for o in Offer.browse([late, early, next_day])],
                [dt.date(2026, 12, 4), dt.date(2026, 12, 5),
                    dt.date(2026, 12, 6)])

            def found(*domain):
                return set(Offer.search(list(domain)))
            day4, day5 = dt.date(2026, 12, 4), dt.date(2026, 12, 5)
            self.assertEqual(found(('create_day', '=', day5)), {early})
            self.assertEqual(
                found(('create_day', '>=', day4), ('create_day', '<=', day5)),
                {late, early})
            self.assertEqual(found(('create_day', '<', day5)), {late})
            self.assertEqual(found(('create_day', '>', day5)), {next_day})
            self.assertEqual(
                found(('create_day', '!=', day5)), {late, next_day})
            self.assertEqual(
                found(('create_day', 'in', [day4, dt.date(2026, 12, 6)])),
                {late, next_day})
            self.assertEqual(
                Offer.search([('id', 'in', [late.id, early.id])],
                    order=[('create_day', 'DESC')]), [early, late])


del ModuleTestCase
