# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Offer templates and Duplicate in the real sao web client, in German:
the demo's templates (list and form, job types), a new offer filled by
choosing a template, and an accepted offer duplicated from the toolbar."""
import datetime as dt

from trytond.pool import Pool
from trytond.transaction import Transaction

from .sao import SaoTestCase, expect

CUSTOMER = "Familie Brandt"
ACCEPTED = "Ladenumzug Brandt"


class SaoTemplateTestCase(SaoTestCase):
    "Offer templates and Duplicate in sao"
    demo = True

    def lines(self, o2m, count=None):
        """The texts of the records listed in the One2Many o2m, cell by
        cell (not sao's "More" row); first wait for count of them."""
        if count is not None:
            expect(self.list_rows(o2m)).to_have_count(count)
        return [[c.strip() for c in row.split('\t') if c.strip()]
            for row in self.list_rows(o2m).all_inner_texts()]

    @classmethod
    def setUpData(cls):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Party = pool.get('party.party')
        Line = pool.get('buero365.offer.line')
        Note = pool.get('buero365.offer.note')
        # the demo's offer templates among the rest (demo)
        company = cls.demo_info['company']
        with Transaction().set_context(
                company=company.id, companies=[company.id]):
            party, = Party.create([{'name': CUSTOMER}])
            offer = Offer(party=party, title=ACCEPTED,
                email='brandt@example.de')
            line = Line(offer=offer, description="Umzugshelfer",
                quantity=4, unit_price=40)
            offer.lines = [line]
            offer.save()
            Note.create([{'offer': offer.id, 'title': "Schlüssel beim "
                        "Hausmeister"}])
            Offer.accept([offer])
            cls.accepted = offer.id

    def read_offers(self, domain, names):
        return self.rpc('model.buero365.offer.search_read', domain, 0, None,
            None, names)

    def test_1_templates(self):
        "Offers / Configuration: the demo's templates, a template's form"
        self.open_menu("Angebote", "Einstellungen", "Auftragsarten")
        self.assertEqual(self.list_column('name'),
            ["Umzug", "Reinigung", "Entrümpelung"])
        self.close_tab()

        self.open_menu("Angebote", "Einstellungen", "Angebotsvorlagen")
        self.assertEqual(sorted(self.list_column('name')), [
                "Endreinigung (Wohnung/Büro)", "Entrümpelung",
                "Privatumzug"])
        self.assertIn("Umzug", self.list_column('job_type'))
        self.open_record("Privatumzug")
        form = self.tab()
        self.assertEqual(form.locator('input[name="title"]').input_value(),
            "Privatumzug {customer_name}")
        services = self.lines(self.one2many("Leistungen"), 8)
        self.assertEqual(services[0][0], "Umzugshelfer")
        # The rendered content, with its placeholders.
        self.assertIn("{start_date}", form.locator(
                '.form-richtext, .richtext').first.inner_text())
        self.screenshot('template-form')
        self.page_of("Einsatzadressen")
        self.assertEqual([r[0] for r in self.lines(self.one2many(), 2)],
            ["Auszug", "Einzug"])

    def test_2_offer_from_template(self):
        "A new offer: the customer, the date, then the template fills it"
        self.open_menu("Angebote", "Angebote")
        self.new_record()
        form = self.tab()
        self.set_many2one(form, 'party', CUSTOMER)
        form.locator('input[name="start"] ~ .icon-input '
            'input[type="datetime-local"]').fill('2027-03-12T08:00')
        self.wait_idle()
        self.set_many2one(form, 'template', "Privatum")
        self.wait_until('''() => document.querySelector(
            '#tabcontent > .tab-pane.active input[name="title"]').value''')
        self.assertEqual(form.locator('input[name="title"]').input_value(),
            f"Privatumzug {CUSTOMER}")
        services = self.lines(self.one2many("Leistungen"), 8)
        self.assertEqual([r[0] for r in services][:2],
            ["Umzugshelfer", "LKW 7,5 t inkl. Fahrer"])
        # 1.446,40 net and 19 % VAT, as the demo's services cost.
        self.assertEqual(form.locator(
                'input[name="total_amount"][type="text"]').input_value(),
            "1.721,22")

        # The address labels are there to complete.
        self.page_of("Einsatzadressen")
        addresses = self.one2many()
        self.assertEqual([r[0] for r in self.lines(addresses, 2)],
            ["Auszug", "Einzug"])
        rows = addresses.locator('tbody tr:has(td.selection-state input)')
        for index, (street, code, city) in enumerate([
                ("Lindenstraße 12", "10115", "Berlin"),
                ("Brandenburger Straße 5", "14467", "Potsdam")]):
            # A click selects the row, the next one edits it.
            cell = rows.nth(index).locator('td').filter(has_text="zug").first
            cell.click()
            self.wait_idle()
            cell = addresses.locator('tbody tr.selected td').filter(
                has_text="zug").first
            cell.click()
            row = addresses.locator('tbody tr.selected')
            row.locator('input[name="street"]').fill(street)
            row.locator('input[name="postal_code"]').fill(code)
            row.locator('input[name="city"]').fill(city)
            row.locator('input[name="city"]').press('Tab')
            self.wait_idle()
        self.save_record()

        offer, = self.read_offers([('party.name', '=', CUSTOMER),
                ('id', '!=', self.accepted)],
            ['title', 'content', 'template.name', 'total_amount'])
        self.assertEqual(offer['template.']['name'], "Privatumzug")
        self.assertIn("12.03.2027", offer['content'])
        self.assertIn(
            "Einzug: Brandenburger Straße 5, 14467 Potsdam",
            offer['content'])
        self.assertNotIn("{", offer['content'])
        self.page_of("Angebot")
        self.screenshot('offer-from-template')

    def test_3_duplicate(self):
        "Duplicate an accepted offer: a new open offer, nothing answered"
        self.open_menu("Angebote", "Angebote")
        # The only accepted offer (no search typed: with a search in the
        # address, sao 8.0.11 in this Chromium opens the form in a new tab).
        self.open_domain_tab("Angenommen")
        original, = self.read_offers([('id', '=', self.accepted)],
            ['number'])
        self.open_record(original['number'])
        form = self.tab()
        # A closed offer's template cannot be chosen any more.
        self.assertFalse(
            form.locator('input[name="template"]').is_editable())
        # Duplizieren, in the menu of the tab's title.
        form.locator('.navbar-brand.dropdown-toggle').first.click()
        form.locator('ul.dropdown-menu a#copy').filter(
            has_text="Duplizieren").click()
        self.wait_until('''(number) => {
            const record = Sao.Tab.tabs.get_current().screen.current_record;
            return record && record.id >= 0
                && record.field_get_client('number') != number; }''',
            original['number'])
        number = form.locator('input[name="number"]').input_value()
        self.assertNotEqual(number, original['number'])
        self.assertEqual(form.locator('select[name="state"]').evaluate(
                'e => e.options[e.selectedIndex].text'), "Offen")
        self.assertEqual(form.locator('input[name="title"]').input_value(),
            ACCEPTED)
        copy, = self.read_offers([('number', '=', number)], [
                'state', 'signed_by', 'history', 'notes', 'lines',
                'valid_until', 'total_amount'])
        self.assertEqual((copy['state'], copy['signed_by'], copy['history'],
                copy['notes'], len(copy['lines'])),
            ('open', None, [], [], 1))
        self.assertGreaterEqual(copy['valid_until'], dt.date.today())
