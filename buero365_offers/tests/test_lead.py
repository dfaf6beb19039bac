# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Leads (sale_opportunity): lead sources, offers from leads, leads that
follow their offers, the CSV import and the conversion reporting."""
import datetime as dt
import email
import email.policy
import unittest
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import create_employee
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    with_transaction,
)
from trytond.tools.chart import sparkline
from trytond.transaction import Transaction

from ..text import has_unsafe
from .smtp import smtp_down, smtp_server
from .tools import (
    OFFER_HEADERS,
    ModuleDatabaseTestCase,
    add_line,
    create_customer,
    create_lead,
    raw_header_names,
    run_queue,
    run_send_wizard,
    setup_offer_company,
)

MODULES = ['buero365_offers', 'sale_opportunity']


@contextmanager
def lead_company():
    """Set up a company whose current user is an employee; yield
    (company, employee)."""
    pool = Pool()
    User = pool.get('res.user')
    company, _, _ = setup_offer_company()
    employee = create_employee(company, name="Lena Vertrieb")
    user = User(Transaction().user)
    User.write([user], {
            'companies': [('add', [company.id])],
            'company': company.id,
            'employees': [('add', [employee.id])],
            'employee': employee.id,
            })
    with Transaction().set_context(User.get_preferences(context_only=True)):
        yield company, employee


def get_source(code):
    pool = Pool()
    LeadSource = pool.get('buero365.lead.source')
    source, = LeadSource.search([('code', '=', code)])
    return source


class _LeadDatabase(ModuleDatabaseTestCase):
    "A database with the offers and sale_opportunity, for the class"
    modules = MODULES


class LeadTestCase(_LeadDatabase):
    "Test leads and lead sources of Büro 365 Offers"

    # --- Lead sources -----------------------------------------------------

    @with_transaction()
    def test_lead_source_used_is_archived_not_deleted(self):
        "A used lead source cannot be deleted but can be deactivated"
        pool = Pool()
        LeadSource = pool.get('buero365.lead.source')
        Offer = pool.get('buero365.offer')
        with lead_company():
            unused = LeadSource(name="Flyer", code='flyer')
            unused.save()
            LeadSource.delete([unused])

            used_by_offer = LeadSource(name="Messe", code='fair')
            used_by_offer.save()
            offer, = Offer.create([{
                        'party': create_customer().id,
                        'title': "Umzug",
                        'lead_source': used_by_offer.id,
                        }])
            with self.assertRaises(AccessError) as cm:
                LeadSource.delete([used_by_offer])
            self.assertIn("Messe", cm.exception.message)
            self.assertIn(offer.rec_name, cm.exception.message)
            self.assertIn("Deactivate", cm.exception.message)

            used_by_lead = LeadSource(name="Radio", code='radio')
            used_by_lead.save()
            lead = create_lead(lead_name="Eva", lead_source=used_by_lead.id)
            with self.assertRaises(AccessError) as cm:
                LeadSource.delete([used_by_lead])
            self.assertIn(lead.rec_name, cm.exception.message)

            # Archived: no longer offered, still on the offer and the lead.
            LeadSource.write([used_by_offer, used_by_lead], {'active': False})
            self.assertNotIn(
                used_by_offer, LeadSource.search([]))
            self.assertEqual(Offer(offer.id).lead_source, used_by_offer)
            self.assertEqual(
                [o.id for o in Offer.search(
                        [('lead_source', '=', used_by_offer.id)])],
                [offer.id])

    # --- Offers from leads ------------------------------------------------

    @with_transaction()
    def test_create_offer_from_lead_without_party(self):
        "A lead without a party gets one from its contact data"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        with lead_company() as (company, employee):
            company.timezone = 'Europe/Berlin'
            company.save()
            lead = create_lead(
                lead_name="Erika Mustermann",
                lead_email=" Erika.Mustermann@Example.DE ",
                lead_phone="+49 30\n1234567",
                service_date=dt.date(2026, 12, 31),
                from_address="Hauptstraße 12, 10115 Berlin",
                to_address="Elbchaussee 5\n22763 Hamburg",
                lead_source=get_source('umzugsfuchs').id)
            self.assertEqual(lead.lead_email, 'erika.mustermann@example.de')
            self.assertEqual(lead.lead_phone, '+49 30 1234567')
            self.assertIsNone(lead.party)

            action = Opportunity.create_offer([lead])
            offer, = lead.offers
            self.assertEqual(action['res_id'], [offer.id])
            self.assertEqual(action['res_model'], 'buero365.offer')

            party = lead.party
            self.assertEqual(party.name, "Erika Mustermann")
            self.assertEqual(party.email, 'erika.mustermann@example.de')
            self.assertEqual(party.phone, '+49 30 1234567')
            address, = party.addresses
            self.assertEqual(
                (address.street, address.postal_code, address.city),
                ("Hauptstraße 12", '10115', "Berlin"))
            self.assertEqual(lead.address, address)
            self.assertEqual(lead.employee, employee)

            self.assertEqual(offer.party, party)
            self.assertEqual(offer.opportunity, lead)
            self.assertEqual(offer.company, company)
            self.assertEqual(offer.email, 'erika.mustermann@example.de')
            self.assertEqual(offer.phone, '+49 30 1234567')
            self.assertEqual(offer.customer_address, address)
            self.assertEqual(offer.lead_source.code, 'umzugsfuchs')
            self.assertEqual(offer.state, 'open')
            # the move date at 8:00 in Berlin (winter: UTC+1), stored in UTC
            self.assertEqual(offer.start, dt.datetime(2026, 12, 31, 7, 0))
            self.assertIn(lead.number, offer.title)
            self.assertEqual(
                [(a.label, a.street, a.postal_code, a.city)
                    for a in offer.addresses],
                [("Moving Out", "Hauptstraße 12", '10115', "Berlin"),
                    ("Moving In", "Elbchaussee 5", '22763', "Hamburg")])
            self.assertFalse(offer.additional_details)

    @with_transaction()
    def test_create_offer_from_lead_as_offer_staff(self):
        "Staff with only the Offers group create offers from leads"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Offer = pool.get('buero365.offer')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        with lead_company() as (company, employee):
            lead = create_lead(
                lead_name="Jana Krüger", lead_email='jana@example.org')
            staff = User(
                login='vertrieb', name="Vertrieb",
                groups=[ModelData.get_id('buero365_offers', 'group_offer')],
                companies=[company], company=company,
                employees=[employee], employee=employee)
            staff.save()
            with Transaction().set_user(staff.id):
                context = User.get_preferences(context_only=True)
            with Transaction().set_user(staff.id), \
                    Transaction().set_context(context, _check_access=True):
                action = Opportunity.create_offer(
                    Opportunity.browse([lead.id]))
                offer, = Offer.browse(action['res_id'])
                self.assertEqual(offer.party.name, "Jana Krüger")
                self.assertEqual(offer.create_uid, staff)
            lead = Opportunity(lead.id)
            self.assertEqual(lead.party, offer.party)

    @with_transaction()
    def test_create_offer_from_lead_with_party(self):
        "A lead's party, address and description prefill the offer"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        with lead_company():
            customer = create_customer(
                "Schmidt Reinigung", email='kontakt@schmidt.example')
            lead = create_lead(
                party=customer.id,
                description="Endreinigung 3-Zimmer-Wohnung",
                to_address="irgendwo im Wedding <b>",
                lead_source=get_source('website').id)
            Opportunity.create_offer([lead])
            offer, = lead.offers
            self.assertEqual(lead.party, customer)
            self.assertEqual(offer.party, customer)
            self.assertEqual(offer.email, 'kontakt@schmidt.example')
            self.assertEqual(offer.title, "Endreinigung 3-Zimmer-Wohnung")
            self.assertEqual(offer.addresses, ())
            # An address that is not "street, postal code city" is kept
            # as text, escaped.
            self.assertEqual(
                offer.additional_details,
                '<p>Moving In: irgendwo im Wedding &lt;b&gt;</p>')

            # A second offer for the same lead
            Opportunity.create_offer([lead])
            self.assertEqual(len(lead.offers), 2)

    @with_transaction()
    def test_lead_contact_email_checked(self):
        "A lead's contact email must be valid"
        with lead_company():
            with self.assertRaises(ValidationError) as cm:
                create_lead(lead_name="Max", lead_email='max@@example.de')
            self.assertIn('max@@example.de', cm.exception.message)

    # --- The lead follows its offers --------------------------------------

    @with_transaction()
    def test_accepted_offer_wins_lead(self):
        "Accepting an offer converts and wins its lead, without a sale"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Offer = pool.get('buero365.offer')
        Date = pool.get('ir.date')
        with lead_company() as (company, employee):
            lead = create_lead(lead_name="Jana", lead_email='jana@example.de')
            Opportunity.create_offer([lead])
            Opportunity.create_offer([lead])
            offer1, offer2 = sorted(lead.offers, key=lambda o: o.id)
            add_line(offer1, '1200.00')
            add_line(offer2, '900.00')

            Offer.reject([offer2])
            self.assertEqual(Opportunity(lead.id).state, 'lead')
            Offer.accept([offer1])

            lead = Opportunity(lead.id)
            self.assertEqual(lead.state, 'won')
            self.assertEqual(lead.amount, Decimal('1200.00'))
            self.assertEqual(lead.converted_by, employee)
            self.assertEqual(lead.end_date, Date.today())
            self.assertEqual(lead.sales, ())

    @with_transaction()
    def test_rejected_and_expired_offers_lose_lead(self):
        "When all offers are rejected or expired the lead is lost, with why"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Offer = pool.get('buero365.offer')
        with lead_company():
            lead = create_lead(lead_name="Kai", lead_email='kai@example.de')
            Opportunity.create_offer([lead])
            Opportunity.create_offer([lead])
            offer1, offer2 = sorted(lead.offers, key=lambda o: o.id)

            offer1.rejection_reason = 'too_expensive'
            offer1.save()
            Offer.reject([offer1])
            # one offer is still open
            self.assertEqual(Opportunity(lead.id).state, 'lead')

            Offer.expire([offer2])
            lead = Opportunity(lead.id)
            self.assertEqual(lead.state, 'lost')
            self.assertEqual(lead.lost_reason.splitlines(), [
                    f"Offer {offer1.rec_name} rejected: Too expensive",
                    f"Offer {offer2.rec_name} expired.",
                    ])

            # The reason given after the rejection is recorded too.
            Offer.write([offer1], {
                    'rejection_reason': 'other_provider',
                    'rejection_comment': "Günstigeres Angebot erhalten",
                    })
            lead = Opportunity(lead.id)
            self.assertEqual(lead.lost_reason.splitlines(), [
                    f"Offer {offer1.rec_name} rejected: "
                    "Chose another provider",
                    "Günstigeres Angebot erhalten",
                    f"Offer {offer2.rec_name} expired.",
                    ])

            # A lost lead is won again when a reopened offer is accepted.
            Offer.reopen([offer2])
            Offer.accept([offer2])
            self.assertEqual(Opportunity(lead.id).state, 'won')

    @with_transaction()
    def test_status_buttons_propose_follow_up(self):
        "With leads, a manual status change still opens the follow-up email"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Opportunity = pool.get('sale.opportunity')
        ModelData = pool.get('ir.model.data')
        Send = pool.get('buero365.offer.send', type='wizard')
        wizard = ModelData.get_id('buero365_offers', 'wizard_send')
        with lead_company():
            lead = create_lead(lead_name="Ute", lead_email='ute@example.de')
            Opportunity.create_offer([lead])
            offer, = lead.offers
            for button, state in [
                    ('accept', 'accepted'),
                    ('reject', 'rejected'),
                    ('expire', 'expired')]:
                with self.subTest(button=button):
                    Offer.reopen([offer])
                    # What the client runs when staff click the button.
                    action = getattr(Offer, button)([offer])
                    self.assertEqual(action, wizard)
                    with Transaction().set_context(
                            active_model='buero365.offer',
                            active_id=offer.id, active_ids=[offer.id]):
                        session_id, _, _ = Send.create()
                        defaults = Send(session_id).default_start(None)
                    self.assertEqual(defaults['purpose'], state)
                    self.assertEqual(
                        defaults['recipients'], 'ute@example.de')

    @with_transaction()
    def test_lead_follows_offers_configurable(self):
        "Leads do not follow their offers when switched off"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Offer = pool.get('buero365.offer')
        Configuration = pool.get('buero365.offer.configuration')
        with lead_company():
            config = Configuration(1)
            self.assertTrue(config.lead_follows_offers)
            config.lead_follows_offers = False
            config.save()
            lead = create_lead(lead_name="Ole", lead_email='ole@example.de')
            Opportunity.create_offer([lead])
            offer, = lead.offers
            Offer.accept([offer])
            self.assertEqual(offer.state, 'accepted')
            self.assertEqual(Opportunity(lead.id).state, 'lead')

    @with_transaction()
    def test_customer_acceptance_wins_lead(self):
        "An acceptance by the customer pages (as root) wins the lead"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Offer = pool.get('buero365.offer')
        with lead_company() as (_, employee):
            # No party and no employee yet: the offer and the user who
            # entered the lead provide them.
            lead = create_lead(lead_name="Uwe", lead_email='uwe@example.de')
            offer, = Offer.create([{
                        'party': create_customer("Uwe Kunde").id,
                        'title': "Umzug",
                        'opportunity': lead.id,
                        }])
            with Transaction().set_user(0), \
                    Transaction().set_context(employee=None):
                Offer.accept([Offer(offer.id)])
            lead = Opportunity(lead.id)
            self.assertEqual(lead.state, 'won')
            self.assertEqual(lead.party, offer.party)
            self.assertEqual(lead.employee, employee)
            # Converted by the one who follows the lead, as by staff.
            self.assertEqual(lead.converted_by, employee)

    @with_transaction()
    def test_lead_without_employee_stays(self):
        "A lead that cannot have an employee is left for staff to close"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Offer = pool.get('buero365.offer')
        User = pool.get('res.user')
        with lead_company():
            User.write([User(Transaction().user)], {'employee': None})
            with Transaction().set_user(0), \
                    Transaction().set_context(employee=None):
                lead = create_lead(lead_name="Ida")
                offer, = Offer.create([{
                            'party': create_customer("Ida Kundin").id,
                            'title': "Umzug",
                            'opportunity': lead.id,
                            }])
                Offer.accept([offer])
            self.assertEqual(Offer(offer.id).state, 'accepted')
            self.assertEqual(Opportunity(lead.id).state, 'lead')

    @with_transaction()
    def test_offer_form_takes_lead_data(self):
        "Choosing the lead on a new offer fills source, customer and contact"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with lead_company():
            customer = create_customer("Tim Tausch")
            lead = create_lead(
                party=customer.id, lead_email='tim@example.de',
                lead_phone='0171 123456',
                lead_source=get_source('referral').id)
            offer = Offer(opportunity=lead)
            offer.on_change_opportunity()
            self.assertEqual(offer.party, customer)
            self.assertEqual(offer.lead_source.code, 'referral')
            self.assertEqual(offer.email, 'tim@example.de')
            self.assertEqual(offer.phone, '0171 123456')


def run_import(data, filename='leads.csv', lead_source=None):
    "Run the import wizard on the file as the client does; return its result."
    pool = Pool()
    LeadImport = pool.get('buero365.lead.import', type='wizard')
    Opportunity = pool.get('sale.opportunity')
    session_id, _, _ = LeadImport.create()
    LeadImport.execute(session_id, {}, 'start')
    answer = LeadImport.execute(session_id, {
            'start': {
                'file': data,
                'filename': filename,
                'lead_source': lead_source.id if lead_source else None,
                },
            }, 'import_')
    view = answer['view']
    assert view['state'] == 'result'
    values = view['values']
    return SimpleNamespace(
        imported=values['imported'], skipped=values['skipped'],
        failed=values['failed'], details=values['details'],
        leads=Opportunity.browse(values['leads']))


class LeadImportTestCase(_LeadDatabase):
    "Test the CSV import of marketplace leads"

    def leads(self):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        return Opportunity.search([], order=[('id', 'ASC')])

    @with_transaction()
    def test_utf8_bom_semicolons_german_dates(self):
        "UTF-8 with BOM, semicolons, quoted fields and German dates"
        data = (
            '\ufeffName;E-Mail;Telefon;Umzugsdatum;Auszug;Einzug;Quelle\r\n'
            'Jürgen Groß;juergen@example.de;030 123;31.12.2026;'
            '"Hauptstraße 12; Hinterhaus, 10115 Berlin";'
            '"Elbchaussee 5, 22763 Hamburg";umzugsfuchs\r\n'
            '"Özlem ""Özi"" Şahin";OEZLEM@Example.de;;01.02.27;;;'
            'Webvermarktung\r\n'
            '\r\n'
            'Anna Berg;anna@example.de;;2026-03-15;;;\r\n'
            ).encode('utf-8')
        with lead_company():
            result = run_import(data)
            self.assertEqual(
                (result.imported, result.skipped, result.failed), (3, 0, 0))
            self.assertEqual(
                result.details.splitlines(),
                ["Imported: 3, skipped: 0, failed: 0."])
            juergen, oezlem, anna = self.leads()
            self.assertEqual(list(result.leads), [juergen, oezlem, anna])
            self.assertEqual(
                (juergen.lead_name, juergen.lead_email, juergen.lead_phone,
                    juergen.service_date, juergen.lead_source.code,
                    juergen.state, juergen.party),
                ("Jürgen Groß", 'juergen@example.de', '030 123',
                    dt.date(2026, 12, 31), 'umzugsfuchs', 'lead', None))
            self.assertEqual(
                juergen.from_address,
                "Hauptstraße 12; Hinterhaus, 10115 Berlin")
            self.assertEqual(
                juergen.to_address, "Elbchaussee 5, 22763 Hamburg")
            self.assertEqual(juergen.description, "Berlin → Hamburg")
            self.assertEqual(oezlem.lead_name, 'Özlem "Özi" Şahin')
            self.assertEqual(oezlem.lead_email, 'oezlem@example.de')
            self.assertEqual(oezlem.service_date, dt.date(2027, 2, 1))
            self.assertEqual(oezlem.lead_source.code, 'webvermarktung')
            self.assertEqual(anna.service_date, dt.date(2026, 3, 15))
            self.assertIsNone(anna.lead_source)

    @with_transaction()
    def test_hostile_rows_cannot_reach_email_headers(self):
        "Encoded words and control characters of a CSV row: cleaned"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        evil = 'evil.example'
        data = (
            'Name;E-Mail;Auszug;Einzug;Bemerkung\r\n'
            f'"=?utf-8?q?Jana=0D=0AReply-To:_x@{evil}?=";jana@example.de;'
            f'"Domplatz 1, 50667 =?utf-8?q?K=C3=B6ln=0D=0ABcc:_v@{evil}?=";'
            f'"Ring 2\r\n52062 Aachen\u2028Bcc: v@{evil}\x85";'
            f'"Zweite\r\nZeile\u202e\x9b"\r\n'
            ).encode('utf-8')
        with lead_company(), smtp_server() as inbox:
            result = run_import(data)
            self.assertEqual((result.imported, result.failed), (1, 0))
            lead, = result.leads
            self.assertEqual(lead.lead_name, f"Jana Reply-To: x@{evil}")
            self.assertEqual(lead.from_address,
                f"Domplatz 1, 50667 Köln Bcc: v@{evil}")
            self.assertEqual(lead.to_address,
                f"Ring 2\n52062 Aachen\nBcc: v@{evil}")
            self.assertEqual(lead.comment, "Zweite\nZeile")
            Opportunity.create_offer([lead])
            offer, = lead.offers
            for text in [offer.title, offer.party.name]:
                self.assertFalse(has_unsafe(text), text)
            self.assertNotIn('=?', offer.title)
            run_send_wizard(offer)
            run_queue()
            envelope, = inbox.envelopes
            self.assertEqual(envelope.rcpt_tos, ['jana@example.de'])
            message = email.message_from_bytes(
                envelope.content, policy=email.policy.default)
            self.assertEqual(raw_header_names(envelope.content),
                [h for h in OFFER_HEADERS if h != 'Reply-To'])
            self.assertIn(offer.number, message['Subject'])
            self.assertFalse(has_unsafe(str(message['Subject'])))

    @with_transaction()
    def test_cp1252_commas_default_source(self):
        "Windows-1252 with umlauts, commas and the wizard's default source"
        data = (
            'name,email,phone,move date,from address,to address\r\n'
            'Müller Jörg,joerg@example.de,"+49 89 1, Büro",'
            '2026-06-01,"Leopoldstraße 1, 80802 München",\r\n'
            'Weiß Käthe,kaethe@example.de,,15.06.2026,,\r\n'
            ).encode('cp1252')
        with lead_company():
            source = get_source('webvermarktung')
            result = run_import(data, lead_source=source)
            self.assertEqual(
                (result.imported, result.skipped, result.failed), (2, 0, 0))
            joerg, kaethe = self.leads()
            self.assertEqual(joerg.lead_name, "Müller Jörg")
            self.assertEqual(joerg.lead_phone, "+49 89 1, Büro")
            self.assertEqual(joerg.from_address,
                "Leopoldstraße 1, 80802 München")
            self.assertEqual(joerg.description, "München")
            self.assertEqual(kaethe.lead_name, "Weiß Käthe")
            self.assertEqual(kaethe.service_date, dt.date(2026, 6, 15))
            self.assertEqual(
                {joerg.lead_source, kaethe.lead_source}, {source})

    @with_transaction()
    def test_duplicates_never_created_twice(self):
        "Same email and date: within the file and against existing leads"
        data = (
            'Name;Email;Move Date;Source\n'
            'Eva Frei;eva@example.de;01.07.2026;website\n'
            'Eva Frei;EVA@example.de;2026-07-01;website\n'
            'Eva Frei;eva@example.de;02.07.2026;website\n'
            'Otto Roth;otto@example.de;01.07.2026;phone\n'
            ).encode('utf-8')
        with lead_company():
            existing = create_lead(
                lead_name="Otto", lead_email='Otto@Example.de',
                service_date=dt.date(2026, 7, 1))
            result = run_import(data)
            self.assertEqual(
                (result.imported, result.skipped, result.failed), (2, 2, 0))
            self.assertEqual(result.details.splitlines(), [
                    "Imported: 2, skipped: 2, failed: 0.",
                    "Line 3 skipped: same email and date as line 2.",
                    "Line 5 skipped: same email and date as the existing "
                    f"lead {existing.rec_name}.",
                    ])
            self.assertEqual(
                sorted((l.lead_email, l.service_date) for l in self.leads()),
                [('eva@example.de', dt.date(2026, 7, 1)),
                    ('eva@example.de', dt.date(2026, 7, 2)),
                    ('otto@example.de', dt.date(2026, 7, 1))])

            # Importing the same file again creates nothing.
            result = run_import(data)
            self.assertEqual(
                (result.imported, result.skipped, result.failed), (0, 4, 0))
            self.assertEqual(len(self.leads()), 3)

    @with_transaction()
    def test_bad_rows_listed_good_rows_imported(self):
        "Each bad row is listed with its reason; the good ones are imported"
        data = (
            'name;email;phone;date;source\n'
            'Gut Eins;eins@example.de;;01.08.2026;umzugsfuchs\n'
            ';ohne-name@example.de;;01.08.2026;\n'
            'Kaputt Mail;kaputt@@example;;01.08.2026;\n'
            'Falsches Datum;datum@example.de;;32.13.2026;\n'
            'Unbekannt;quelle@example.de;;01.08.2026;Zeitung\n'
            'Zu Viele;viele@example.de;;01.08.2026;phone;extra\n'
            'Kein Kontakt;;;01.08.2026;\n'
            'Nur Telefon;;0171 555;;phone\n'
            ).encode('utf-8')
        with lead_company():
            result = run_import(data)
            self.assertEqual(
                (result.imported, result.skipped, result.failed), (2, 0, 6))
            lines = result.details.splitlines()
            self.assertEqual(lines[0], "Imported: 2, skipped: 0, failed: 6.")
            failed = {int(l.split()[1]): l for l in lines[1:]}
            self.assertEqual(sorted(failed), [3, 4, 5, 6, 7, 8])
            self.assertIn("name is missing", failed[3])
            self.assertIn('"kaputt@@example" is not valid', failed[4])
            self.assertIn('"32.13.2026" is not understood', failed[5])
            self.assertIn('"Zeitung"', failed[6])
            self.assertIn("6 columns", failed[7])
            self.assertIn("neither an email nor a phone", failed[8])
            eins, telefon = self.leads()
            self.assertEqual(eins.lead_email, 'eins@example.de')
            self.assertEqual(telefon.lead_phone, '0171 555')
            self.assertIsNone(telefon.lead_email)
            self.assertIsNone(telefon.service_date)
            self.assertEqual(telefon.lead_source.code, 'phone')

    @with_transaction()
    def test_malformed_files_import_nothing(self):
        "A file that is not a lead CSV imports nothing and says why"
        cases = [
            (b'', "empty"),
            (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00', "not a CSV"),
            (bytes(range(1, 256)) * 4, "not a CSV"),
            ('Vorname;Nachname;Wohnort\nA;B;C\n'.encode('utf-8'),
                "must name the columns"),
            ('name;phone;date\nA;0171;01.01.2026\n'.encode('utf-8'),
                "email are missing"),
            ('name;email;e-mail\nA;a@example.de;b@example.de\n'.encode(),
                "more than once"),
            ]
        with lead_company():
            for data, reason in cases:
                with self.subTest(reason=reason, data=data[:20]):
                    with self.assertRaises(UserError) as cm:
                        run_import(data, filename='export.csv')
                    self.assertIn('"export.csv"', cm.exception.message)
                    self.assertIn(reason, cm.exception.message)
                    self.assertEqual(self.leads(), [])


class ReportingTestCase(_LeadDatabase):
    "Test the conversion reporting against hand-computed figures"

    def make_offer(self, source, created, amount=0, answers=(),
            reason=None, sent=False):
        """Create an offer as if on `created`, going through `answers`:
        (transition, days after creation) pairs."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        History = pool.get('buero365.offer.history')
        offer, = Offer.create([{
                    'party': self.customer.id,
                    'title': "Umzug",
                    'lead_source': source.id if source else None,
                    'rejection_reason': reason,
                    }])
        if amount:
            add_line(offer, amount)
        if sent:
            Offer.write([offer], {'email_state': 'sent'})
        for transition, _ in answers:
            getattr(Offer, transition)([offer])
        cursor = Transaction().connection.cursor()
        table = Offer.__table__()
        cursor.execute(*table.update(
                [table.create_date], [created], where=table.id == offer.id))
        history = History.__table__()
        entries = History.search(
            [('offer', '=', offer.id)], order=[('id', 'ASC')])
        for entry, (_, days) in zip(entries, answers):
            cursor.execute(*history.update(
                    [history.date], [created + dt.timedelta(days=days)],
                    where=history.id == entry.id))
        # The dates the reports read, from the backdated history, as a
        # database upgrade sets them.
        Offer.fill_reporting_dates()
        return offer

    @with_transaction()
    def test_first_answer_kept_on_offer(self):
        "The first acceptance or rejection stays the offer's answer date"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        History = pool.get('buero365.offer.history')

        def answered(offer):
            return Offer(offer.id).first_answered_at

        def history_date(offer, state):
            entry, = History.search([
                    ('offer', '=', offer.id), ('to_state', '=', state)],
                limit=1, order=[('id', 'ASC')])
            return entry.date

        with lead_company():
            self.customer = create_customer()
            accepted = self.make_offer(None, dt.datetime(2026, 3, 2))
            rejected = self.make_offer(None, dt.datetime(2026, 3, 2))
            expired = self.make_offer(None, dt.datetime(2026, 3, 2))
            self.assertIsNone(answered(accepted))

            Offer.accept([accepted])
            first = answered(accepted)
            self.assertEqual(first, history_date(accepted, 'accepted'))
            # Reopening and answering again keep the first answer.
            Offer.reopen([accepted])
            self.assertEqual(answered(accepted), first)
            Offer.reject([accepted])
            self.assertEqual(answered(accepted), first)

            Offer.reject([rejected])
            self.assertEqual(
                answered(rejected), history_date(rejected, 'rejected'))

            # Expiry is no answer; an answer after reopening is the first.
            Offer.expire([expired])
            self.assertIsNone(answered(expired))
            Offer.reopen([expired])
            Offer.accept([expired])
            self.assertEqual(
                answered(expired), history_date(expired, 'accepted'))

            # A copy is a new offer, never answered.
            copy, = Offer.copy([accepted])
            self.assertIsNone(copy.first_answered_at)

            # A database upgrade sets the same dates from the history.
            dates = {o.id: answered(o) for o in [accepted, rejected, expired]}
            cursor = Transaction().connection.cursor()
            table = Offer.__table__()
            cursor.execute(*table.update([table.first_answered_at], [None]))
            Offer.fill_reporting_dates()
            self.assertEqual(
                {i: answered(Offer(i)) for i in dates}, dates)

    @with_transaction()
    def test_first_sending_kept_on_offer(self):
        "The first successful email of the offer is its sending date"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with lead_company():
            self.customer = create_customer()
            offer = self.make_offer(None, dt.datetime(2026, 3, 2))
            Offer.write([offer], {'email': 'kunde@example.com'})
            with smtp_down():
                run_send_wizard(offer)
                run_queue()
            # a failed email is no sending
            self.assertIsNone(Offer(offer.id).first_sent_at)

            with smtp_server():
                Offer.retry_send([offer])
                run_queue()
            offer = Offer(offer.id)
            mail, = offer.mails
            self.assertEqual(offer.first_sent_at, mail.sent_at)

            # Sending again and the follow-up of the answer keep it.
            with smtp_server():
                run_send_wizard(offer)
                run_queue()
                Offer.accept([offer])
                run_send_wizard(offer)
                run_queue()
            offer = Offer(offer.id)
            self.assertEqual(len(offer.mails), 3)
            self.assertEqual(offer.first_sent_at, mail.sent_at)

            copy, = Offer.copy([offer])
            self.assertIsNone(copy.first_sent_at)

    @with_transaction()
    def test_answer_time_from_first_sending(self):
        "The answer time runs from the first email; a failed resend counts"
        pool = Pool()
        Main = pool.get('buero365.offer.reporting.main')
        Offer = pool.get('buero365.offer')
        Mail = pool.get('buero365.offer.mail')
        created = dt.datetime(2026, 3, 2, 9)
        with lead_company() as (company, _):
            self.customer = create_customer()
            offer = self.make_offer(
                get_source('umzugsfuchs'), created, '100', [('accept', 5)])
            Mail.create([{
                        'offer': offer.id, 'purpose': 'offer', 'revision': 1,
                        'state': 'sent',
                        'sent_at': created + dt.timedelta(days=2),
                        }, {
                        'offer': offer.id, 'purpose': 'offer', 'revision': 1,
                        'state': 'sent',
                        'sent_at': created + dt.timedelta(days=4),
                        }, {
                        'offer': offer.id, 'purpose': 'accepted',
                        'revision': 1, 'state': 'sent',
                        'sent_at': created + dt.timedelta(days=5),
                        }])
            Offer.fill_reporting_dates()
            # answered by phone, never sent by email
            self.make_offer(
                get_source('umzugsfuchs'), created, '50', [('accept', 1)])
            # sent once, then a resend failed: still a sent offer
            open_offer = self.make_offer(get_source('website'), created)
            Offer.write([open_offer], {
                    'sent_revision': 1, 'email_state': 'failed'})

            with Transaction().set_context(
                    company=company.id, period='month',
                    from_date=dt.date(2026, 3, 1),
                    to_date=dt.date(2026, 3, 31)):
                main, = Main.search([])
                # answers 3 days after the first email and 1 day after
                # creation: the median of 1 and 3 days is 2
                self.assertEqual(
                    (main.sent, main.accepted, main.answered,
                        main.median_answer_time),
                    (3, 2, 2, dt.timedelta(days=2)))
                self.assertAlmostEqual(main.acceptance_rate, 2 / 3)

    @with_transaction()
    def test_figures_per_lead_source_and_month(self):
        "Sent, answers, acceptance rate, amount, median time and reasons"
        pool = Pool()
        Main = pool.get('buero365.offer.reporting.main')
        MainTimeseries = pool.get(
            'buero365.offer.reporting.main.time_series')
        Source = pool.get('buero365.offer.reporting.lead_source')
        SourceTimeseries = pool.get(
            'buero365.offer.reporting.lead_source.time_series')
        Reason = pool.get('buero365.offer.reporting.rejection_reason')

        def jan(day, hour=9):
            return dt.datetime(2026, 1, day, hour)

        def feb(day, hour=9):
            return dt.datetime(2026, 2, day, hour)

        with lead_company() as (company, _):
            self.customer = create_customer()
            a = get_source('umzugsfuchs')
            b = get_source('website')
            make = self.make_offer
            # Umzugsfuchs, January
            make(a, jan(5), '100.00', [('accept', 1)])
            make(a, jan(10), '250.50', [('accept', 3)])
            make(a, jan(12), '70', [('reject', 2)], reason='too_expensive')
            make(a, jan(13))                                # not sent
            make(a, jan(14), sent=True)                     # no answer yet
            make(a, jan(15), '30', [('expire', 20)])
            # Umzugsfuchs, February
            make(a, feb(2), '60', [('reject', 4)], reason='too_expensive')
            make(a, feb(3), '80.00',
                [('reject', 1), ('reopen', 2), ('accept', 3)],
                reason='other_provider')                    # first answer 1 d
            make(a, feb(4), '90', [('reject', 6)], reason='other_provider')
            # Website, January
            make(b, jan(20, 8), '55', [('reject', 0.5)],
                reason='hidden_costs')
            make(b, jan(21))
            # No source, January
            make(None, jan(22), '40.00', [('accept', 2)])
            # Before the period
            make(a, dt.datetime(2025, 12, 30), '999', [('accept', 1)])

            days = dt.timedelta(days=1)
            with Transaction().set_context(
                    company=company.id, period='month',
                    from_date=dt.date(2026, 1, 1),
                    to_date=dt.date(2026, 2, 28)):
                def figures(row):
                    return (row.sent, row.accepted, row.rejected,
                        row.expired, row.accepted_amount, row.answered,
                        row.median_answer_time)

                main, = Main.search([])
                # answers: 1 1 2 3 4 6 (Umzugsfuchs) 0.5 (Website) 2
                self.assertEqual(figures(main), (
                        10, 4, 4, 1, Decimal('470.50'), 8, 2 * days))
                self.assertAlmostEqual(main.acceptance_rate, 0.4)
                self.assertEqual(main.currency, company.currency)

                self.assertEqual(
                    [(ts.date, figures(ts))
                        for ts in MainTimeseries.search([])], [
                        (dt.date(2026, 1, 1), (
                                7, 3, 2, 1, Decimal('390.50'), 5,
                                2 * days)),
                        (dt.date(2026, 2, 1), (
                                3, 1, 2, 0, Decimal('80.00'), 3,
                                4 * days)),
                        ])

                rows = {r.lead_source: r for r in Source.search([])}
                self.assertEqual(set(rows), {a, b})
                self.assertEqual(rows[a].id, a.id)
                # median of 1 1 2 3 4 6 days: (2 + 3) / 2
                self.assertEqual(figures(rows[a]), (
                        8, 3, 3, 1, Decimal('430.50'), 6, 2.5 * days))
                self.assertAlmostEqual(rows[a].acceptance_rate, 3 / 8)
                self.assertEqual(figures(rows[b]), (
                        1, 0, 1, 0, Decimal('0'), 1, 0.5 * days))
                self.assertEqual(rows[b].acceptance_rate, 0)

                series = rows[a].time_series
                self.assertEqual(
                    [(ts.date, figures(ts)) for ts in series], [
                        (dt.date(2026, 1, 1), (
                                5, 2, 1, 1, Decimal('350.50'), 3,
                                2 * days)),
                        (dt.date(2026, 2, 1), (
                                3, 1, 2, 0, Decimal('80.00'), 3,
                                4 * days)),
                        ])
                self.assertAlmostEqual(series[1].acceptance_rate, 1 / 3)
                self.assertEqual(
                    len(SourceTimeseries.search([('lead_source', '=', b.id)])),
                    1)
                # The trends are the series' figures, on the series' rows.
                self.assertEqual(list(main.time_series),
                    MainTimeseries.search([]))
                self.assertEqual(main.sent_trend, sparkline([7, 3]))
                self.assertEqual(main.acceptance_trend,
                    sparkline([3 / 7, 1 / 3]))
                self.assertEqual(rows[a].sent_trend, sparkline([5, 3]))

                self.assertEqual(
                    [(r.lead_source, r.rejection_reason, r.number,
                            round(r.share, 4))
                        for r in Reason.search([])], [
                        (a, 'too_expensive', 2, 0.6667),
                        (a, 'other_provider', 1, 0.3333),
                        (b, 'hidden_costs', 1, 1.0),
                        ])

            # The period limits the offers by their creation.  The row is
            # the company's: forget what was read for the other period
            # (each request of a client is a transaction of its own).
            for cache in Transaction().cache.values():
                cache.clear()
            with Transaction().set_context(
                    company=company.id, period='month',
                    from_date=dt.date(2026, 2, 1),
                    to_date=dt.date(2026, 2, 3)):
                main, = Main.search([])
                self.assertEqual((main.sent, main.accepted), (2, 1))
            # Another company sees nothing.
            with Transaction().set_context(company=-1):
                self.assertEqual(Main.search([]), [])


    @unittest.skipIf(backend.name != 'postgresql',
        "the planner's statistics are PostgreSQL's")
    @with_transaction()
    def test_planner_knows_the_periods(self):
        "PostgreSQL estimates the periods of the offers, not one an offer"
        pool = Pool()
        MainTimeseries = pool.get(
            'buero365.offer.reporting.main.time_series')
        cursor = Transaction().connection.cursor()
        with lead_company() as (company, _):
            self.customer = create_customer()
            source = get_source('website')
            for day in range(1, 21):
                for month in [1, 2]:
                    self.make_offer(source, dt.datetime(2026, month, day))
            cursor.execute('ANALYZE buero365_offer')
            for period, periods in [('month', 2), ('day', 40), ('year', 1)]:
                with Transaction().set_context(
                        company=company.id, period=period,
                        from_date=dt.date(2026, 1, 1),
                        to_date=dt.date(2026, 2, 28)):
                    query = MainTimeseries.table_query()
                    cursor.execute('EXPLAIN (FORMAT JSON) ' + str(query),
                        query.params)
                    plan, = cursor.fetchone()[0]
                    # The grouping's estimate (without the statistics: the
                    # 40 offers, one a period, for every period).
                    self.assertLessEqual(
                        plan['Plan']['Plan Rows'], periods + 2, period)
