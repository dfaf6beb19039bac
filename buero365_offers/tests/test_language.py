# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Every email to a customer is in the customer's language, never the
staff user's: a German customer gets German emails from staff working in
English, through a real SMTP server."""
from contextlib import contextmanager

import polib

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tools import file_open
from trytond.transaction import Transaction

from .smtp import smtp_server
from .tools import (
    CustomerRouteTestCase,
    company,
    future,
    html_part,
    load_german,
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
