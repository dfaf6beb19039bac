# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Issue 14's "Done when", on the demo's data as `make demo` loads it: an
offer made from the demo's template Privatumzug (an optional service, the
LKW alternatives, a deposit of 20 %) is sent; the customer ticks the
option and takes the other truck on a phone-sized page, sees the total
change and signs; the sale appears in sao's Sales with the chosen services
and the offer's total; the confirmation email carries a GiroCode that
decodes to the deposit."""
import datetime as dt
import time
from decimal import Decimal
from urllib.parse import urlsplit

from trytond.pool import Pool
from trytond.transaction import Transaction

from .sao import PHONE, SaoTestCase, expect, refuse_foreign, sign_and_accept
from .smtp import smtp_server
from .tools import read_qrcodes, run_queue, run_send_wizard

CUSTOMER = "Familie Krüger"
OPTION = "Ein- und Auspackservice"
CHOSEN_TRUCK, OTHER_TRUCK = "LKW 12 t inkl. Fahrer", "LKW 7,5 t inkl. Fahrer"


def german(amount):
    "The amount as a German reads it: 1.234,50."
    return f"{amount:,.2f}".translate(str.maketrans(',.', '.,'))


def offer_from_template(name, party, start, places):
    """Make an offer as staff do in the form: the customer, the date, the
    template, the service addresses it asks for (places); return it sent."""
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Template = pool.get('buero365.offer.template')
    template, = Template.search([('name', '=', name)])
    offer = Offer(**Offer.default_get(
            list(Offer._fields), with_rec_name=False))
    offer.party = party
    offer.on_change_party()
    offer.start = start
    offer.template = template
    offer.on_change_template()
    for address, (street, postal_code, city) in zip(
            offer.addresses, places):
        address.street, address.postal_code, address.city = (
            street, postal_code, city)
    offer.fill_placeholders()
    offer.save()
    with smtp_server():
        # Refused with a placeholder left (PlaceholderWarning).
        run_send_wizard(offer)
        run_queue()
    return Offer(offer.id)


class SaoDemoFlowTestCase(SaoTestCase):
    "From the demo's template to the sale and the deposit's GiroCode"
    demo = True

    @classmethod
    def setUpData(cls):
        pool = Pool()
        Party = pool.get('party.party')
        company = cls.demo_info['company']
        with Transaction().set_context(
                company=company.id, companies=[company.id]):
            party, = Party.create([{
                        'name': CUSTOMER,
                        'addresses': [('create', [{
                                        'street': "Lindenstraße 12",
                                        'postal_code': "10115",
                                        'city': "Berlin"}])],
                        'contact_mechanisms': [('create', [{
                                        'type': 'email',
                                        'value': 'krueger@example.de'}])],
                        }])
            offer = offer_from_template("Privatumzug", party,
                dt.datetime.now().replace(microsecond=0, second=0)
                + dt.timedelta(days=30), [
                    ("Lindenstraße 12", "10115", "Berlin"),
                    ("Brandenburger Straße 5", "14467", "Potsdam")])
            cls.offer = {
                'id': offer.id, 'number': offer.number,
                'total': offer.total_amount,
                'path': urlsplit(offer.customer_url).path,
                }

    def confirmation(self, to, timeout=20):
        "The confirmation email the server sent to, once it is there."
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.inbox.messages:
                if to in message['To'] and message.is_multipart() and any(
                        p.get_content_type() == 'image/png'
                        for p in message.walk()):
                    return message
            time.sleep(0.2)
        self.fail(f"no confirmation to {to}: {self.server_log()}")

    def read_offer(self, names):
        offer, = self.rpc('model.buero365.offer.read', [self.offer['id']],
            names)
        return offer

    def choose_and_sign(self):
        "On the phone: tick the option, take the other truck, sign."
        problems = []
        # The class's Chromium, in a phone-sized window of its own.
        context = self.browser.new_context(**PHONE, locale='de-DE')
        refuse_foreign(context, self.foreign_requests)
        try:
            page = context.new_page()
            page.on('pageerror', lambda error: problems.append(str(error)))
            page.goto(self.server.url(self.offer['path']))
            total = page.locator('#choice-total')
            shown = total.inner_text()
            page.locator('#choices label').filter(has_text=OPTION).click()
            page.locator('#choices label').filter(
                has_text=CHOSEN_TRUCK).click()
            expect(total).not_to_have_text(shown)
            chosen = total.inner_text()
            self.screenshot('customer-choices', page.locator('#choices'))
            answer = sign_and_accept(page, "Jana Krüger")
        finally:
            context.close()
        self.assertEqual(problems, [])
        return shown, chosen, answer

    def test_choose_sign_sale_girocode(self):
        "Choose on the phone, sign; the sale in sao; the deposit's GiroCode"
        shown, chosen, answer = self.choose_and_sign()
        offer = self.read_offer(['state', 'total_amount', 'deposit_amount',
                'signed_by'])
        self.assertEqual((offer['state'], offer['signed_by']),
            ('accepted', "Jana Krüger"), self.server_log())
        total, deposit = offer['total_amount'], offer['deposit_amount']
        # The page showed the sent total, then the one now signed.
        sent, signed = german(self.offer['total']), german(total)
        for text, amount in [(shown, sent), (chosen, signed),
                (answer, signed)]:
            self.assertIn(amount, text)
        self.assertGreater(total, self.offer['total'])
        self.assertEqual(deposit, (total * Decimal('0.2')).quantize(
                Decimal('0.01')))

        # The sale, in sao's Sales: the services chosen, the offer's total.
        sale, = self.rpc('model.sale.sale.search_read',
            [('reference', '=', self.offer['number'])], 0, None, None,
            ['number', 'state', 'total_amount', 'lines.description'])
        self.assertEqual((sale['state'], sale['total_amount']),
            ('quotation', total))
        self.open_menu("Verkauf", "Verkauf")
        self.open_domain_tab("Angebot")
        self.open_record(sale['number'])
        self.wait_until('''() => {
            const s = Sao.Tab.tabs.get_current().screen;
            return s.model_name == 'sale.sale'
                && s.current_view.view_type == 'form'; }''')
        form = self.tab()
        self.assertEqual(
            form.locator('input[name="reference"]').input_value(),
            self.offer['number'])
        self.assertEqual(form.locator(
                'input[name="total_amount"][type="text"]').input_value(),
            signed)
        described = [l['description'] for l in sale['lines.']]
        self.assertIn(OPTION, described)
        self.assertIn(CHOSEN_TRUCK, described)
        self.assertNotIn(OTHER_TRUCK, described)
        self.assertClientOk()

        # The confirmation asks for the deposit with a GiroCode.
        message = self.confirmation('krueger@example.de')
        codes = [r.bytes.decode('utf-8') for part in message.walk()
            if part.get_content_type() == 'image/png'
            for r in read_qrcodes(part.get_content())]
        giro, = [c.split('\n') for c in codes if c.startswith('BCD\n')]
        self.assertEqual(giro[7], f'EUR{deposit}')
        self.assertEqual(giro[10], self.offer['number'])
