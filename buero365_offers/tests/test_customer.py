# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The customer's side over HTTP, against trytond's real WSGI application:
the offer page, accepting with a signature, rejecting, proposing another
date, and the scheduled expiry and reminders."""
import base64
import datetime as dt
import hashlib
import io
import logging
import threading
import time
import unittest
from decimal import Decimal
from unittest.mock import patch
from urllib.parse import urlsplit

import lxml.html
from PIL import Image
from pypdf import PdfReader
from werkzeug.exceptions import Forbidden, HTTPException
from werkzeug.test import Client
from werkzeug.wrappers import Response

from trytond import backend, config
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction
from trytond.worker import run_task
from trytond.wsgi import app

from . import media_samples as samples
from .smtp import smtp_server
from .tools import (
    CustomerRouteTestCase,
    create_germany,
    data_url,
    form_fields,
    future,
    local_to_utc,
    new_offer,
    offer_of,
    read,
    run_committed,
    run_queue,
    send_by_email,
    signature_png,
)


class OfferPageTestCase(CustomerRouteTestCase):
    "Test the offer page as the customer reads it"

    def test_page_shows_the_offer(self):
        "The page shows all of the offer and nothing from elsewhere"
        def add_details():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Attachment = pool.get('ir.attachment')
            Address = pool.get('buero365.offer.address')
            offer = Offer(offer_id)
            Address.create([{
                        'offer': offer.id, 'label': "Auszug",
                        'street': "Domstraße 1", 'postal_code': "50667",
                        'city': "Köln", 'floor': "3. OG", 'lift': True,
                        }])
            offer.lines[0].discount_rate = Decimal('0.1')
            offer.lines[0].save()
            Offer.write([offer], {
                    'content': '<p>Wir ziehen <b>alles</b> um.'
                    '<script>alert(1)</script></p>',
                    'additional_details': '<p>Halteverbot inklusive</p>',
                    'terms': '<p>Zahlbar nach Umzug</p>',
                    })
            Attachment.create([{
                        'resource': str(offer), 'name': "Küche.png",
                        'data': samples.png(), 'media_kind': 'image'}, {
                        'resource': str(offer), 'name': "Flur.mp4",
                        'data': samples.mp4(), 'media_kind': 'video'}, {
                        'resource': str(offer), 'name': "AGB.pdf",
                        'data': samples.pdf(), 'media_kind': 'attachment'}, {
                        'resource': str(offer), 'name': "Intern.pdf",
                        'data': samples.pdf(), 'media_kind': 'attachment',
                        'customer_visible': False}])
        offer_id, path = new_offer(send=False)
        run_committed(add_details)
        response = self.get(path)
        self.assertEqual(response.status_code, 200)
        page = response.get_data(as_text=True)
        for text in ["Büro 365 Umzüge GmbH", "Umzug Köln → Bonn",
                "Wir ziehen <b>alles</b> um.", "Domstraße 1", "3. OG",
                "Umzugshelfer", "Halteverbot inklusive",
                "Zahlbar nach Umzug", "Küche.png", "Flur.mp4", "AGB.pdf",
                "10 %", "Download the offer as PDF"]:
            self.assertIn(text, page)
        # The start in the company's time zone.
        self.assertIn("09:00", page)
        self.assertNotIn("<script>alert", page)
        self.assertNotIn("Intern.pdf", page)
        with Transaction().start(DB_NAME, 0):
            number = offer_of(offer_id).number
            net = offer_of(offer_id).untaxed_amount
        self.assertIn(number, page)
        self.assertIn(str(net).replace('.', '.'), page.replace(',', '.'))

        # Only our own site: no third-party assets, scripts from us.
        document = lxml.html.fromstring(page)
        for element in document.xpath('//*[@src or @href or @action]'):
            url = (element.get('src') or element.get('href')
                or element.get('action'))
            if element.tag == 'a' and url.startswith('http'):
                continue  # links the staff added, opened by the customer
            self.assertTrue(
                url.startswith('/') or url.startswith('data:')
                or url.startswith('#'), url)
        self.assertFalse(document.xpath('//style|//*[@style]'),
            "inline styles are refused by the CSP")
        self.assertFalse(document.xpath('//script[not(@src)]'),
            "inline scripts are refused by the CSP")
        headers = response.headers
        self.assertEqual(headers['Referrer-Policy'], 'same-origin')
        self.assertEqual(headers['X-Content-Type-Options'], 'nosniff')
        self.assertIn("frame-ancestors 'none'",
            headers['Content-Security-Policy'])
        self.assertIn("script-src 'self'", headers['Content-Security-Policy'])

        # Every asset, medium and the PDF load from our routes.
        for element in document.xpath(
                '//script[@src]|//link[@rel="stylesheet"]'
                '|//video|//section//a[contains(@href, "/media/")]'):
            url = element.get('src') or element.get('href')
            response = self.get(url)
            self.assertEqual(response.status_code, 200, url)
        response = self.get(path + '/pdf')
        self.assertEqual(response.headers['Content-Type'], 'application/pdf')
        static = path.split('/offers/')[0] + '/offers/static/'
        for name in ['tryton.cfg', '..%2Ftryton.cfg', 'README']:
            self.assertIn(self.get(static + name).status_code, {404, 405})

    def test_media_of_other_offers_not_served(self):
        "A media item is served only with the token of its own offer"
        def add_image():
            pool = Pool()
            Attachment = pool.get('ir.attachment')
            image, hidden = Attachment.create([{
                        'resource': f'buero365.offer,{first_id}',
                        'name': "Foto.png", 'data': samples.png(),
                        'media_kind': 'image'}, {
                        'resource': f'buero365.offer,{first_id}',
                        'name': "Intern.png", 'data': samples.png(),
                        'media_kind': 'image', 'customer_visible': False}])
            return image.id, hidden.id
        first_id, first = new_offer(send=False)
        _, second = new_offer(send=False)
        image_id, hidden_id = run_committed(add_image)
        self.assertEqual(
            self.get(f'{first}/media/{image_id}').status_code, 200)
        self.assertEqual(
            self.get(f'{first}/media/{hidden_id}').status_code, 404)
        self.assertEqual(
            self.get(f'{second}/media/{image_id}').status_code, 404)

    def test_page_in_reader_format(self):
        "The page shows numbers, sizes and countries as the customer reads"
        def add_details():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Attachment = pool.get('ir.attachment')
            Country = pool.get('country.country')
            germany, = (Country.search([('code', '=', 'DE')])
                or [create_germany()])
            offer = Offer(offer_id)
            Offer.write([offer], {
                    'addresses': [('create', [{
                                    'street': "Domstraße 1",
                                    'postal_code': "50667", 'city': "Köln",
                                    'country': germany.id,
                                    }])],
                    'lines': [('create', [{
                                    'description': "Klaviertransport",
                                    'quantity': 1,
                                    'unit_price': Decimal('1234.50'),
                                    }])],
                    })
            Attachment.create([{
                        'resource': str(offer), 'name': "Plan.pdf",
                        'data': pdf, 'media_kind': 'attachment'}])
        pdf = samples.pdf("Umzugsplan " * 300)
        kilobytes = len(pdf) / 1024
        for language, texts, absent in [
                ('de', ["Deutschland", "1.234,50",
                        f"{kilobytes:.1f} KB".replace('.', ',')],
                    ["Germany", "1,234.50"]),
                ('en', ["Germany", "1,234.50", "No VAT",
                        f"{kilobytes:.1f} KB"],
                    ["Deutschland", "1.234,50"]),
                ]:
            with self.subTest(language=language):
                offer_id, path = new_offer(send=False, language=language)
                run_committed(add_details)
                page = self.page(path)
                for text in texts:
                    self.assertIn(text, page)
                for text in absent:
                    self.assertNotIn(text, page)
                # Only the untaxed line says so.
                document = lxml.html.fromstring(page)
                rows = [' '.join(d.text_content().split()) for d in
                    document.xpath('//table[@class="lines"]//tbody//td[1]')]
                helper, piano = rows
                self.assertIn("USt 19 %", helper)
                self.assertNotIn("USt", piano)
                if language == 'en':
                    self.assertNotIn("No VAT", helper)
                    self.assertIn("No VAT", piano)

    def test_page_in_customer_language(self):
        "The page speaks the customer's language"
        for code in ['de', 'fr', 'en']:
            with self.subTest(language=code):
                _, path = new_offer(send=False, language=code)
                document = lxml.html.fromstring(self.page(path))
                self.assertEqual(document.get('lang'), code)

    def test_get_never_changes_state(self):
        "Opening the page, the PDF or an answer address changes nothing"
        offer_id, path = new_offer()
        for _ in range(3):
            self.page(path)
            self.get(path + '/pdf')
        for action in ['accept', 'reject', 'date']:
            self.assertEqual(self.get(f'{path}/{action}').status_code, 405)
        state = read(lambda: offer_of(offer_id).state)
        self.assertEqual(state, 'open')

    def test_unknown_tokens_same_404(self):
        "Unknown, malformed and foreign tokens all give the same 404"
        _, path = new_offer(send=False)
        base = path.rsplit('/', 1)[0]
        bodies = set()
        for token in ['A' * 43, 'short', 'ä' * 20, 'x' * 5000,
                path.rsplit('/', 1)[1][:-1] + 'x']:
            for suffix in ['', '/pdf', '/media/1']:
                response = self.get(f'{base}/{token}{suffix}')
                self.assertEqual(response.status_code, 404)
                bodies.add(response.get_data())
            response = self.client().post(
                f'{base}/{token}/accept', data={'name': "X"})
            self.assertEqual(response.status_code, 404)
            bodies.add(response.get_data())
        self.assertEqual(len(bodies), 1)
        # a page for people, in the languages of the customer pages, that
        # names nobody
        body, = bodies
        body = body.decode('utf-8')
        for text in ["Angebot nicht gefunden", "Offer not found",
                "Offre introuvable"]:
            self.assertIn(text, body)
        self.assertNotIn("Umzüge", body)
        self.assertEqual(
            response.headers['Referrer-Policy'], 'same-origin')


class AcceptTestCase(CustomerRouteTestCase):
    "Test accepting an offer online with a signature"

    def test_accept_with_signature(self):
        "The customer signs: accepted, evidence kept, confirmation sent"
        offer_id, path = new_offer()
        page = self.page(path)
        self.assertIn('name="signature"', page)
        self.assertIn("needs JavaScript", page)
        before = dt.datetime.now()
        with smtp_server() as inbox:
            response = self.accept(
                path, name="  Erika   Mustermann ",
                headers={'User-Agent': "Mozilla/5.0 (Test)"},
                remote_addr='203.0.113.7')
        after = dt.datetime.now()
        self.assertTrue(response.headers['Location'].endswith(
                path + '#answer'))
        page = self.page(path)
        self.assertIn("You accepted this offer", page)
        self.assertIn("Erika Mustermann", page)
        self.assertNotIn('id="accept-form"', page)

        def check():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Notification = pool.get('res.notification')
            offer = Offer(offer_id)
            self.assertEqual(offer.state, 'accepted')
            self.assertEqual(offer.signed_by, "Erika Mustermann")
            self.assertTrue(before <= offer.signed_at <= after)
            self.assertEqual(offer.signed_ip, '203.0.113.7')
            self.assertEqual(offer.signed_user_agent, "Mozilla/5.0 (Test)")
            self.assertEqual(offer.signed_revision, 1)
            with Image.open(io.BytesIO(offer.signature)) as image:
                self.assertEqual(image.format, 'PNG')
                self.assertEqual(image.size, (600, 200))
            document = bytes(offer.signed_document)
            self.assertTrue(document.startswith(b'%PDF'))
            self.assertEqual(
                offer.signed_document_sha256,
                hashlib.sha256(document).hexdigest())
            # What was signed is byte for byte the PDF the customer was
            # emailed for this revision.
            link, = offer.links
            self.assertEqual(
                offer.signed_document_sha256, link.pdf_sha256)
            self.assertEqual(
                [(h.from_state, h.to_state) for h in offer.history],
                [('open', 'accepted')])
            notification, = Notification.search([
                    ('model', '=', 'buero365.offer'),
                    ('records', '=', f'[{offer.id}]'),
                    ])
            self.assertEqual(notification.user.id, 1)
            self.assertIn("Erika Mustermann", notification.label)
            self.assertIn(offer.number, notification.label)
            Offer.verify_evidence([offer])
            self.assertEqual(Offer(offer_id).evidence_state, 'valid')
            return offer.number
        number = run_committed(check)

        message, = inbox.messages
        self.assertIn("Confirmation of your order", message['Subject'])
        pdf, = [p for p in message.iter_attachments()
            if p.get_content_type() == 'application/pdf']
        text = PdfReader(io.BytesIO(pdf.get_content())).pages[-1] \
            .extract_text()
        self.assertIn("Erika Mustermann", text)
        self.assertIn(number, PdfReader(io.BytesIO(
                    pdf.get_content())).pages[0].extract_text())

    def test_evidence_tampering_detected(self):
        "Verify signature evidence finds a changed name or document"
        offer_id, path = new_offer()
        self.accept(path)

        def tamper_and_verify():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            table = Offer.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.signed_by], ["Max Mustermann"],
                    where=table.id == offer_id))
            Offer.verify_evidence([Offer(offer_id)])
            return Offer(offer_id).evidence_state
        self.assertEqual(run_committed(tamper_and_verify), 'invalid')

    def test_second_answer_already_answered(self):
        "A second accept or a reject after acceptance is refused (409)"
        offer_id, path = new_offer()
        action, fields = form_fields(self.page(path), 'accept-form')
        _, reject_fields = form_fields(self.page(path), 'reject')
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        self.assertEqual(
            self.client().post(action, data=fields).status_code, 303)
        response = self.client().post(action, data=fields)
        self.assertEqual(response.status_code, 409)
        self.assertIn("already been answered", response.get_data(
                as_text=True))
        reject_fields['reason'] = 'too_expensive'
        response = self.client().post(
            action.replace('/accept', '/reject'), data=reject_fields)
        self.assertEqual(response.status_code, 409)
        history = read(lambda: [
                h.to_state for h in offer_of(offer_id).history])
        self.assertEqual(history, ['accepted'])

    def test_refused_input(self):
        "Wrong names, signatures or an unticked box change nothing (400)"
        offer_id, path = new_offer(send=False)
        jpeg = 'data:image/jpeg;base64,' + base64.b64encode(
            samples.jpeg()).decode()
        cases = [
            ({'name': ""}, "full name"),
            ({'name': "E" * 101}, "too long"),
            ({'name': "Erika\u202eMustermann"}, "cannot be used"),
            ({'signature': ""}, "draw your signature"),
            ({'signature': data_url(signature_png(ink=False))}, "empty"),
            ({'signature': data_url(signature_png(
                            background=(255, 255, 255, 255), ink=False))},
                "empty"),
            ({'signature': data_url(signature_png(size=(5000, 200)))},
                "too large"),
            ({'signature': data_url(samples.noise_png(1))}, "too large"),
            ({'signature': jpeg}, "could not be read"),
            ({'signature': 'data:image/png;base64,!!!'}, "could not be read"),
            ({'signature': data_url(b'\x89PNG\r\n\x1a\n' + b'x' * 100)},
                "could not be read"),
            ({'terms': ''}, "terms and conditions"),
            ]
        for values, message in cases:
            with self.subTest(values=str(values)[:60]):
                response = self.accept(path, status=400, **values)
                self.assertIn(message, response.get_data(as_text=True))
        response = self.accept(path, status=403, csrf='forged')
        self.assertIn("no longer valid", response.get_data(as_text=True))
        self.accept(path, status=403, csrf='')
        state = read(lambda: offer_of(offer_id).state)
        self.assertEqual(state, 'open')

    def test_name_escaped_everywhere(self):
        "A name with markup is kept as typed and shown as text"
        offer_id, path = new_offer()
        name = "<b>Erika</b> & <script>x</script>"
        self.accept(path, name=name)
        page = self.page(path)
        self.assertIn("&lt;b&gt;Erika&lt;/b&gt; &amp; &lt;script&gt;", page)
        self.assertNotIn("<script>x", page)
        response = self.get(path + '/pdf')
        text = PdfReader(io.BytesIO(response.get_data())).pages[-1] \
            .extract_text()
        self.assertIn("<b>Erika</b>", text)
        self.assertEqual(read(lambda: offer_of(offer_id).signed_by), name)

    def test_cross_site_post_refused(self):
        "A form posted from another site is refused"
        offer_id, path = new_offer(send=False)
        action, fields = form_fields(self.page(path), 'accept-form')
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        for origin in ['https://evil.example', 'null']:
            with self.subTest(origin=origin):
                try:
                    response = self.client().post(
                        action, data=fields, headers={'Origin': origin})
                except Forbidden:
                    pass
                else:
                    self.assertEqual(response.status_code, 403)
        # A forged form from elsewhere has no valid token.
        fields['csrf'] = ''
        self.assertEqual(self.client().post(
                action, data=fields).status_code, 403)
        self.assertEqual(read(lambda: offer_of(offer_id).state), 'open')
        # The same form from our page is taken.
        fields.update(form_fields(self.page(path), 'accept-form')[1])
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        response = self.client().post(
            action, data=fields, headers={'Origin': 'http://localhost'})
        self.assertEqual(response.status_code, 303)

    def test_no_accept_after_expiry(self):
        "The offer is valid through its last day, not a minute longer"
        offer_id, path = new_offer(valid_days=-1)
        page = self.page(path)
        self.assertIn("This offer has expired", page)
        self.assertNotIn('id="accept-form"', page)

        def served_form():
            # What the page had served the day before.
            pool = Pool()
            Link = pool.get('buero365.offer.link')
            link = Link.find(path.rsplit('/', 1)[1])
            return {'csrf': link.form_token(),
                'digest': link.offer.content_digest(),
                'name': "Erika Mustermann", 'terms': '1',
                'signature': data_url(signature_png())}
        response = self.client().post(path + '/accept', data=read(
                served_form))
        self.assertEqual(response.status_code, 409)
        self.assertIn("can no longer be answered", response.get_data(
                as_text=True))
        # Refused at request time: the scheduler has not marked it yet.
        self.assertEqual(read(lambda: offer_of(offer_id).state), 'open')

        def boundary():
            offer = offer_of(offer_id)
            # Berlin summer time: the last day ends at 22:00 UTC.
            offer.valid_until = dt.date(2031, 7, 15)
            self.assertEqual(
                offer.validity_end(), dt.datetime(2031, 7, 15, 22, 0))
            self.assertFalse(offer.is_past_validity(
                    dt.datetime(2031, 7, 15, 21, 59, 59)))
            self.assertTrue(offer.is_past_validity(
                    dt.datetime(2031, 7, 15, 22, 0)))
            # Winter time: 23:00 UTC.
            offer.valid_until = dt.date(2031, 1, 15)
            self.assertEqual(
                offer.validity_end(), dt.datetime(2031, 1, 15, 23, 0))
        read(boundary)

        # Valid today: the form served now, posted after midnight.
        _, today_path = new_offer(valid_days=0)
        action, fields = form_fields(self.page(today_path), 'accept-form')
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        tomorrow = dt.datetime.now() + dt.timedelta(days=1, hours=1)
        with patch('trytond.modules.buero365_offers.acceptance.utc_now',
                return_value=tomorrow):
            response = self.client().post(action, data=fields)
        self.assertEqual(response.status_code, 409)
        response = self.client().post(action, data=fields)
        self.assertEqual(response.status_code, 303)

    def test_edit_without_resend_keeps_sent_revision(self):
        "Staff edit a sent offer: the customer sees what was sent"
        offer_id, path = new_offer()
        action, fields = form_fields(self.page(path), 'accept-form')
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))

        def edit():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Line = pool.get('buero365.offer.line')
            offer = Offer(offer_id)
            # As the form saves it, and a line saved on its own.
            Offer.write([offer], {
                    'title': "Umzug Köln → Berlin",
                    'terms': "<p>Neue AGB</p>",
                    })
            Line.write(list(offer.lines), {'unit_price': Decimal('60')})
            offer = Offer(offer_id)
            self.assertEqual((offer.revision, offer.sent_revision), (2, 1))
            self.assertEqual(offer.untaxed_amount, Decimal('120.00'))
            return urlsplit(offer.customer_url).path
        unsent = run_committed(edit)
        self.assertNotEqual(unsent, path)

        def pdf_text(path):
            response = self.get(path + '/pdf')
            self.assertEqual(response.status_code, 200)
            return ''.join(p.extract_text() for p in PdfReader(
                    io.BytesIO(response.get_data())).pages)

        # The link the customer has, and the one not sent yet, show the
        # sent revision with the notice; nothing can be signed.
        for shown in [path, unsent]:
            page = self.page(shown)
            self.assertIn("An updated version is being prepared", page)
            for text in ["Umzug Köln → Bonn", "EUR90.00"]:
                self.assertIn(text, page)
            for text in ["Berlin", "EUR120.00", "Neue AGB"]:
                self.assertNotIn(text, page)
            self.assertNotIn('id="accept-form"', page)
            self.assertNotIn('action="', page)
            text = pdf_text(shown)
            self.assertIn("Bonn", text)
            self.assertIn("90.00", text)
            self.assertNotIn("Berlin", text)
            self.assertNotIn("120.00", text)
        # The form the customer had open is refused, with the reason.
        response = self.client().post(action, data=fields)
        self.assertEqual(response.status_code, 409)
        self.assertIn("An updated version of this offer is being prepared",
            response.get_data(as_text=True))
        self.assertEqual(read(lambda: offer_of(offer_id).state), 'open')

        # Staff send the update: the old link says so and leads to it.
        current = run_committed(lambda: send_by_email(offer_of(offer_id)))
        self.assertEqual(current, unsent)
        page = self.page(path)
        self.assertIn("This offer was updated", page)
        self.assertIn(f'href="{current}"', page)
        self.assertNotIn('id="accept-form"', page)
        self.assertEqual(self.get(path + '/pdf').status_code, 404)
        response = self.client().post(action, data=fields)
        self.assertEqual(response.status_code, 409)
        self.assertIn("updated", response.get_data(as_text=True))

        page = self.page(current)
        self.assertNotIn("being prepared", page)
        for text in ["Umzug Köln → Berlin", "EUR120.00", "Neue AGB",
                'id="accept-form"']:
            self.assertIn(text, page)
        self.assertIn("Berlin", pdf_text(current))
        self.accept(current)

        def check():
            offer = offer_of(offer_id)
            self.assertEqual(offer.state, 'accepted')
            self.assertEqual(offer.signed_revision, 2)
            link, = [l for l in offer.links if l.revision == 2]
            # Signed is byte for byte what the customer was sent.
            self.assertEqual(
                offer.signed_document_sha256, link.pdf_sha256)
            self.assertEqual(bytes(offer.signed_document),
                bytes(link.sent_document))
        read(check)

    def test_internal_change_keeps_revision(self):
        "A change the customer cannot see leaves their offer answerable"
        offer_id, path = new_offer()

        def set_lead_source():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            LeadSource = pool.get('buero365.lead.source')
            source, = LeadSource.create([{
                        'name': "Umzugsportal", 'code': 'portal-rev'}])
            Offer.write([Offer(offer_id)], {'lead_source': source.id})
            return Offer(offer_id).revision
        self.assertEqual(run_committed(set_lead_source), 1)
        self.assertIn('id="accept-form"', self.page(path))

    def test_resent_while_reading(self):
        "An answer to a revision replaced meanwhile is refused"
        offer_id, path = new_offer()
        action, fields = form_fields(self.page(path), 'accept-form')

        def edit_and_resend():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Offer.write([Offer(offer_id)], {'title': "Umzug Köln → Berlin"})
            return send_by_email(Offer(offer_id))
        current = run_committed(edit_and_resend)
        # Even posted to the new link, the old page's answer is not taken.
        new_action, new_fields = form_fields(self.page(current), 'accept-form')
        fields.update(name="Erika Mustermann", terms='1',
            csrf=new_fields['csrf'], signature=data_url(signature_png()))
        response = self.client().post(new_action, data=fields)
        self.assertEqual(response.status_code, 409)
        self.assertIn("changed while you were reading",
            response.get_data(as_text=True))
        self.assertEqual(read(lambda: offer_of(offer_id).state), 'open')
        self.accept(current)

    def test_changed_while_reading(self):
        "An answer to a page that changed meanwhile is refused"
        offer_id, path = new_offer(send=False)
        action, fields = form_fields(self.page(path), 'accept-form')

        def edit():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Offer.write([Offer(offer_id)], {'terms': "<p>Neue AGB</p>"})
        run_committed(edit)
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        response = self.client().post(action, data=fields)
        self.assertEqual(response.status_code, 409)
        self.assertIn("changed while you were reading", response.get_data(
                as_text=True))
        self.accept(path)


class RejectTestCase(CustomerRouteTestCase):
    "Test rejecting an offer with feedback"

    def test_reject_with_feedback(self):
        "The reason and comment are stored, shown escaped, staff told"
        offer_id, path = new_offer()
        comment = "Zu teuer <script>alert(1)</script>\nLeider."
        self.post_form(path, 'reject', reason='too_expensive',
            comment=comment)
        page = self.page(path)
        self.assertIn("You declined this offer", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)
        self.assertNotIn('id="accept-form"', page)

        def check():
            pool = Pool()
            Notification = pool.get('res.notification')
            offer = offer_of(offer_id)
            self.assertEqual(offer.state, 'rejected')
            self.assertEqual(offer.rejection_reason, 'too_expensive')
            self.assertEqual(offer.rejection_comment, comment)
            self.assertTrue(Notification.search([
                        ('records', '=', f'[{offer_id}]'),
                        ('label', 'like', '%rejected%'),
                        ]))
        read(check)

    def test_reject_refused_input(self):
        "A missing or unknown reason, a too long comment: 400"
        offer_id, path = new_offer(send=False)
        for values, message in [
                ({'reason': ''}, "choose a reason"),
                ({'reason': 'because'}, "choose a reason"),
                ({'reason': 'other', 'comment': "x" * 2001}, "too long"),
                ]:
            with self.subTest(values=str(values)[:40]):
                response = self.post_form(
                    path, 'reject', status=400, **values)
                self.assertIn(message, response.get_data(as_text=True))
        self.post_form(path, 'reject', status=403, reason='other', csrf='x')
        self.assertEqual(read(lambda: offer_of(offer_id).state), 'open')
        self.post_form(path, 'reject', reason='other_provider')
        self.assertEqual(read(lambda: offer_of(offer_id).state), 'rejected')


class DateRequestTestCase(CustomerRouteTestCase):
    "Test proposing another date and the staff's answer"

    def propose(self, path, status=303, **values):
        return self.post_form(path, 'date', status=status, **values)

    def test_propose_and_confirm(self):
        "Staff confirm: the offer moves, a new revision is sent"
        offer_id, path = new_offer()
        accept_action, accept = form_fields(self.page(path), 'accept-form')
        accept.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        proposed = future(40, 8, 30)
        self.propose(path, start=proposed.isoformat(timespec='minutes'),
            end='',
            comment="Lieber im Juni <b>bitte</b>")
        page = self.page(path)
        self.assertIn("You proposed another date", page)
        self.assertIn("08:30", page)
        self.assertIn("&lt;b&gt;bitte&lt;/b&gt;", page)
        self.assertNotIn('id="accept-form"', page)
        # One answer at a time: accepting waits for the staff.
        response = self.client().post(accept_action, data=accept)
        self.assertEqual(response.status_code, 409)
        self.assertIn("proposed another date", response.get_data(
                as_text=True))

        def confirm():
            pool = Pool()
            DateRequest = pool.get('buero365.offer.date_request')
            Notification = pool.get('res.notification')
            request, = DateRequest.search([('offer', '=', offer_id)])
            # Local time in the company's zone, stored in UTC.
            self.assertEqual(request.start, local_to_utc(proposed))
            self.assertEqual(request.comment, "Lieber im Juni <b>bitte</b>")
            self.assertTrue(Notification.search([
                        ('records', '=', f'[{offer_id}]'),
                        ('label', 'like', '%another date%'),
                        ]))
            with smtp_server() as inbox:
                DateRequest.confirm([request])
                run_queue()
            offer = offer_of(offer_id)
            self.assertEqual(offer.start, local_to_utc(proposed))
            # The planned 8 hours are kept.
            self.assertEqual(
                offer.end, offer.start + dt.timedelta(hours=8))
            self.assertEqual(offer.revision, 2)
            self.assertEqual(offer.sent_revision, 2)
            self.assertEqual(DateRequest(request.id).state, 'confirmed')
            message, = inbox.messages
            self.assertIn("new date", message['Subject'])
            html = message.get_body(preferencelist=('html',)).get_content()
            return urlsplit(offer.customer_url).path, html
        current, html = run_committed(confirm)
        self.assertNotEqual(current, path)
        self.assertIn("/accept", html)
        self.assertIn("This offer was updated", self.page(path))
        page = self.page(current)
        self.assertIn('id="accept-form"', page, page)
        self.accept(current)

    def test_propose_and_decline(self):
        "Staff decline with a message; the customer may answer again"
        offer_id, path = new_offer()
        proposed = future(40, 8, 30)
        self.propose(path, start=proposed.isoformat(timespec='minutes'),
            end=proposed.replace(hour=12).isoformat(timespec='minutes'))

        def decline():
            pool = Pool()
            DateRequest = pool.get('buero365.offer.date_request')
            request, = DateRequest.search([('offer', '=', offer_id)])
            self.assertEqual(
                request.end, local_to_utc(proposed.replace(hour=12)))
            with self.assertRaises(Exception):
                DateRequest.decline([request])
            Transaction().rollback()
            request = DateRequest(request.id)
            request.answer = "Im Juni sind wir <ausgebucht> & voll."
            request.save()
            with smtp_server() as inbox:
                DateRequest.decline([request])
                run_queue()
            self.assertEqual(DateRequest(request.id).state, 'declined')
            self.assertEqual(offer_of(offer_id).revision, 1)
            message, = inbox.messages
            return message.get_body(preferencelist=('html',)).get_content()
        html = run_committed(decline)
        self.assertIn("&lt;ausgebucht&gt; &amp; voll.", html)
        self.assertIn('id="accept-form"', self.page(path))
        self.accept(path)

    def test_refused_dates(self):
        "Unreadable, past or backwards dates are refused (400)"
        offer_id, path = new_offer(send=False)
        start = future(20, 8, 0).isoformat(timespec='minutes')
        for values, message in [
                ({'start': ''}, "enter the date"),
                ({'start': 'morgen früh'}, "could not be read"),
                ({'start': '2031-13-45T99:00'}, "could not be read"),
                ({'start': '2020-01-01T08:00'}, "in the future"),
                ({'start': start, 'end': start.replace('T08', 'T07')},
                    "after the start"),
                ({'start': start, 'comment': "x" * 2001}, "too long"),
                ({'start': '2040-01-01T08:00'}, "too far ahead"),
                ]:
            with self.subTest(values=str(values)[:50]):
                response = self.propose(path, status=400, **values)
                self.assertIn(message, response.get_data(as_text=True))
        # ISO 8601 with an offset is taken as given.
        self.propose(path, start=start + '+00:00')

        def check():
            pool = Pool()
            DateRequest = pool.get('buero365.offer.date_request')
            request, = DateRequest.search([('offer', '=', offer_id)])
            self.assertEqual(
                request.start, dt.datetime.fromisoformat(start))
        read(check)


def expiry_cron():
    "The scheduled job of the expiry (ir.cron)."
    Cron = Pool().get('ir.cron')
    cron, = Cron.search([('method', '=', 'buero365.offer|expire_due')])
    return cron


class ExpiryTestCase(CustomerRouteTestCase):
    "Test the scheduled expiry and the reminders"

    def test_expire_due_in_batches(self):
        "The cron expires what is past its last day, batch by batch"
        due = [new_offer(send=False, valid_days=-d)[0] for d in [1, 1, 3]]
        today, _ = new_offer(send=False, valid_days=0)
        later, _ = new_offer(send=False, valid_days=5)

        def run_cron():
            pool = Pool()
            Cron = pool.get('ir.cron')
            Offer = pool.get('buero365.offer')
            batches = []
            expire_batch = Offer._expire_batch

            def spy(ids):
                ids = expire_batch(ids)
                batches.append(len(ids))
                return ids
            with patch('trytond.modules.buero365_offers.expiry.BATCH_SIZE',
                    2), patch.object(Offer, '_expire_batch', spy):
                Cron.run_once([expiry_cron()])
                # Run again (or overlapping): nothing is expired twice.
                self.assertEqual(Offer.expire_due(), 0)
            self.assertTrue(all(size <= 2 for size in batches))
            self.assertGreaterEqual(sum(batches), len(due))
            return {i: Offer(i).state for i in due + [today, later]}
        states = run_committed(run_cron, user=0)
        self.assertEqual([states[i] for i in due], ['expired'] * 3)
        self.assertEqual(states[today], 'open')
        self.assertEqual(states[later], 'open')

        def history(offer_id):
            pool = Pool()
            Log = pool.get('ir.model.log')
            offer = offer_of(offer_id)
            return ([(h.from_state, h.to_state, h.user)
                    for h in offer.history],
                [(l.event, l.target, l.action) for l in Log.search([
                            ('resource', '=', str(offer)),
                            ('event', '=', 'transition'),
                            ])])
        self.assertEqual(read(lambda: history(due[0])), (
                [('open', 'expired', None)],
                # As the button logs it (the record's "Log" in the client).
                [('transition', 'state:expired', 'Status : Expired')]))
        self.assertEqual(read(lambda: history(today)), ([], []))

    def test_expire_due_by_queue_workers(self):
        "With queue workers, they expire the batches the cron queues"
        due = [new_offer(send=False, valid_days=-d)[0] for d in [1, 2, 3]]
        later, _ = new_offer(send=False, valid_days=5)

        def run_cron():
            pool = Pool()
            Cron = pool.get('ir.cron')
            Queue = pool.get('ir.queue')
            with patch('trytond.modules.buero365_offers.expiry.BATCH_SIZE',
                    2):
                Cron.run_once([expiry_cron()])
            return [t.id for t in Queue.search([
                        ('name', '=', 'buero365_offers_expiry'),
                        ('finished_at', '=', None),
                        ]) if t.data['method'] == 'expire_batch']

        def states():
            Offer = Pool().get('buero365.offer')
            return [Offer(i).state for i in due + [later]]
        old = config.get('queue', 'worker', default='False')
        config.set('queue', 'worker', 'True')
        try:
            tasks = run_committed(run_cron, user=0)
        finally:
            config.set('queue', 'worker', old)
        # Queued, two offers a task; nothing expired by the cron itself.
        self.assertEqual(len(tasks), 2)
        self.assertEqual(read(states), ['open'] * 4)
        # The workers run them, a task twice (two overlapping crons): each
        # offer expires once.
        for task in tasks + tasks[:1]:
            run_task(DB_NAME, task)
        self.assertEqual(read(states), ['expired'] * 3 + ['open'])

        def history():
            Offer = Pool().get('buero365.offer')
            return [[(h.from_state, h.to_state) for h in Offer(i).history]
                for i in due]
        self.assertEqual(read(history), [[('open', 'expired')]] * 3)

    def test_reminders(self):
        "N days before the last day, one reminder to open, sent offers"
        # An address that was stored before it was checked (an import):
        # refused when the reminder is composed, it must not stop the rest.
        broken, _ = new_offer(valid_days=2)

        def break_email():
            Offer = Pool().get('buero365.offer')
            table = Offer.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.email], ['hans-h..meyer@example.org'],
                    where=table.id == broken))
        run_committed(break_email)
        soon, _ = new_offer(valid_days=2)
        far, _ = new_offer(valid_days=10)
        unsent, _ = new_offer(send=False, valid_days=2)
        # Edited since sent: the customer cannot answer it until resent.
        updating, _ = new_offer(valid_days=2)
        run_committed(lambda: Pool().get('buero365.offer').write(
                [offer_of(updating)], {'title': "Umzug Köln → Berlin"}))

        def configure(enabled):
            def write():
                pool = Pool()
                Configuration = pool.get('buero365.offer.configuration')
                config = Configuration(1)
                config.reminder_enabled = enabled
                config.reminder_days = 3
                config.save()
            run_committed(write)

        def remind():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            with smtp_server() as inbox:
                Offer.remind_due()
                run_queue()
            return inbox.messages

        configure(False)
        self.assertEqual(run_committed(remind), [])
        configure(True)
        messages = run_committed(remind)
        numbers = read(lambda: {
                i: offer_of(i).number for i in [soon, far, unsent, updating]})
        self.assertIn(numbers[soon], ' '.join(
                m['Subject'] for m in messages))
        for message in messages:
            self.assertNotIn(numbers[far], message['Subject'])
            self.assertNotIn(numbers[unsent], message['Subject'])
            self.assertNotIn(numbers[updating], message['Subject'])
        self.assertIn("Reminder", messages[0]['Subject'])
        # Once only.
        again = run_committed(remind)
        self.assertNotIn(numbers[soon], ' '.join(
                m['Subject'] for m in again))
        configure(False)


@unittest.skipIf(backend.name != 'postgresql',
    "row locks and parallel transactions need PostgreSQL "
    "(SQLite serialises the whole database)")
class ConcurrencyTestCase(CustomerRouteTestCase):
    "Test that exactly one of many parallel answers wins"

    def race(self, path, posts):
        """Send the posts (list of (action, fields)) at the same time, each
        from its own thread and client; return the status codes.

        The errors trytond logs (the cause of a 500) are kept in
        self.logged, to be shown when an assertion fails."""
        barrier = threading.Barrier(len(posts))
        statuses = [None] * len(posts)
        self.logged = []
        # trytond logs the exception behind a 500 at debug level only.
        logger = logging.getLogger('trytond.wsgi')

        def emit(record):
            if record.exc_info and not isinstance(
                    record.exc_info[1], HTTPException):
                self.logged.append(logging.Formatter().format(record))
        handler = logging.Handler(logging.DEBUG)
        handler.emit = emit
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        self.addCleanup(logger.setLevel, logger.level)
        logger.setLevel(logging.DEBUG)

        def post(index, action, fields):
            client = Client(app, Response)
            barrier.wait()
            response = client.post(action, data=fields)
            statuses[index] = response.status_code
            if response.status_code >= 500:
                self.logged.append(response.get_data(as_text=True)[:2000])
        threads = [threading.Thread(target=post, args=(i, *p))
            for i, p in enumerate(posts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        return statuses

    def test_parallel_accepts(self):
        "50 parallel accepts: one state change, one email, 49 × 409"
        offer_id, path = new_offer()
        action, fields = form_fields(self.page(path), 'accept-form')
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        with smtp_server() as inbox:
            statuses = self.race(path, [(action, fields)] * 50)
        self.assertEqual(statuses.count(303), 1, (statuses, self.logged))
        self.assertEqual(statuses.count(409), 49, (statuses, self.logged))
        self.assertEqual(len(inbox.messages), 1)
        history = read(lambda: [
                h.to_state for h in offer_of(offer_id).history])
        self.assertEqual(history, ['accepted'])

    def test_parallel_mixed_answers(self):
        "Accepts, rejects and proposals at once: exactly one wins"
        offer_id, path = new_offer()
        page = self.page(path)
        accept_action, accept = form_fields(page, 'accept-form')
        accept.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        reject_action, reject = form_fields(page, 'reject')
        reject.update(reason='other_provider')
        date_action, date = form_fields(page, 'date')
        date.update(start=future(20).isoformat(timespec='minutes'))
        posts = ([(accept_action, accept)] * 10
            + [(reject_action, reject)] * 10
            + [(date_action, date)] * 10)
        with smtp_server() as inbox:
            statuses = self.race(path, posts)
        self.assertEqual(statuses.count(303), 1, (statuses, self.logged))
        self.assertEqual(statuses.count(409), 29, (statuses, self.logged))

        def outcome():
            pool = Pool()
            DateRequest = pool.get('buero365.offer.date_request')
            offer = offer_of(offer_id)
            return (offer.state, len(offer.history),
                DateRequest.search_count([('offer', '=', offer_id)]))
        state, changes, requests = read(outcome)
        winner = statuses.index(303)
        expected = ['accepted', 'rejected', 'open'][winner // 10]
        self.assertEqual(state, expected)
        self.assertEqual(changes, 0 if expected == 'open' else 1)
        self.assertEqual(requests, 1 if expected == 'open' else 0)
        self.assertEqual(
            len(inbox.messages), 1 if expected == 'accepted' else 0)

    def test_accept_while_staff_edit(self):
        "A customer signs while staff save a change: exactly one wins"
        def edit(offer_id):
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Offer.write([Offer(offer_id)], {'title': "Umzug Köln → Berlin"})

        # Staff save at once or a little later: either may come first.
        for delay in [0, 0.05, 0.2, 0.5]:
            offer_id, path = new_offer()
            action, fields = form_fields(self.page(path), 'accept-form')
            fields.update(name="Erika Mustermann", terms='1',
                signature=data_url(signature_png()))
            barrier = threading.Barrier(2)
            outcome = []

            def staff():
                barrier.wait()
                time.sleep(delay)
                # As trytond's dispatcher, retried when it cannot serialise.
                for _ in range(10):
                    try:
                        run_committed(lambda: edit(offer_id))
                    except AccessError:
                        outcome.append('refused')
                    except backend.DatabaseOperationalError:
                        continue
                    else:
                        outcome.append('saved')
                    break
            thread = threading.Thread(target=staff)
            thread.start()
            barrier.wait()
            status = self.client().post(action, data=fields).status_code
            thread.join(120)

            def result():
                offer = offer_of(offer_id)
                return (offer.state, offer.title, offer.revision,
                    offer.signed_revision)
            if outcome == ['saved']:
                self.assertEqual(status, 409)
                self.assertEqual(read(result),
                    ('open', "Umzug Köln → Berlin", 2, None))
            else:
                self.assertEqual(outcome, ['refused'])
                self.assertEqual(status, 303)
                self.assertEqual(read(result),
                    ('accepted', "Umzug Köln → Bonn", 1, 1))
