# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The deposit (Anzahlung) of an offer and its GiroCode: the payload of
EPC069-12 field by field, the deposit staff set and what is refused, and
the confirmation email and signed PDF whose codes a banking app scans."""
import base64
import io
import re
import unittest
from contextlib import contextmanager
from decimal import Decimal

from pypdf import PdfReader

from trytond.exceptions import UserWarning
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import set_company
from trytond.modules.currency.tests import create_currency
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from .. import girocode
from ..document import qrcode_png
from .smtp import smtp_server
from .tools import (
    BIC,
    IBAN,
    CustomerRouteTestCase,
    add_company_iban,
    company,
    create_customer,
    html_part,
    load_german,
    new_offer,
    pdf_qrcodes,
    read_qrcodes,
    run_committed,
    run_queue,
    run_send_wizard,
    setup_offer_company,
    text_part,
)

IBAN_COMPACT = IBAN.replace(' ', '')


def lines(payload):
    return payload.split('\n')


class GiroCodeTestCase(unittest.TestCase):
    "The GiroCode payload, each field and each limit of EPC069-12"

    def payload(self, **values):
        arguments = {
            'name': "Büro 365 Umzüge GmbH", 'iban': IBAN,
            'amount': Decimal('123.45'), 'reference': "AN-2026-00001",
            'bic': BIC}
        arguments.update(values)
        return girocode.payload(**arguments)

    def assertRefused(self, field, **values):
        with self.assertRaises(girocode.GiroCodeError) as context:
            self.payload(**values)
        self.assertEqual(context.exception.field, field)

    def test_fields(self):
        "Every line of the payload, joined by line feeds"
        self.assertEqual(lines(self.payload()), [
                'BCD',  # service tag
                '002',  # version
                '1',  # character set: UTF-8
                'SCT',  # SEPA credit transfer
                BIC,
                "Büro 365 Umzüge GmbH",
                IBAN_COMPACT,
                'EUR123.45',
                '',  # purpose
                '',  # structured reference: the unstructured one is used
                "AN-2026-00001",
                ])
        self.assertNotIn('\r', self.payload())
        self.assertFalse(self.payload().endswith('\n'))

    def test_bic_optional(self):
        "Version 002: the BIC line may be empty; a BIC is written compact"
        self.assertEqual(lines(self.payload(bic=None))[1:5],
            ['002', '1', 'SCT', ''])
        self.assertEqual(lines(self.payload(bic='cobadeff xxx'))[4], BIC)
        self.assertRefused('bic', bic='COBADE')

    def test_name(self):
        "The beneficiary: one line, at most 70 characters, required"
        self.assertEqual(lines(self.payload(name='x' * 80))[5], 'x' * 70)
        self.assertEqual(
            lines(self.payload(name="Büro 365\nUmzüge\r\nGmbH"))[5],
            "Büro 365 Umzüge GmbH")
        self.assertRefused('name', name=' \n ')
        self.assertRefused('name', name=None)

    def test_iban(self):
        "The IBAN: compact, with a valid checksum"
        self.assertEqual(lines(self.payload(iban=' de89 3704 0044 0532 '
                    '0130 00'))[6], IBAN_COMPACT)
        self.assertRefused('iban', iban='DE88 3704 0044 0532 0130 00')
        self.assertRefused('iban', iban='')
        self.assertRefused('iban', iban=None)

    def test_amount(self):
        "The amount: EUR, a point, two decimals, 0.01 to 999999999.99"
        for amount, text in [
                (Decimal('0.01'), 'EUR0.01'),
                (Decimal('5'), 'EUR5.00'),
                (Decimal('1234.5'), 'EUR1234.50'),
                (Decimal('999999999.99'), 'EUR999999999.99')]:
            with self.subTest(amount=amount):
                self.assertEqual(
                    lines(self.payload(amount=amount))[7], text)
        for amount in [Decimal(0), Decimal('-1'), Decimal('0.001'),
                Decimal('1000000000'), Decimal('NaN'), None, 'abc']:
            with self.subTest(amount=amount):
                self.assertRefused('amount', amount=amount)

    def test_reference(self):
        """The reference: unstructured, at most 140 characters, one line;
        the structured one (ISO 11649, 35 characters) stays empty"""
        payload = lines(self.payload(reference='R' * 140))
        self.assertEqual(payload[9:], ['', 'R' * 140])
        self.assertRefused('reference', reference='R' * 141)
        self.assertEqual(
            lines(self.payload(reference="AN-1\nEUR1.00"))[10],
            "AN-1 EUR1.00")
        # Without reference, the empty lines at the end are left out.
        self.assertEqual(lines(self.payload(reference=None))[-1],
            'EUR123.45')

    def test_payload_bytes(self):
        "At most 331 bytes in UTF-8 (QR code version 13 at level M)"
        payload = self.payload(name='ü' * 70, reference='R' * 100)
        self.assertLessEqual(len(payload.encode('utf-8')), 331)
        self.assertRefused('payload', name='ü' * 70, reference='R' * 140)

    def test_qr_code(self):
        "The QR code holds the payload in UTF-8, with error correction M"
        payload = self.payload()
        code, = read_qrcodes(qrcode_png(payload))
        self.assertEqual(code.bytes.decode('utf-8'), payload)
        self.assertEqual(code.ec_level, 'M')


@contextmanager
def company_offer(**values):
    """Yield a new company's offer of one service of 1000.00 + 19 % USt
    (1190.00), with values, within that company."""
    company, tax19, _ = setup_offer_company()
    with set_company(company):
        yield company, offer_with_line('1000', [tax19], **values)


def offer_with_line(unit_price, taxes=(), **values):
    "An offer of one service line, with values."
    pool = Pool()
    Offer = pool.get('buero365.offer')
    offer, = Offer.create([{
                'party': create_customer("Erika Mustermann").id,
                'title': "Umzug Köln → Bonn",
                'lines': [('create', [{
                                'description': "Umzugshelfer",
                                'quantity': 1,
                                'unit_price': Decimal(unit_price),
                                'taxes': [('add', [t.id for t in taxes])],
                                }])],
                **values}])
    return offer


class DepositTestCase(unittest.TestCase):
    "Test the deposit staff set on an offer"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('buero365_offers')

    @with_transaction()
    def test_deposit_amount(self):
        "A percentage of the total (rounded as the amounts) or a fixed amount"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with company_offer() as (_, offer):
            self.assertEqual(offer.deposit_type, 'none')
            self.assertIsNone(offer.deposit_amount)
            for type_, value, amount in [
                    ('percent', Decimal(30), Decimal('357.00')),
                    ('percent', Decimal('33.33'), Decimal('396.63')),
                    ('percent', Decimal(100), Decimal('1190.00')),
                    ('amount', Decimal(500), Decimal('500.00'))]:
                with self.subTest(type=type_, value=value):
                    Offer.write([offer], {
                            'deposit_type': type_, 'deposit_value': value})
                    self.assertEqual(Offer(offer.id).deposit_amount, amount)
            # 25 % of 10.10 is 2.525: half to even, as the amounts
            small = offer_with_line('10.10', deposit_type='percent',
                deposit_value=Decimal(25))
            self.assertEqual(small.deposit_amount, Decimal('2.52'))

            # The form computes it as staff type, and hides the value
            # without deposit.
            form = Offer(offer.id)
            form.deposit_type = 'percent'
            form.deposit_value = Decimal(10)
            self.assertEqual(
                form.on_change_with_deposit_amount(), Decimal('119.00'))
            form.deposit_type = 'none'
            form.on_change_deposit_type()
            self.assertIsNone(form.deposit_value)
            self.assertIsNone(form.on_change_with_deposit_amount())

            # A copy (a duplicate, an offer from a template) keeps it.
            copy, = Offer.copy([offer])
            self.assertEqual(
                (copy.deposit_type, copy.deposit_amount),
                ('amount', Decimal('500.00')))

            # What the customer accepted is kept as it was.
            Offer.accept([offer])
            with self.assertRaises(AccessError):
                Offer.write([offer], {'deposit_value': Decimal(400)})

    @with_transaction()
    def test_refused_deposits(self):
        "Negative, zero, above 100 % or above the total: refused, translated"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        load_german()
        with company_offer() as (_, offer):
            for type_, value, message in [
                    ('percent', Decimal(-5), "more than zero"),
                    ('amount', Decimal(0), "more than zero"),
                    ('amount', None, '"Deposit Value"'),
                    ('percent', Decimal('100.01'), "100.01 %"),
                    ('amount', Decimal('1190.01'),
                        "is more than its total of"),
                    ]:
                with self.subTest(type=type_, value=value):
                    with self.assertRaises(ValidationError) as context:
                        Offer.write([offer], {
                                'deposit_type': type_,
                                'deposit_value': value})
                    self.assertIn(message, context.exception.message)
                    self.assertIn(offer.number, context.exception.message)
            with Transaction().set_context(language='de'):
                with self.assertRaises(ValidationError) as context:
                    Offer.write([offer], {
                            'deposit_type': 'percent',
                            'deposit_value': Decimal(150)})
            self.assertIn("höchstens 100 Prozent", context.exception.message)

            # Services removed below a fixed deposit: refused too.
            Offer.write([offer], {
                    'deposit_type': 'amount', 'deposit_value': Decimal(900)})
            with self.assertRaises(ValidationError) as context:
                Offer.write([offer], {
                        'lines': [('delete', [l.id for l in offer.lines])]})
            self.assertIn(
                "is more than its total of", context.exception.message)

    @with_transaction()
    def test_company_bank_account(self):
        """The GiroCode pays into the company's first bank account with an
        IBAN in euros; without one, or in another currency, there is none
        and staff are warned"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Account = pool.get('bank.account')
        with company_offer(email='erika@example.de',
                deposit_type='percent', deposit_value=Decimal(30)
                ) as (company, offer):
            request = offer.deposit_request()
            self.assertEqual(request.amount, Decimal('357.00'))
            self.assertEqual(
                (request.iban, request.girocode), (None, None))
            self.assertEqual(offer.deposit_without_girocode, 'iban')

            # An account in another currency is not the one.
            dollars = add_company_iban(
                company, iban='GB82 WEST 1234 5698 7654 32', bic=None)
            Account.write([dollars], {'currency': create_currency('USD').id})
            account = add_company_iban(company)
            offer = Offer(offer.id)
            self.assertIsNone(offer.deposit_without_girocode)
            self.assertEqual(offer.deposit_bank_account(), account)
            self.assertEqual(lines(offer.deposit_request().girocode), [
                    'BCD', '002', '1', 'SCT', BIC, "Büro 365 Umzüge GmbH",
                    IBAN_COMPACT, 'EUR357.00', '', '', offer.number])

            # Without a BIC (the bank unknown), the line stays empty.
            Account.write([account], {'bank': None})
            self.assertEqual(
                lines(Offer(offer.id).deposit_request().girocode)[4], '')

            # The preview of the confirmation shows the code staff send.
            Offer.accept([offer])
            with smtp_server():
                _, shown = run_send_wizard(Offer(offer.id), preview=True)
            image = re.search(r'src="data:image/png;base64,([^"]+)"',
                shown['preview'].decode()).group(1)
            code, = read_qrcodes(base64.b64decode(image))
            self.assertEqual(code.bytes.decode('utf-8'),
                Offer(offer.id).deposit_request().girocode)

            # A GiroCode is in euros only.
            swiss = offer_with_line('1000',
                currency=create_currency('CHF').id,
                deposit_type='amount', deposit_value=Decimal(100))
            self.assertEqual(swiss.deposit_without_girocode, 'currency')
            self.assertIsNone(swiss.deposit_request().girocode)

    @with_transaction()
    def test_confirmation_without_iban(self):
        """Sending a confirmation that asks for a deposit without IBAN
        warns staff; sent anyway, it asks for the amount, with no code"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with company_offer(email='erika@example.de',
                deposit_type='amount', deposit_value=Decimal(250)
                ) as (_, offer):
            Offer.accept([offer])
            with self.assertRaises(UserWarning) as context:
                run_send_wizard(offer)
            self.assertIn("no bank account with an IBAN",
                context.exception.message)
            with smtp_server() as inbox, \
                    Transaction().set_context(_skip_warnings=True):
                run_send_wizard(offer)
                run_queue()
        message, = inbox.messages
        self.assertIn("Please pay the deposit of", html_part(message))
        self.assertIn("250.00", text_part(message))
        self.assertNotIn("IBAN", html_part(message))
        self.assertNotIn('image/png', [
                p.get_content_type() for p in message.walk()])


class DepositConfirmationTestCase(CustomerRouteTestCase):
    "The customer accepts an offer with a deposit and is asked to pay it"

    @classmethod
    def setUpDatabase(cls):
        super().setUpDatabase()
        add_company_iban(company())

    def test_confirmation_girocode(self):
        """The page tells the deposit; once the customer signed, the email
        and the signed PDF ask for it with a GiroCode that decodes to the
        company's account, the amount and the offer number"""
        offer_id, path = new_offer(
            deposit_type='percent', deposit_value=Decimal(30))
        page = self.page(path)
        self.assertIn("Deposit (30 %), due after acceptance", page)
        with smtp_server() as inbox:
            self.accept(path)

        def stored():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            offer = Offer(offer_id)
            mail, = [m for m in offer.mails if m.purpose == 'accepted']
            return offer.number, offer.total_amount, mail.girocode
        number, total, stored_girocode = run_committed(stored)
        # 30 % of 107.10 (2 × 45.00 and 19 % VAT)
        self.assertEqual(total, Decimal('107.10'))
        expected = '\n'.join([
                'BCD', '002', '1', 'SCT', BIC, "Büro 365 Umzüge GmbH",
                IBAN_COMPACT, 'EUR32.13', '', '', number])
        self.assertEqual(stored_girocode, expected)

        message, = inbox.messages
        html = html_part(message)
        self.assertIn('src="cid:girocode@buero365-offers"', html)
        for text in ["Please pay the deposit of", "32.13", IBAN, BIC,
                "Büro 365 Umzüge GmbH", number]:
            with self.subTest(text=text):
                self.assertIn(text, html)
                self.assertIn(text, text_part(message))
        image, = [p for p in message.walk()
            if p['Content-ID'] == '<girocode@buero365-offers>']
        self.assertEqual(image.get_content_type(), 'image/png')
        self.assertEqual(image.get_content_disposition(), 'inline')
        code, = read_qrcodes(image.get_content())
        self.assertEqual(code.bytes.decode('utf-8'), expected)
        self.assertEqual(code.ec_level, 'M')

        pdf, = [p for p in message.iter_attachments()
            if p.get_content_type() == 'application/pdf']
        reader = PdfReader(io.BytesIO(pdf.get_content()))
        self.assertEqual(pdf_qrcodes(reader), [expected])
        text = '\n'.join(page.extract_text() for page in reader.pages)
        for part in ["Deposit", "32.13", IBAN, BIC, number,
                "Erika Mustermann"]:
            with self.subTest(part=part):
                self.assertIn(part, text)

    def test_deposit_change_is_a_new_revision(self):
        "The customer sees the deposit: changing it on a sent offer is news"
        offer_id, _ = new_offer()

        def change():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            with set_company(company()):
                Offer.write([Offer(offer_id)], {
                        'deposit_type': 'amount',
                        'deposit_value': Decimal(50)})
            return Offer(offer_id).revision
        self.assertEqual(run_committed(change), 2)
