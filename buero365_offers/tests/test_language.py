# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Every email to a customer is in the customer's language, never the
staff user's: a German customer gets German emails from staff working in
English, through a real SMTP server; and no page or email a German or
French customer reads shows an English text of the module."""
import io
import re
from contextlib import contextmanager
from urllib.parse import urlsplit

import lxml.html
import polib
from pypdf import PdfReader

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.tools import file_open
from trytond.transaction import Transaction

from .smtp import smtp_server
from .tools import (
    CustomerRouteTestCase,
    company,
    future,
    hidden_fields,
    html_part,
    load_german,
    load_language,
    new_offer,
    offer_of,
    run_committed,
    run_queue,
    run_send_wizard,
    text_part,
)


@contextmanager
def staff_in_english():
    "What the client sends for a staff user who works in English."
    with set_company(company()), Transaction().set_context(language='en'):
        yield


def german_translation(msgctxt):
    "The German text of a string of the module, or None if not translated."
    with file_open('buero365_offers/locale/de.po', mode='rb') as file:
        catalog = polib.pofile(file.read().decode('utf-8'))
    for entry in catalog:
        if entry.msgctxt == msgctxt and entry.msgstr:
            return entry.msgstr


class CustomerLanguageTestCase(CustomerRouteTestCase):
    "Test that emails speak the customer's language"

    @classmethod
    def setUpDatabase(cls):
        super().setUpDatabase()
        # As an administrator loads German (the test database has only
        # English); the database of the class is dropped afterwards.
        load_german()

    def assertGerman(self, message, subject, *texts):
        self.assertEqual(message['Content-Language'], 'de')
        self.assertIn(subject, message['Subject'])
        html, text = html_part(message), text_part(message)
        for expected in texts:
            self.assertIn(expected, html)
            self.assertIn(expected, text)
        for english in ["Dear ", "Kind regards", "View the offer online"]:
            self.assertNotIn(english, html)

    def test_offer_follow_ups_and_resend(self):
        "Offer, follow-ups and the updated offer go out in German"
        offer_id, _ = new_offer(send=False, language='de')

        def send_all():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            with staff_in_english(), smtp_server() as inbox:
                offer = Offer(offer_id)
                form, shown = run_send_wizard(offer, preview=True)
                run_queue()
                self.assertEqual(form.language.code, 'de')
                self.assertIn("Guten Tag".encode(), shown['preview'])
                self.assertIn("Angebotsnr.".encode(), shown['preview'])
                for button in ['accept', 'reject', 'expire']:
                    Offer.reopen([Offer(offer_id)])
                    getattr(Offer, button)([Offer(offer_id)])
                    run_send_wizard(Offer(offer_id))
                    run_queue()
                Offer.reopen([Offer(offer_id)])
                Offer.write(
                    [Offer(offer_id)], {'title': "Umzug Köln → Aachen"})
                resend = run_send_wizard(Offer(offer_id))
                run_queue()
                return offer.number, resend.subject, inbox.messages
        number, resend_subject, messages = run_committed(send_all)
        offer, accepted, rejected, expired, update = messages
        self.assertGerman(offer, f"Ihr Angebot {number}",
            "Guten Tag", "vielen Dank für Ihre Anfrage", "Angebotsnr.",
            "Gültig bis", "Mit freundlichen Grüßen")
        self.assertGerman(accepted, f"Auftragsbestätigung {number}",
            "Guten Tag", "angenommen haben")
        self.assertGerman(rejected, f"Ihre Entscheidung zum Angebot {number}",
            "nicht annehmen möchten")
        self.assertGerman(expired, f"Ihr Angebot {number} ist abgelaufen",
            "ist abgelaufen")
        # The resent offer is the updated one, never a first answer.
        self.assertEqual(update['Content-Language'], 'de')
        # Python's header folding may drop the space before a non-ASCII
        # word of a long subject ("Köln→ Aachen"): compare the words.
        self.assertEqual(update['Subject'].replace('→', ' → ').split(),
            resend_subject.split())
        self.assertNotIn("vielen Dank für Ihre Anfrage", html_part(update))
        self.assertNotIn("thank you for your enquiry", html_part(update))
        if not german_translation(
                'model:ir.email.template,subject:email_template_offer_update'):
            self.skipTest("the updated offer's email is not translated yet")
        self.assertGerman(update, "aktualisiert", "Guten Tag")

    def test_date_confirmed_and_declined(self):
        "The answers to the customer's date proposals are in German"
        messages = []
        for answer in ['confirm', 'decline']:
            offer_id, path = new_offer(language='de')
            proposed = future(40, 8, 30)
            self.post_form(path, 'date',
                start=proposed.isoformat(timespec='minutes'), end='')

            def respond():
                pool = Pool()
                DateRequest = pool.get('buero365.offer.date_request')
                with staff_in_english(), smtp_server() as inbox:
                    request, = DateRequest.search([
                            ('offer', '=', offer_id)])
                    request.answer = "Im Juni sind wir ausgebucht."
                    request.save()
                    getattr(DateRequest, answer)([request])
                    run_queue()
                    return offer_of(offer_id).number, inbox.messages
            number, (message,) = run_committed(respond)
            messages.append((number, message))
        (number, confirmed), (declined_number, declined) = messages
        self.assertGerman(confirmed,
            f"Ihr Angebot {number} mit dem neuen Termin",
            "der von Ihnen vorgeschlagene Termin ist möglich")
        self.assertIn(f'{number}.pdf', [
                p.get_filename() for p in confirmed.iter_attachments()])
        self.assertGerman(declined,
            f"Ihr Terminvorschlag zum Angebot {declined_number}",
            "leider können wir", "Im Juni sind wir ausgebucht.")

    def test_reminder_confirmation_invitation(self):
        "Reminder, acceptance confirmation and portal invitation in German"
        offer_id, _ = new_offer(language='de', email='weiss@example.de')

        def send():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            with staff_in_english(), smtp_server() as inbox:
                offer = Offer(offer_id)
                self.assertTrue(offer.send_expiry_reminder())
                run_queue()
                Offer.send_acceptance_confirmation(offer)
                run_queue()
                Offer.invite_portal([offer])
                run_queue()
                Transaction().commit()
            return offer.number, inbox.messages
        number, (reminder, confirmation, invitation) = run_committed(send)
        self.assertGerman(reminder, number, "ist gültig bis")
        self.assertGerman(confirmation, f"Auftragsbestätigung {number}",
            "angenommen haben")
        self.assertEqual(invitation['Subject'],
            "Einladung zum Angebotsportal")
        self.assertIn("Passwort festlegen", html_part(invitation))
        self.assertNotIn("Set my password", html_part(invitation))

    def test_fallback_company_then_default(self):
        "Without a language the customer reads the company's, else default"
        offer_id, _ = new_offer(send=False)

        def languages():
            pool = Pool()
            Party = pool.get('party.party')
            Lang = pool.get('ir.lang')
            german, = Lang.search([('code', '=', 'de')])
            with staff_in_english(), smtp_server() as inbox:
                offer = offer_of(offer_id)
                Party.write([offer.party], {'lang': None})
                found = [offer_of(offer_id).customer_language()]
                Party.write([offer.company.party], {'lang': german.id})
                found.append(offer_of(offer_id).customer_language())
                run_send_wizard(offer_of(offer_id))
                run_queue()
            Transaction().rollback()
            return found, inbox.messages
        found, (message,) = run_committed(languages)
        self.assertEqual(found, ['en', 'de'])
        self.assertGerman(message, "Ihr Angebot", "Guten Tag")


def visible_text(html):
    """What a reader sees of an HTML page or email: its text and the words
    of its attributes (placeholders, titles, alternative texts, buttons),
    without scripts and styles, whitespace collapsed."""
    document = lxml.html.fromstring(html)
    for element in document.xpath('//script|//style'):
        element.drop_tree()
    words = [document.text_content()]
    for attribute in ['placeholder', 'title', 'alt', 'aria-label']:
        words.extend(document.xpath(f'//@{attribute}'))
    words.extend(document.xpath(
            '//input[@type="submit" or @type="button"]/@value'))
    return ' '.join(' '.join(words).split())


def email_text(message):
    """What the reader of an email sees: subject, HTML and plain text, and
    the text of the PDF attached."""
    texts = [message['Subject'], visible_text(html_part(message)),
        text_part(message)]
    for part in message.iter_attachments():
        if part.get_content_type() == 'application/pdf':
            reader = PdfReader(io.BytesIO(part.get_content()))
            texts.extend(page.extract_text() for page in reader.pages)
    return ' '.join(' '.join(texts).split())


# Where the texts a customer reads come from: the templates of the pages,
# the PDF and the emails, the email templates and the messages.
CUSTOMER_TEXTS = ('report:buero365.offer', 'model:ir.email.template',
    'model:ir.message')


def english_sources(language):
    """The English texts of the module a customer may read, where the
    language's translation differs: the pieces of each msgid between its
    placeholders and tags, of three words or more (shorter ones, "PDF" or
    "Total", would match other words)."""
    with file_open(f'buero365_offers/locale/{language}.po', mode='rb') as file:
        catalog = polib.pofile(file.read().decode('utf-8'))
    sources = set()
    for entry in catalog:
        if not entry.msgctxt.startswith(CUSTOMER_TEXTS):
            continue
        translated = ' '.join(re.sub(r'<[^>]*>', ' ', entry.msgstr).split())
        for piece in re.split(
                r'<[^>]*>|\$\{[^}]*\}|%\(\w+\)\w|%\w|\{\w*\}|\[\d+:|\]|'
                r'[.:;!?\n]', entry.msgid):
            piece = ' '.join(piece.split()).strip(' ,()')
            if (len(re.findall(r'[A-Za-z]{2,}', piece)) >= 3
                    and piece not in translated):
                sources.add(piece)
    return sources


class UntranslatedTextTestCase(CustomerRouteTestCase):
    """Test that no page or email a customer reads shows English text to a
    German or French customer"""

    @classmethod
    def setUpDatabase(cls):
        super().setUpDatabase()
        load_language('de')
        load_language('fr')

    @classmethod
    def setUpData(cls):
        cls.rendered = {}

    def texts(self, language):
        "Every page and email of a customer in language: {name: text}"
        if language not in self.rendered:
            self.rendered[language] = self.render_all(language)
        return self.rendered[language]

    def render_all(self, language):
        texts = {}
        headers = {'Accept-Language': language}
        with smtp_server() as inbox:
            texts.update(self.offer_pages(language))
            texts.update(self.portal_pages(language, headers))
            # The same emails in the same order in every language.
            for number, message in enumerate(inbox.messages, 1):
                texts[f"email {number}"] = email_text(message)
        return texts

    def staff(self, func):
        "Run func as the staff do (working in English), committed."
        def run():
            with staff_in_english():
                result = func(Pool().get('buero365.offer'))
                run_queue()
                return result
        return run_committed(run)

    def path(self, offer_id):
        "The path of the offer's customer page (a new one for each sending)"
        return urlsplit(self.staff(
                lambda Offer: Offer(offer_id).customer_url)).path

    def offer_pages(self, language):
        texts = {}
        email = f'{language}-kunde@example.de'
        # Open, answered with errors, a date proposed, then accepted.
        offer_id, path = new_offer(send=False, language=language,
            email=email)
        self.staff(lambda Offer: run_send_wizard(Offer(offer_id)))
        path = self.path(offer_id)
        texts['offer page'] = visible_text(self.page(path))
        texts['refused signature'] = visible_text(self.accept(
                path, status=400, signature='').get_data(as_text=True))
        texts['expired form'] = visible_text(self.post_form(
                path, 'reject', status=403, reason='other',
                csrf='x').get_data(as_text=True))
        for answer in ['decline', 'confirm']:
            path = self.path(offer_id)
            self.post_form(path, 'date',
                start=future(40, 8, 30).isoformat(timespec='minutes'),
                end='')
            texts[f'date proposed ({answer})'] = visible_text(
                self.page(path))

            def respond(Offer, answer=answer):
                DateRequest = Pool().get('buero365.offer.date_request')
                request, = DateRequest.search([
                        ('offer', '=', offer_id), ('state', '=', 'pending')])
                request.answer = "Im Juni sind wir ausgebucht."
                request.save()
                getattr(DateRequest, answer)([request])
            self.staff(respond)
        self.staff(lambda Offer: Offer(offer_id).send_expiry_reminder())
        path = self.path(offer_id)
        self.accept(path)
        # (the acceptance confirmation goes out with the acceptance)
        texts['offer page accepted'] = visible_text(self.page(path))
        self.staff(lambda Offer: Offer.invite_portal([Offer(offer_id)]))

        # Rejected, and the staff's answer to it.
        offer_id, path = new_offer(language=language, email=email)
        self.post_form(path, 'reject', reason='too_expensive',
            comment="Zu teuer.")
        texts['offer page rejected'] = visible_text(self.page(path))
        self.staff(lambda Offer: run_send_wizard(Offer(offer_id)))

        # Expired, and updated.
        offer_id, path = new_offer(language=language, email=email,
            valid_days=-2)
        self.staff(lambda Offer: Offer.expire_due())
        texts['offer page expired'] = visible_text(self.page(path))
        self.staff(lambda Offer: run_send_wizard(Offer(offer_id)))

        def update(Offer):
            Offer.reopen([Offer(offer_id)])
            Offer.write([Offer(offer_id)], {'title': "Umzug Köln → Aachen"})
            run_send_wizard(Offer(offer_id))
        self.staff(update)
        return texts

    def portal_pages(self, language, headers):
        texts = {}
        base = f'/{DB_NAME}/portal'
        client = self.client()

        def get(page, status=200):
            response = client.get(f'{base}/{page}', headers=headers)
            self.assertEqual(response.status_code, status, page)
            return response.get_data(as_text=True)

        def post(page, status=200, **values):
            "Submit the form of page (a path below the portal's)."
            action, fields = hidden_fields(get(page))
            response = client.post(
                action, data=dict(fields, **values), headers=headers)
            self.assertEqual(response.status_code, status, page)
            return response.get_data(as_text=True)
        email = f'{language}-kunde@example.de'
        texts['portal login'] = visible_text(get('login'))
        texts['portal login refused'] = visible_text(post('login',
                status=400, email=email, password="falsch-falsch-1"))
        texts['portal reset'] = visible_text(get('reset'))

        def token(expire=False):
            WebUser = Pool().get('web.user')
            user, = WebUser.search([('email', '=', email)])
            user.set_reset_password_token()
            if expire:
                # web_user sends no new link while the invitation's is valid
                user.reset_password_token_expire = None
            user.save()
            return user.reset_password_token
        run_committed(lambda: token(expire=True))
        texts['portal reset sent'] = visible_text(post('reset', email=email))
        password = f'password?email={email}&token={run_committed(token)}'
        texts['portal password'] = visible_text(get(password))
        # Choosing the password logs the customer in.
        post(password, status=303, password="Umzug-Passwort-2026",
            password2="Umzug-Passwort-2026")
        texts['portal offers'] = visible_text(get('offers'))
        return texts

    def assertTranslated(self, language):
        english, texts = self.texts('en'), self.texts(language)
        self.assertEqual(set(texts), set(english))
        sources = english_sources(language)
        # The English pages show them: the test sees what is untranslated.
        self.assertGreater(len({s for s in sources
                    for text in english.values() if s in text}), 60)
        for name, text in sorted(texts.items()):
            with self.subTest(page=name):
                self.assertNotEqual(text, english[name])
                self.assertEqual(
                    sorted(s for s in sources if s in text), [],
                    f"English in the {language} {name}: {text}")

    def test_german(self):
        "A German customer reads no English on any page or in any email"
        self.assertTranslated('de')

    def test_french(self):
        "A French customer reads no English on any page or in any email"
        self.assertTranslated('fr')
