# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The sale order of an accepted offer in the real sao web client, in
German: staff click "Verkauf erstellen" on the accepted offer, the sale
opens with the offer's services, reference and link to the offer; the
button is gone and the offer lists its sale."""
from trytond.pool import Pool

from .sao import SaoTestCase
from .tools import create_offer, setup_admin_company


class SaoSaleTestCase(SaoTestCase):
    "The Create Sale button of an accepted offer in sao"

    @classmethod
    def setUpDatabase(cls):
        setup_admin_company()

    @classmethod
    def setUpData(cls):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Address = pool.get('party.address')
        offer = create_offer()
        # Tryton quotes a sale only with an invoice address.
        Address.create([{'party': offer.party.id, 'city': "Köln"}])
        Offer.accept([offer])
        cls.offer = {'id': offer.id, 'number': offer.number}

    def test_create_sale(self):
        "Verkauf erstellen opens the sale with the service; no client error"
        self.open_menu("Angebote", "Angebote")
        self.open_domain_tab("Angenommen")
        self.open_record(self.offer['number'])
        button = self.tab().locator(
            'button[name="create_sale"]:visible').first
        self.assertIn("Verkauf erstellen", button.text_content())
        button.click()
        self.wait_idle()
        self.wait_until('''() => {
            const s = Sao.Tab.tabs.get_current().screen;
            return s.model_name == 'sale.sale'
                && s.current_view.view_type == 'form'
                && s.current_record && s.current_record.id >= 0; }''')
        sale = self.tab()
        self.assertEqual(
            sale.locator('input[name="reference"]').input_value(),
            self.offer['number'])
        self.assertIn(self.offer['number'],
            sale.locator('input[name="offer"]').input_value())
        # The free-text service: 2 × 45,00 (Tryton's list of sale lines
        # shows the product column, empty here, not the description).
        lines = self.one2many().inner_text()
        self.assertIn("45,0000", lines)
        self.assertIn("90,00", lines)
        self.assertClientOk()

        # Back on the offer: its sale is listed, the button gone.
        self.close_tab()
        self.tab().locator('button#reload').click()
        self.wait_idle()
        self.assertEqual(self.tab().locator(
                'button[name="create_sale"]:visible').count(), 0)
        self.page_of("Status")
        listed = self.one2many("Verkäufe").inner_text()
        self.assertIn("Erika Mustermann", listed)
        self.assertIn("90,00", listed)
        sales = self.rpc('model.sale.sale.search_read',
            [('offer', '=', self.offer['id'])], 0, None, None,
            ['state', 'reference'])
        self.assertEqual(
            [(s['state'], s['reference']) for s in sales],
            [('quotation', self.offer['number'])])
        self.assertClientOk()
