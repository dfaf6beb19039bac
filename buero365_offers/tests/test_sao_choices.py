# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Optional and alternative services in the real sao web client, in
German: staff make a service optional and untick it, make the trucks
alternatives of the group "LKW", see the total of the chosen set and save
it."""
from decimal import Decimal

from trytond.pool import Pool

from .sao import SaoTestCase
from .tools import create_offer, setup_admin_company


class SaoChoicesTestCase(SaoTestCase):
    "The choice columns of an offer's services in sao"

    @classmethod
    def setUpDatabase(cls):
        setup_admin_company()

    @classmethod
    def setUpData(cls):
        Offer = Pool().get('buero365.offer')
        offer = create_offer()
        taxes = [t.id for t in offer.lines[0].taxes]
        Offer.write([offer], {'lines': [('create', [{
                            'description': description, 'quantity': 1,
                            'unit_price': Decimal(price),
                            'taxes': [('add', taxes)],
                            } for description, price in [
                            ("Verpackungsmaterial", '30'),
                            ("LKW 7,5 t", '100'), ("LKW 12 t", '150')]])]})
        cls.offer = {'id': offer.id, 'number': offer.number}

    def edit_row(self, lines, text):
        "Start editing the row of the list lines that shows text."
        cell = lines.locator('tbody td').filter(has_text=text).first
        # A click selects the row, the next one edits it.
        cell.click()
        self.wait_idle()
        lines.locator('tbody tr.selected td').filter(
            has_text=text).first.click()
        self.wait_idle()
        return lines.locator('tbody tr.selected')

    def total(self):
        return self.tab().locator(
            'input[name="total_amount"][type="text"]').input_value()

    def set_choice(self, lines, text, choice, group=None, selected=None):
        row = self.edit_row(lines, text)
        row.locator('select[name="choice"]').select_option(label=choice)
        self.wait_idle()
        if group:
            group_input = row.locator('input[name="alternative_group"]')
            group_input.fill(group)
            group_input.press('Tab')
            self.wait_idle()
        if selected is not None:
            row.locator('input[name="selected"]').set_checked(selected)
            self.wait_idle()

    def test_choices(self):
        "Optional and alternative services change the offer's total"
        self.open_menu("Angebote", "Angebote")
        self.open_record(self.offer['number'])
        lines = self.one2many("Leistungen")
        self.show_all_rows(lines)
        # 90 + 30 + 100 + 150 net and 19 % USt
        self.assertEqual(self.total(), "440,30")
        self.set_choice(lines, "Verpackungsmaterial", "Optional",
            selected=False)
        self.assertEqual(self.total(), "404,60")
        self.set_choice(lines, "LKW 7,5 t", "Alternative", group="LKW")
        self.set_choice(lines, "LKW 12 t", "Alternative", group="LKW",
            selected=False)
        # 90 + 100 net
        self.assertEqual(self.total(), "226,10")
        self.save_record()
        self.screenshot('offer-choices')
        self.assertClientOk()
        offer, = self.rpc('model.buero365.offer.read', [self.offer['id']],
            ['total_amount'])
        self.assertEqual(offer['total_amount'], Decimal('226.10'))
        lines = self.rpc('model.buero365.offer.line.search_read',
            [('offer', '=', self.offer['id'])], 0, None, None,
            ['description', 'choice', 'alternative_group', 'selected'])
        self.assertEqual(
            sorted((l['description'], l['choice'], l['alternative_group'],
                    bool(l['selected'])) for l in lines), [
                ("LKW 12 t", 'alternative', "LKW", False),
                ("LKW 7,5 t", 'alternative', "LKW", True),
                ("Umzugshelfer", '', None, True),
                ("Verpackungsmaterial", 'optional', None, False),
                ])
