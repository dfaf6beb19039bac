# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The deposit of an offer in the real sao web client, in German: staff
set it on the offer form, see its amount and the warning that the company
has no IBAN for a GiroCode, save it; a deposit above 100 % is refused with
the translated message."""
from decimal import Decimal

from .sao import SaoTestCase
from .tools import create_offer, setup_admin_company


class SaoDepositTestCase(SaoTestCase):
    "The deposit fields of the offer form in sao"
    # The size of the screenshots of doc/user.md.
    viewport = {'width': 1280, 'height': 800}

    @classmethod
    def setUpDatabase(cls):
        setup_admin_company()

    @classmethod
    def setUpData(cls):
        offer = create_offer()
        cls.offer = {'id': offer.id, 'number': offer.number}

    def test_set_deposit(self):
        "Set 30 % deposit, see 32,13 and the IBAN warning, save; 150 % refused"
        self.open_menu("Angebote", "Angebote")
        self.open_record(self.offer['number'])
        form = self.tab()
        warning = form.locator("label").filter(
            has_text="kein Bankkonto mit IBAN")
        self.assertFalse(warning.is_visible())
        amount = form.locator('input[name="deposit_amount"][type="text"]')
        self.assertFalse(amount.is_visible())

        form.locator('select[name="deposit_type"]').select_option(
            label="Prozent der Gesamtsumme")
        self.wait_idle()
        self.set_number(form, 'deposit_value', '30')
        # 30 % of 107,10 (2 × 45,00 and 19 % USt)
        self.assertIn("32,13", amount.input_value())
        self.assertTrue(warning.is_visible())
        self.screenshot('offer-deposit')
        self.save_record()
        offer, = self.rpc('model.buero365.offer.read', [self.offer['id']],
            ['deposit_type', 'deposit_value', 'deposit_amount'])
        self.assertEqual(
            (offer['deposit_type'], offer['deposit_value'],
                offer['deposit_amount']),
            ('percent', Decimal(30), Decimal('32.13')))

        self.set_number(form, 'deposit_value', '150')
        self.tab().locator('button#save').click()
        self.wait_until(
            "() => jQuery('.modal.in.warning-dialog').length")
        message, = self.error_dialogs()
        self.assertIn("höchstens 100 Prozent", message)
        self.assertClientOk()
