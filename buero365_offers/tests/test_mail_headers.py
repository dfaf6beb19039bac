# This file is part of Büro 365 Offers.  See the README for licence terms.
"""No header injection into the customers' emails: hostile titles, party
names, subjects and addresses, sent through a real SMTP server, and what
arrives read as raw bytes."""
import base64
import email
import email.policy
import unittest

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

from ..text import has_unsafe
from .smtp import smtp_server
from .tools import (
    OFFER_HEADERS,
    create_offer,
    raw_header_names,
    run_queue,
    run_send_wizard,
    setup_offer_company,
    text_part,
)

EVIL = 'evil.example'


def b64_word(text):
    return f'=?utf-8?b?{base64.b64encode(text.encode()).decode()}?='


def q_word(text):
    "text as a Q encoded word, every byte escaped."
    return '=?utf-8?q?' + ''.join(f'={b:02X}' for b in text.encode()) + '?='


# Texts an outsider can put into a title or a name (a marketplace form, a
# CSV row), each trying to add a header or to replace the body.
HOSTILE = {
    'encoded CR LF': (
        f'=?utf-8?q?Umzug=0D=0AReply-To:_attacker@{EVIL}?='),
    'encoded blank line': (
        '=?utf-8?q?Umzug=0D=0A=0D=0AIhr_Konto_ist_gesperrt?='),
    'base64 Bcc': b64_word(f'Umzug\r\nBcc: victim@{EVIL}'),
    'nested': q_word(b64_word(f'Umzug\r\nBcc: victim@{EVIL}')),
    'raw CR LF': f'Umzug\r\nBcc: victim@{EVIL}',
    'NUL': f'Umzug\x00Bcc: victim@{EVIL}',
    'separators': f'Umzug\u2028Bcc: victim@{EVIL}\x85\u2029Reply-To: x@{EVIL}',
    'direction': 'Umzug \u202egnuhcer\u202c',
    'long': ('Umzug Köln → Aachen '
        f'=?utf-8?q?=0D=0ABcc:_v@{EVIL}?= ' * 60),
    }
class MailHeaderTestCase(unittest.TestCase):
    "Test that no text reaches an email header unchecked"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('buero365_offers')

    def assertOnlyHeaders(self, envelope, expected, recipients):
        "The raw message has exactly these header lines and recipients."
        self.assertEqual(raw_header_names(envelope.content), expected)
        self.assertEqual(sorted(envelope.rcpt_tos), sorted(recipients))
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default)
        for name in message.keys():
            self.assertFalse(has_unsafe(str(message[name])), name)
        for name in ['Bcc', 'Cc']:
            self.assertNotIn(name, message)
        return message

    @with_transaction()
    def test_hostile_titles_and_party_names(self):
        "Hostile titles and names in the subject: one clean line, body intact"
        pool = Pool()
        Template = pool.get('ir.email.template')
        ModelData = pool.get('ir.model.data')
        Offer = pool.get('buero365.offer')
        Party = pool.get('party.party')
        company, _, _ = setup_offer_company()
        Party.write([company.party], {'contact_mechanisms': [('create', [{
                            'type': 'email',
                            'value': 'angebote@buero365.example'}])]})
        # Staff may put the customer's name into the subject.
        template = Template(ModelData.get_id(
                'buero365_offers', 'email_template_offer'))
        template.subject = (
            "Angebot ${record.number} für ${record.party.name}: "
            "${record.title}")
        template.save()
        with set_company(company), smtp_server() as inbox:
            for case, text in HOSTILE.items():
                with self.subTest(case=case):
                    offer = create_offer(email='kunde@example.de')
                    Offer.write([offer], {'title': text})
                    Party.write([offer.party], {'name': text})
                    self.assertFalse(has_unsafe(Offer(offer.id).title))
                    self.assertFalse(has_unsafe(offer.party.name))
                    # Without the PDF: its rendering would only take time.
                    run_send_wizard(Offer(offer.id), attach_pdf=False)
                    run_queue()
                    envelope = inbox.envelopes[-1]
                    message = self.assertOnlyHeaders(
                        envelope, OFFER_HEADERS, ['kunde@example.de'])
                    self.assertEqual(
                        message['Reply-To'], 'angebote@buero365.example')
                    subject = str(message['Subject'])
                    self.assertTrue(subject.startswith(
                            f"Angebot {offer.number} für Umzug"), subject)
                    # What the customer reads is what staff see as sent.
                    mail, = Offer(offer.id).mails
                    self.assertEqual(subject.split(), mail.subject.split())
                    self.assertIn("Dear", text_part(message))
                    self.assertIn(offer.number, text_part(message))
                    self.assertEqual(
                        [p.get_content_type() for p in message.walk()],
                        ['multipart/alternative', 'text/plain', 'text/html'])

    @with_transaction()
    def test_long_subject_keeps_its_spaces(self):
        "A long subject folded over lines reads with every space"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        company, _, _ = setup_offer_company()
        title = "Ein Angebot – Umzug Köln → Aachen"
        with set_company(company), smtp_server() as inbox:
            offer = create_offer(title=title)
            form = run_send_wizard(offer, subject=(
                    f"Aktualisiertes Angebot {offer.number} – Umzug "
                    "Köln → Aachen, Klaviertransport und Einlagerung für "
                    "drei Wochen ohne Aufpreis"))
            run_queue()
            message, = inbox.messages
            # Python's folding alone reads "Köln→ Aachen" here.
            self.assertEqual(message['Subject'], form.subject)
            self.assertEqual(Offer(offer.id).state, 'open')

    @with_transaction()
    def test_unsafe_reply_to_fails_the_email(self):
        "A company address that would break the headers: nothing is sent"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Party = pool.get('party.party')
        company, _, _ = setup_offer_company()
        # A valid address to the party module, decoded to one with a NUL.
        Party.write([company.party], {'contact_mechanisms': [('create', [{
                            'type': 'email',
                            'value': f'=?utf-8?q?a=00b?=@{EVIL}'}])]})
        with set_company(company), smtp_server() as inbox:
            offer = create_offer()
            run_send_wizard(Offer(offer.id))
            run_queue()
            self.assertEqual(inbox.envelopes, [])
            offer = Offer(offer.id)
            self.assertEqual(offer.email_state, 'failed')
            self.assertIn('Reply-To', offer.email_error)
