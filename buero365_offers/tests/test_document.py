# This file is part of Büro 365 Offers.  See the README for licence terms.
import datetime as dt
import io
import os
import unittest
from decimal import Decimal

from pypdf import PdfReader

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from .tools import (
    create_customer,
    create_germany,
    pdf_qrcodes,
    setup_offer_company,
)


def pdf_text(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    return '\n'.join(page.extract_text() for page in reader.pages), reader


class DocumentTestCase(unittest.TestCase):
    "Test the offer PDF"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('buero365_offers')

    @with_transaction()
    def test_pdf_content(self):
        "The PDF shows the offer, its lines, totals and a QR code"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Report = pool.get('buero365.offer', type='report')
        Address = pool.get('party.address')
        company, tax19, tax7 = setup_offer_company()
        company.timezone = 'Europe/Berlin'
        company.save()
        with set_company(company):
            customer = create_customer("Jürgen Weiß")
            german, = pool.get('ir.lang').search([('code', '=', 'de')])
            customer.lang = german
            customer.save()
            address = Address(party=customer, street="Große Straße 7",
                postal_code="80331", city="München")
            address.save()
            offer, = Offer.create([{
                        'party': customer.id,
                        'customer_address': address.id,
                        'title': "Umzug München → Köln",
                        'content': ("<p>Sehr geehrter Herr Weiß,</p>"
                            "<p><b>gern</b> bieten wir an:</p>"
                            "<script>alert(1)</script>"),
                        'terms': "<p>Zahlbar binnen 14 Tagen.</p>",
                        # stored in UTC: 9:00 to 17:30 in Munich (summer)
                        'start': dt.datetime(2031, 7, 1, 7, 0),
                        'end': dt.datetime(2031, 7, 1, 15, 30),
                        'lines': [('create', [{
                                        'description': "Umzugshelfer",
                                        'quantity': 4,
                                        'unit_price': Decimal('45.50'),
                                        'taxes': [('add', [tax19.id])],
                                        }, {
                                        'description': "Kartons (Rabatt)",
                                        'quantity': 20,
                                        'unit_price': Decimal('3'),
                                        'discount_rate': Decimal('0.1'),
                                        'taxes': [('add', [tax7.id])],
                                        }])],
                        }])
            pdf = Report.render_pdf(offer)
            self.assertTrue(pdf.startswith(b'%PDF'))
            text, reader = pdf_text(pdf)
            for expected in [offer.number, "Umzug München → Köln",
                    "Jürgen Weiß", "Große Straße 7", "80331 München",
                    "Sehr geehrter Herr Weiß", "Umzugshelfer",
                    "Kartons (Rabatt)", "10 %", "182,00", "54,00",
                    "Zahlbar binnen 14 Tagen",
                    "01.07.2031\xa009:00 – 01.07.2031\xa017:30"]:
                with self.subTest(expected=expected):
                    self.assertIn(expected, text)
            self.assertNotIn("alert(1)", text)
            self.assertNotIn("<b>", text)
            self.assertEqual(pdf_qrcodes(reader), [offer.customer_url])
            if os.environ.get('BUERO365_KEEP_PDF'):
                with open(os.environ['BUERO365_KEEP_PDF'], 'wb') as file:
                    file.write(pdf)

    @with_transaction()
    def test_pdf_in_reader_language_and_format(self):
        "A German customer reads German numbers and country names"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Report = pool.get('buero365.offer', type='report')
        Address = pool.get('party.address')
        Country = pool.get('country.country')
        company, tax19, _ = setup_offer_company()
        company.currency.symbol = "€"
        company.currency.save()
        germany = create_germany()
        with set_company(company):
            customer = create_customer("Jürgen Weiß")
            customer.lang, = pool.get('ir.lang').search([('code', '=', 'de')])
            customer.save()
            offer, = Offer.create([{
                        'party': customer.id,
                        'title': "Umzug München → Wien",
                        'addresses': [('create', [{
                                        'label': "Auszug",
                                        'street': "Große Straße 7",
                                        'postal_code': "80331",
                                        'city': "München",
                                        'country': germany.id,
                                        }])],
                        'lines': [('create', [{
                                        'description': "Komplettumzug",
                                        'quantity': 1,
                                        'unit_price': Decimal('1234.50'),
                                        'taxes': [('add', [tax19.id])],
                                        }])],
                        }])
            text, _ = pdf_text(Report.render_pdf(offer))
            for expected in ["1.234,50\xa0€", "234,56\xa0€", "1.469,06\xa0€",
                    "Deutschland"]:
                with self.subTest(expected=expected):
                    self.assertIn(expected, text)
            self.assertNotIn("Germany", text)
            self.assertNotIn("1,234.50", text)

            # The letter window: a customer abroad reads the country in
            # German, one at home reads none (DIN 5008).
            Address.create([{
                        'party': company.party.id, 'street': "Hafenstraße 1",
                        'postal_code': "20459", 'city': "Hamburg",
                        'country': germany.id}])
            austria, = Country.create([{'name': "Austria", 'code': 'AT'}])
            with Transaction().set_context(language='de'):
                Country.write([Country(austria.id)], {'name': "Österreich"})
            vienna, = Address.create([{
                        'party': customer.id, 'street': "Ring 1",
                        'postal_code': "1010", 'city': "Wien",
                        'country': austria.id}])
            Offer.write([offer], {'customer_address': vienna.id})
            text, _ = pdf_text(Report.render_pdf(Offer(offer.id)))
            self.assertIn("1010 WIEN", text.upper())
            self.assertIn("ÖSTERREICH", text.upper())
            self.assertNotIn("AUSTRIA", text.upper())
            munich, = Address.create([{
                        'party': customer.id, 'street': "Große Straße 7",
                        'postal_code': "80331", 'city': "München",
                        'country': germany.id}])
            Offer.write([offer], {'customer_address': munich.id})
            text, _ = pdf_text(Report.render_pdf(Offer(offer.id)))
            self.assertIn("80331 München", text)
            self.assertNotIn("GERMANY", text.upper())
            self.assertNotIn("DEUTSCHLAND", text)

            customer.lang, = pool.get('ir.lang').search([('code', '=', 'en')])
            customer.save()
            text, _ = pdf_text(Report.render_pdf(Offer(offer.id)))
            self.assertIn("Germany", text)
            self.assertIn("1,234.50", text)

    @with_transaction()
    def test_pdf_line_without_tax_says_so(self):
        "A service without tax reads No VAT, never a silent 0 %"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Report = pool.get('buero365.offer', type='report')
        company, tax19, _ = setup_offer_company()
        with set_company(company):
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Umzug",
                        'lines': [('create', [{
                                        'description': "Umzugshelfer",
                                        'quantity': 1,
                                        'unit_price': Decimal('45'),
                                        'taxes': [('add', [tax19.id])],
                                        }, {
                                        'description': "Trinkgeld",
                                        'quantity': 1,
                                        'unit_price': Decimal('20'),
                                        }])],
                        }])
            text, _ = pdf_text(Report.render_pdf(offer))
            self.assertEqual(text.count("No VAT"), 1)
            self.assertIn("Trinkgeld\nNo VAT", text)

    @with_transaction()
    def test_pdf_many_lines_and_empty_fields(self):
        "200 lines, long texts and empty optional fields still render"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Report = pool.get('buero365.offer', type='report')
        company, tax19, _ = setup_offer_company()
        with set_company(company):
            empty, = Offer.create([{
                        'party': create_customer("Ärger & Söhne").id,
                        'title': "Leer"}])
            text, _ = pdf_text(Report.render_pdf(empty))
            self.assertIn("Ärger & Söhne", text)

            long_text = "Straßenmöbelübergrößenzuschlag " * 40
            offer, = Offer.create([{
                        'party': create_customer("Groß GmbH").id,
                        'title': "Großumzug",
                        'content': f"<p>{long_text}</p>",
                        'lines': [('create', [{
                                        'description': f"Position {i} ß",
                                        'quantity': 1,
                                        'unit_price': Decimal('1.5'),
                                        'taxes': [('add', [tax19.id])],
                                        } for i in range(200)])],
                        }])
            text, reader = pdf_text(Report.render_pdf(offer))
            self.assertGreater(len(reader.pages), 4)
            self.assertIn("Position 199 ß", text)
            self.assertIn("300.00", text)

