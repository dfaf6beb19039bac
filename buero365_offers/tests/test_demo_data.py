# This file is part of Büro 365 Offers.  See the README for licence terms.
"Tests of the demo data generator scripts/demo_data.py"
import datetime as dt
import importlib.util
from pathlib import Path

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase,
    activate_module,
    drop_db,
    with_transaction,
)
from trytond.transaction import Transaction

SCRIPT = Path(__file__).parents[2] / 'scripts' / 'demo_data.py'
SETUP_SCRIPT = SCRIPT.with_name('demo_setup.py')
NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone.utc)


def load_demo_data(script=SCRIPT):
    "Import scripts/demo_data.py, which is not part of the package."
    spec = importlib.util.spec_from_file_location(
        f'buero365_{script.stem}', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DemoDataTestCase(TestCase):
    "Test the demo data generator"
    # Not a ModuleTestCase: its generic checks already run in test_module.

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['buero365_offers'])
        cls.demo = load_demo_data()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    @with_transaction()
    def test_generate_offers(self):
        "The generator fills the database with offers a user can work with"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        Tax = pool.get('account.tax')
        Product = pool.get('product.product')

        info = self.demo.setup()
        created = self.demo.generate_offers(
            30, seed=42, batch=7, commit=False, progress=None, now=NOW)
        self.assertEqual(created, 30)

        company = info['company']
        with Transaction().set_context(company=company.id):
            offers = Offer.search([])
            self.assertEqual(len(offers), 30)
            self.assertEqual(len({o.number for o in offers}), 30)
            for offer in offers:
                with self.subTest(offer=offer.number):
                    self.assertTrue(offer.number.startswith('AN-'))
                    self.assertEqual(offer.company, company)
                    self.assertEqual(offer.currency.code, 'EUR')
                    self.assertTrue(offer.title)
                    self.assertTrue(offer.content.startswith('<p>'))
                    self.assertTrue(1 <= len(offer.lines) <= 6)
                    self.assertTrue(offer.party.email)
                    self.assertEqual(offer.email, offer.party.email)
                    self.assertEqual(
                        offer.customer_address.party, offer.party)
                    self.assertTrue(offer.addresses)
                    self.assertLessEqual(offer.start, offer.end)
                    self.assertGreaterEqual(
                        offer.valid_until, offer.create_date.date())
                    self.assertEqual(
                        (offer.untaxed_amount, offer.tax_amount,
                            offer.total_amount),
                        offer._compute_amounts())
                    self.assertGreater(offer.total_amount, 0)
                    self.assertTrue(offer.customer_url)
                    for line in offer.lines:
                        self.assertTrue(line.description)
                        self.assertEqual(len(line.taxes), 1)
                    if offer.state == 'open':
                        self.assertFalse(offer.history)
                    else:
                        self.assertEqual(
                            [(h.from_state, h.to_state)
                                for h in offer.history],
                            [('open', offer.state)])
                    if offer.state == 'rejected':
                        self.assertTrue(offer.rejection_reason)
                    # Valid as staff would have to set it.
                    Offer.check_deposit([offer])

            self.assertGreaterEqual(len({o.state for o in offers}), 3)
            self.assertGreaterEqual(
                len({o.lead_source for o in offers}), 3)
            self.assertTrue(any(l.product for o in offers for l in o.lines))
            self.assertTrue(
                any(not l.product for o in offers for l in o.lines))
            self.assertEqual(
                {o.deposit_type for o in offers}, {'none', 'percent'})

            # The search box finds an offer by a piece of the customer name
            offer = offers[0]
            fragment = offer.party.name.split()[-1][:4].lower()
            self.assertIn(
                offer, Offer.search([('rec_name', 'ilike', f'%{fragment}%')]))
            self.assertIn(
                offer.party,
                Party.search([('name', 'ilike', f'%{fragment}%')]))

            # A new offer through the ORM gets a number of its own
            product, = Product.search([('name', '=', "Umzugshelfer")])
            new, = Offer.create([{
                        'party': offer.party.id,
                        'title': "Umzug Leipzig → Dresden",
                        'lines': [('create', [{
                                        'product': product.id,
                                        'description': "Umzugshelfer",
                                        'quantity': 4,
                                        'unit': product.default_uom.id,
                                        'unit_price': product.list_price_used,
                                        'taxes': [('add', [
                                                        info['taxes']['19'].id
                                                        ])],
                                        }])],
                        }])
            self.assertNotIn(new.number, {o.number for o in offers})
            self.assertEqual(
                new.untaxed_amount, 4 * product.list_price_used)

        # Running it again adds offers but no second company, tax or product
        self.demo.setup()
        self.demo.generate_offers(
            5, seed=42, batch=7, commit=False, progress=None, now=NOW)
        self.assertEqual(Offer.search_count([]), 36)
        self.assertEqual(Company.search_count([]), 1)
        self.assertEqual(Tax.search_count([]), 2)
        self.assertEqual(
            Product.search_count([('name', '=', "Umzugshelfer")]), 1)

    @with_transaction()
    def test_demo_setup_taxes_and_countries(self):
        "The demo taxes free-text services and names countries in German"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Country = pool.get('country.country')
        Offer = pool.get('buero365.offer')
        Line = pool.get('buero365.offer.line')
        demo_setup = load_demo_data(SETUP_SCRIPT)
        Lang.write(Lang.search([('code', 'in', ['de', 'fr'])]), {
                'translatable': True})
        info = self.demo.setup()
        company = info['company']
        with Transaction().set_context(company=company.id):
            demo_setup.set_default_tax(company)
            demo_setup.import_countries()
            demo_setup.set_cron_companies(company)
            demo_setup.set_company_bank_account(company)
            demo_setup.create_sales_on_acceptance()
            offer = Offer(company=company, currency=company.currency,
                deposit_type='percent', deposit_value=30)
            self.assertEqual(offer.deposit_bank_account().iban,
                demo_setup.DEMO_IBAN)
            line = Line(offer=Offer(company=company))
            line.on_change_offer()
            self.assertEqual([t.name for t in line.taxes], ["USt 19 %"])

        self.assertGreater(Country.search([], count=True), 240)
        for language, names in [
                ('de', ["Deutschland", "Österreich", "Frankreich"]),
                ('fr', ["Allemagne", "Autriche", "France"]),
                ('en', ["Germany", "Austria", "France"]),
                ]:
            with Transaction().set_context(language=language):
                self.assertEqual(
                    [Country.search([('code', '=', c)])[0].name
                        for c in ['DE', 'AT', 'FR']], names)
        # the expiry cron runs for the demo company, once
        Cron = pool.get('ir.cron')
        cron, = Cron.search([('method', '=', 'buero365.offer|expire_due')])
        self.assertEqual(list(cron.companies), [company])
        # Again: nothing to do.
        demo_setup.REPORT.clear()
        with Transaction().set_context(company=company.id):
            demo_setup.set_default_tax(company)
            demo_setup.import_countries()
            demo_setup.set_cron_companies(company)
            demo_setup.set_company_bank_account(company)
            demo_setup.create_sales_on_acceptance()
        self.assertEqual(demo_setup.REPORT, [])
