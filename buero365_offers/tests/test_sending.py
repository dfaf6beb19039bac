# This file is part of Büro 365 Offers.  See the README for licence terms.
import io
import re
import unittest
from decimal import Decimal
from urllib.parse import urlsplit

from pypdf import PdfReader
from werkzeug.test import Client
from werkzeug.wrappers import Response

from trytond.model.exceptions import AccessError
from trytond.modules.buero365_offers.exceptions import (
    LineWithoutTaxWarning,
    PlaceholderWarning,
)
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME,
    activate_module,
    with_transaction,
)
from trytond.transaction import Transaction
from trytond.wsgi import app

from .smtp import smtp_down, smtp_server
from .tools import (
    CustomerRouteTestCase,
    create_offer,
    date_mails_back,
    html_part,
    run_committed,
    run_queue,
    run_send_wizard,
    setup_offer_company,
    text_part,
)

# What a customer's browser sends; link scanners are told apart by it.
BROWSER = ('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 '
    'Firefox/128.0')


class BrowserClient(Client):
    "A test client that sends a browser's User-Agent, as a customer does."

    def run_wsgi_app(self, environ, buffered=False):
        environ.setdefault('HTTP_USER_AGENT', BROWSER)
        return super().run_wsgi_app(environ, buffered=buffered)


def browser():
    return BrowserClient(app, Response)


class SendingTestCase(unittest.TestCase):
    "Test sending offers by email through a real SMTP server"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('buero365_offers')

    @with_transaction()
    def test_send_offer_to_two_addresses(self):
        "The customer receives the offer with PDF, buttons and pixel"
        pool = Pool()
        Email = pool.get('ir.email')
        Attachment = pool.get('ir.attachment')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            form = run_send_wizard(
                offer, recipients="erika@example.de, max@example.de")
            self.assertIn(offer.number, form.subject)
            self.assertEqual(inbox.messages, [], "sent before commit")
            run_queue()

            message, = inbox.messages
            self.assertEqual(
                sorted(inbox.envelopes[0].rcpt_tos),
                ['erika@example.de', 'max@example.de'])
            self.assertEqual(
                message['Subject'],
                f"Your offer {offer.number}: Umzug Köln → Bonn")
            html = html_part(message)
            text = text_part(message)
            self.assertIn("Dear Erika Mustermann", html)
            self.assertIn("Dear Erika Mustermann", text)
            urls = re.findall(r'href="([^"]+)"', html)
            accept = [u for u in urls if u.endswith('/accept')]
            reject = [u for u in urls if u.endswith('/reject')]
            self.assertEqual(len(accept), 1)
            self.assertEqual(len(reject), 1)
            self.assertIn(f'/{DB_NAME}/offers/t/', accept[0])
            self.assertIn(accept[0], text)
            pixels = re.findall(r'<img src="([^"]+/open\.gif)"', html)
            self.assertEqual(len(pixels), 1)

            pdf, = [p for p in message.iter_attachments()
                if p.get_content_type() == 'application/pdf']
            self.assertEqual(pdf.get_filename(), f'{offer.number}.pdf')
            reader = PdfReader(io.BytesIO(pdf.get_content()))
            self.assertIn(offer.number, reader.pages[0].extract_text())

            offer = offer.__class__(offer.id)
            self.assertEqual(offer.email_state, 'sent')
            self.assertEqual(offer.sent_revision, 1)
            self.assertEqual(
                [e.event_type for e in offer.events], ['sent', 'queued'])
            # the email is archived on the offer with its attachment
            archived, = Email.search([('resource', '=', str(offer))])
            self.assertEqual(
                archived.recipients, "erika@example.de, max@example.de")
            self.assertEqual(
                [a.name for a in Attachment.search([
                            ('resource', '=', str(archived))])],
                [f'{offer.number}.pdf'])

    @with_transaction()
    def test_other_addresses_of_customer(self):
        "More addresses of the customer can be ticked in the wizard"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            office, = Mechanism.create([{
                        'party': offer.party.id, 'type': 'email',
                        'value': 'buero@example.de'}])
            run_send_wizard(offer, other_addresses=[office])
            run_queue()
            self.assertEqual(
                sorted(inbox.envelopes[0].rcpt_tos),
                ['buero@example.de', 'erika@example.de'])

    @with_transaction()
    def test_warn_before_sending_line_without_tax(self):
        "Sending an offer with a service without VAT asks the user first"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Line = pool.get('buero365.offer.line')
        Warning = pool.get('res.user.warning')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            self.assertFalse(offer.lines_without_tax)
            Line.create([{
                        'offer': offer.id,
                        'description': "Treppenzuschlag ab 3. OG",
                        'quantity': 1,
                        'unit_price': Decimal('60'),
                        }])
            offer = Offer(offer.id)
            self.assertTrue(offer.lines_without_tax)
            with self.assertRaises(LineWithoutTaxWarning) as context:
                run_send_wizard(offer)
            message = context.exception.message
            self.assertIn(offer.number, message)
            self.assertIn("Treppenzuschlag ab 3. OG", message)
            self.assertIn("no VAT", message)
            self.assertNotIn("Umzugshelfer", message)
            run_queue()
            self.assertEqual(inbox.messages, [])
            self.assertEqual(Offer(offer.id).email_state, 'pending')

            # The user answers "Yes": the offer goes out as it is.
            Warning.skip(context.exception.name)
            run_send_wizard(offer)
            run_queue()
            self.assertEqual(len(inbox.messages), 1)

    @with_transaction()
    def test_warn_before_sending_unfilled_placeholder(self):
        "Sending an offer whose text still has a placeholder asks first"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Warning = pool.get('res.user.warning')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            # A template's text whose end date was never entered; a name
            # that is no placeholder is the staff's own text.
            Offer.write([offer], {
                    'title': "Umzug bis {end_date}",
                    'content': "<p>Ende {end_date}, {end_time}; {Kasse}, "
                    "{unknown}</p>",
                    'end': None,
                    })
            with self.assertRaises(PlaceholderWarning) as context:
                run_send_wizard(offer)
            message = context.exception.message
            self.assertIn(offer.number, message)
            self.assertIn("{end_date}, {end_time}.", message)
            self.assertNotIn("unknown", message)
            run_queue()
            self.assertEqual(inbox.messages, [])

            # The user answers "Yes": the offer goes out as it is.
            Warning.skip(context.exception.name)
            run_send_wizard(offer)
            run_queue()
            self.assertEqual(len(inbox.messages), 1)

    @with_transaction()
    def test_nothing_sent_before_commit(self):
        "Sending waits for the commit; a rollback sends nothing"
        pool = Pool()
        Queue = pool.get('ir.queue')
        Mail = pool.get('buero365.offer.mail')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            run_send_wizard(offer)
            self.assertEqual(len(Queue.search([
                            ('name', '=', 'buero365_offers_mail'),
                            ])), 1)
            mail, = Mail.search([])
            self.assertEqual(mail.state, 'queued')
            Transaction().rollback()
            Transaction().tasks.clear()
            self.assertEqual(Queue.search([]), [])
            self.assertEqual(Mail.search([]), [])
            self.assertEqual(inbox.messages, [])

    @with_transaction()
    def test_smtp_down_then_retry(self):
        "An SMTP failure is shown on the offer and can be retried"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer = create_offer()
            with smtp_down():
                run_send_wizard(offer)
                run_queue()
            offer = Offer(offer.id)
            self.assertEqual(offer.email_state, 'failed')
            self.assertIn('ConnectionRefusedError', offer.email_error)
            mail, = offer.mails
            self.assertEqual((mail.state, mail.attempts), ('failed', 1))

            with smtp_server() as inbox:
                Offer.retry_send([offer])
                run_queue()
            offer = Offer(offer.id)
            self.assertEqual(offer.email_state, 'sent')
            self.assertIsNone(offer.email_error)
            self.assertEqual(len(inbox.messages), 1)
            self.assertEqual(offer.mails[0].attempts, 2)

    @with_transaction()
    def test_header_injection_refused(self):
        """Newlines in addresses are refused, also once decoded; in the
        subject they are folded"""
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            run_send_wizard(offer)
            run_queue()
            inbox.messages.clear()
            inbox.envelopes.clear()
            for recipients in ["erika@example.de\nBcc: evil@example.com",
                    "erika@example.de\r\nX-Injected: 1, max@example.de",
                    # valid addresses, with CR LF or NUL once decoded
                    "=?utf-8?q?x=0D=0Ay?=@example.com",
                    "=?utf-8?q?x=00y?=@example.com",
                    "not-an-address",
                    "erika@@example.de", ""]:
                with self.assertRaises(AccessError, msg=recipients) as cm:
                    run_send_wizard(offer, recipients=recipients)
                self.assertTrue(cm.exception.message)
            for subject in ["Angebot\r\nBcc: evil@example.com",
                    "=?utf-8?q?Angebot=0D=0ABcc:_evil@example.com?="]:
                run_send_wizard(offer, subject=subject)
                run_queue()
            for message, envelope in zip(inbox.messages, inbox.envelopes):
                self.assertEqual(
                    message['Subject'], "Angebot Bcc: evil@example.com")
                self.assertIsNone(message['Bcc'])
                self.assertNotIn(b'\nBcc:', envelope.content)
                self.assertEqual(envelope.rcpt_tos, ['erika@example.de'])
            self.assertEqual(len(inbox.messages), 2)

    @with_transaction()
    def test_edit_after_sending_makes_revision(self):
        "Editing a sent offer makes a new revision to resend"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            first_url = offer.customer_url
            run_send_wizard(offer)
            run_queue()
            offer = Offer(offer.id)
            self.assertFalse(offer.revision_unsent)

            Offer.write([offer], {'title': "Umzug Köln → Berlin"})
            Offer.write([offer], {'valid_until': offer.valid_until})
            offer = Offer(offer.id)
            self.assertEqual(offer.revision, 2)
            self.assertTrue(offer.revision_unsent)
            self.assertNotEqual(offer.customer_url, first_url)
            # tracking and status updates do not make revisions
            Offer.accept([offer])
            Offer.reopen([offer])
            self.assertEqual(Offer(offer.id).revision, 2)

            run_send_wizard(offer)
            run_queue()
            offer = Offer(offer.id)
            self.assertEqual(offer.sent_revision, 2)
            self.assertFalse(offer.revision_unsent)
            self.assertEqual(len(inbox.messages), 2)
            self.assertIn(
                urlsplit(offer.customer_url).path.split('/')[-1],
                [l.token for l in offer.links])

    @with_transaction()
    def test_follow_up_after_status_change(self):
        "After a manual status change the follow-up email is proposed"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        ModelData = pool.get('ir.model.data')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            action = Offer.accept([offer])
            self.assertEqual(
                action, ModelData.get_id('buero365_offers', 'wizard_send'))
            form = run_send_wizard(offer)
            self.assertEqual(form.purpose, 'accepted')
            run_queue()
            message, = inbox.messages
            self.assertIn("Confirmation of your order", message['Subject'])
            self.assertNotIn('/accept"', html_part(message))
            # An offer email written before the customer accepted
            with self.assertRaises(AccessError):
                run_send_wizard(offer, message_purpose='offer')


    @with_transaction()
    def test_edited_message_is_sent_as_previewed(self):
        "Staff edit the message; the customer gets it as the preview shows"
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            # As sao's rich-text editor writes it, with what must not pass.
            edited = ('<div>Hallo Erika,</div><div><br></div>'
                '<div>wie <b>besprochen</b> der <i>Umzug</i> am Samstag.</div>'
                '<div align="center"><font color="#ff0000">Wichtig</font>'
                '</div><script>alert(1)</script>'
                '<div onclick="alert(2)">Ende</div>')
            form, shown = run_send_wizard(
                offer, preview=True, body=edited,
                recipients="erika@example.de, max@example.de")
            self.assertEqual(
                shown['recipients'], "erika@example.de, max@example.de")
            self.assertEqual(shown['subject'], form.subject)
            self.assertEqual(shown['files'], f'{offer.number}.pdf')
            run_queue()
            message, = inbox.messages
            html = html_part(message)
            self.assertIn('wie <b>besprochen</b> der <i>Umzug</i>', html)
            self.assertIn(
                '<div align="center"><font color="#ff0000">Wichtig</font>',
                html)
            text = text_part(message)
            self.assertIn("Hallo Erika,", text)
            self.assertIn("am Samstag.  \r\nWichtig  \r\nEnde", text)
            self.assertNotIn("thank you for your enquiry", html)
            for unsafe in ['<script', 'alert(', 'onclick']:
                self.assertNotIn(unsafe, html)
            # The preview is the sent email, without its tracking.
            preview = shown['preview'].decode('utf-8')
            self.assertNotIn('/offers/t/', preview)
            tracked = re.sub(r'href="[^"]+/offers/t/[^"]+"', 'href="#"', html)
            tracked = re.sub(
                r'<img src="[^"]+/open\.gif"[^>]*>\s*', '', tracked)
            self.assertEqual(
                preview.replace('\r\n', '\n').strip(),
                tracked.replace('\r\n', '\n').strip())

    @with_transaction()
    def test_message_fits_the_editor(self):
        "The proposed message uses only what sao's rich-text editor keeps"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer = create_offer()
            for kind, button in [('offer', None), ('accepted', 'accept'),
                    ('rejected', 'reject'), ('expired', 'expire')]:
                with self.subTest(kind=kind):
                    if button:
                        Offer.reopen([Offer(offer.id)])
                        getattr(Offer, button)([Offer(offer.id)])
                    form = run_send_wizard(Offer(offer.id))
                    self.assertEqual(form.purpose, kind)
                    tags = set(re.findall(r'<(\w+)', form.body))
                    self.assertLessEqual(tags, {'div', 'b', 'i', 'u', 'br'})
                    self.assertIn("Erika Mustermann", form.body)
                    # paragraphs stay apart
                    self.assertIn('<div><br></div>', form.body)

    @with_transaction()
    def test_resend_after_edit_is_an_update(self):
        "An offer sent again after a change says it is updated"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            run_send_wizard(offer)
            run_queue()
            form = run_send_wizard(Offer(offer.id))
            run_queue()
            self.assertIn("thank you for your enquiry", form.body)
            Offer.write([offer], {'title': "Umzug Köln → Berlin"})
            form = run_send_wizard(Offer(offer.id))
            run_queue()
            first, again, update = inbox.messages
            self.assertEqual(again['Subject'], first['Subject'])
            self.assertEqual(
                update['Subject'],
                f"Your updated offer {offer.number}: Umzug Köln → Berlin")
            html = html_part(update)
            self.assertIn("we have updated our offer", html)
            self.assertNotIn("thank you for your enquiry", html)
            self.assertIn('/accept"', html)
            self.assertEqual(Offer(offer.id).sent_revision, 2)


class TrackingRouteTestCase(CustomerRouteTestCase):
    "Test the tracking links and the customer page over HTTP"

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Mail = pool.get('buero365.offer.mail')
        company, _, _ = setup_offer_company()
        with set_company(company):
            offer = create_offer()
            mail = Mail.compose(offer, 'offer', offer.email,
                "Ihr Angebot", "<p>Hallo</p>", [])
            Transaction().tasks.clear()
            # Delivered a minute ago: what comes now is the customer's.
            date_mails_back(offer.id)
            cls.company_id = company.id
            cls.offer_id = offer.id
            cls.mail_id = mail.id
            cls.signed = mail.signed_token()
            cls.token = offer.links[0].token

    def client(self):
        return browser()

    def offer(self):
        return Pool().get('buero365.offer')(self.offer_id)

    def path(self, rest):
        return f'/{self.db_name}/offers/{rest}'

    def test_pixel_records_open(self):
        "Opening the email records it without changing the status"
        response = self.client().get(self.path(f't/{self.signed}/open.gif'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Content-Type'], 'image/gif')
        with Transaction().start(self.db_name, 0):
            offer = self.offer()
            self.assertTrue(offer.email_opened_at)
            self.assertIn('opened', [e.event_type for e in offer.events])
            self.assertEqual(offer.state, 'open')

    def test_forged_tokens_record_nothing(self):
        "Forged or foreign tracking tokens record and reveal nothing"
        with Transaction().start(self.db_name, 0):
            before = len(self.offer().events)
        token, _, signature = self.signed.partition('.')
        forged = [f'{token}.AAAA{signature[4:]}', f'{token}x.{signature}',
            token, 'x' * 500, '.']
        for signed in forged:
            with self.subTest(signed=signed):
                response = self.client().get(
                    self.path(f't/{signed}/open.gif'))
                self.assertEqual(response.status_code, 200)
                response = self.client().get(self.path(f't/{signed}/accept'))
                self.assertEqual(response.status_code, 404)
        with Transaction().start(self.db_name, 0):
            self.assertEqual(len(self.offer().events), before)

    def test_click_opens_offer_page(self):
        "The Accept button of the email leads to the offer page"
        response = self.client().get(self.path(f't/{self.signed}/accept'))
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers['Location'].endswith(
                f'/{self.db_name}/offers/{self.token}#accept'))
        response = self.client().get(self.path(self.token))
        self.assertEqual(response.status_code, 200)
        page = response.get_data(as_text=True)
        self.assertIn("Umzug Köln → Bonn", page)
        self.assertEqual(
            response.headers['Referrer-Policy'], 'same-origin')
        self.assertIn(
            "frame-ancestors 'none'",
            response.headers['Content-Security-Policy'])
        with Transaction().start(self.db_name, 0):
            offer = self.offer()
            kinds = [e.event_type for e in offer.events]
            self.assertIn('clicked', kinds)
            self.assertIn('page_opened', kinds)
            self.assertTrue(offer.page_opened_at)
            self.assertEqual(offer.state, 'open')

    def test_unknown_tokens_same_404(self):
        "Unknown, malformed and overlong tokens all give the same 404"
        bodies = set()
        for token in ['A' * 43, 'short', 'ä' * 20, 'x' * 5000]:
            with self.subTest(token=token):
                response = self.client().get(self.path(token))
                self.assertEqual(response.status_code, 404)
                bodies.add(response.get_data())
                response = self.client().get(self.path(f'{token}/pdf'))
                self.assertEqual(response.status_code, 404)
        self.assertEqual(len(bodies), 1)

    def test_pdf_download(self):
        "The customer downloads the offer as PDF"
        response = self.client().get(self.path(f'{self.token}/pdf'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Content-Type'], 'application/pdf')
        self.assertTrue(response.get_data().startswith(b'%PDF'))


    # Mail filters fetch every link of an email: their requests are
    # recorded, flagged, and do not make the offer opened.

    def send(self):
        "A new offer, sent now; return its id, tracking token and page."
        def send():
            pool = Pool()
            Mail = pool.get('buero365.offer.mail')
            Company = pool.get('company.company')
            with set_company(Company(self.company_id)), smtp_server():
                offer = create_offer()
                mail = Mail.compose(offer, 'offer', offer.email,
                    "Ihr Angebot", "<p>Hallo</p>", [])
                run_queue()
                return (offer.id, mail.signed_token(),
                    urlsplit(offer.customer_url).path)
        return run_committed(send)

    def opened(self, offer_id):
        "The offer's opened times and its events (type, scanner)."
        def read():
            offer = Pool().get('buero365.offer')(offer_id)
            return (offer.email_opened_at, offer.page_opened_at,
                sorted((e.event_type, e.scanner or '') for e in offer.events
                    if e.event_type in {'opened', 'clicked', 'page_opened'}))
        return run_committed(read)

    def test_scanners_are_flagged(self):
        "HEAD, prefetch, a scanner and a GET seconds after sending"
        offer_id, signed, page = self.send()
        base = f'/{self.db_name}/offers/t/{signed}'
        requests = [
            # A browser, seconds after the email was sent: a filter
            # scanning it (first: the rest would take time).
            ('early', lambda c: c.get(f'{base}/open.gif')),
            ('early', lambda c: c.get(f'{base}/view')),
            ('early', lambda c: c.get(page)),
            ('head', lambda c: c.head(f'{base}/open.gif')),
            ('head', lambda c: c.head(f'{base}/accept')),
            ('head', lambda c: c.head(page)),
            ('prefetch', lambda c: c.get(f'{base}/view',
                    headers={'Sec-Purpose': 'prefetch'})),
            ('prefetch', lambda c: c.get(page,
                    headers={'Purpose': 'prefetch'})),
            ('agent', lambda c: c.get(f'{base}/open.gif',
                    headers={'User-Agent': 'Barracuda Sentinel (EE)'})),
            ('agent', lambda c: c.get(f'{base}/reject',
                    headers={'User-Agent': 'python-requests/2.32.3'})),
            ('agent', lambda c: Client(app, Response).get(page)),
            ]
        client = browser()
        for reason, request in requests:
            with self.subTest(reason=reason):
                response = request(client)
                self.assertLess(response.status_code, 400)
        email_opened, page_opened, events = self.opened(offer_id)
        self.assertIsNone(email_opened)
        self.assertIsNone(page_opened)
        self.assertEqual(len(events), len(requests))
        self.assertEqual(sorted(r for _, r in events),
            sorted(r for r, _ in requests))
        self.assertNotIn('', [r for _, r in events])

    def test_customer_a_minute_later(self):
        "A browser a minute after sending: the offer is opened"
        offer_id, signed, page = self.send()
        run_committed(lambda: date_mails_back(offer_id))
        base = f'/{self.db_name}/offers/t/{signed}'
        client = browser()
        self.assertEqual(client.get(f'{base}/open.gif').status_code, 200)
        response = client.get(f'{base}/view')
        self.assertEqual(response.status_code, 303)
        self.assertEqual(client.get(
                urlsplit(response.headers['Location']).path).status_code, 200)
        email_opened, page_opened, events = self.opened(offer_id)
        self.assertTrue(email_opened)
        self.assertTrue(page_opened)
        self.assertEqual(events, [
                ('clicked', ''), ('opened', ''), ('page_opened', '')])
