#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Fill a database where buero365_offers is activated with demo offers.

    python scripts/demo_data.py -c trytond.conf -d DATABASE --offers 1000 \\
        [--seed 42] [--batch 2000]

The set-up (country DE, currency EUR, the company "Büro 365 Umzüge GmbH" as
the admin's company, a minimal chart of accounts, the taxes "USt 19 %" and
"USt 7 %", service products) goes through the ORM and is created only when
missing.  The offers, their customers (party, postal address, email and
phone), lines, taxes of the lines, service addresses, status history and
customer links (one per revision, as the module makes them) are
inserted in batches with plain SQL (COPY on PostgreSQL, multi-row INSERT on
SQLite) and committed per batch, so that a million offers take minutes.
Numbers, party codes and totals are computed here exactly as the module and
the party module do; the sequences are advanced so that offers and parties
created later through the ORM do not collide.

The content is deterministic for a seed, a number of offers and a batch size,
relative to the time the script runs (creation dates span the 18 months
before it); running the script again adds other offers (the seed is combined
with the number of offers already there) but never a second company.
Customer link tokens are random (secrets), never derived from the seed.

The functions setup() and generate_offers() run inside an existing trytond
transaction, so tests can import this file and call them.
"""
import argparse
import bisect
import datetime as dt
import hashlib
import html
import itertools
import random
import secrets
import sys
import time
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

__all__ = ['setup', 'generate_offers', 'main', 'run_committed',
    'create_offer_templates', 'COMPANY_NAME']

COMPANY_NAME = "Büro 365 Umzüge GmbH"

# The default terms of the demo company (module configuration), copied into
# every offer: the customer accepts them when signing.
DEFAULT_TERMS = """\
<h3>Allgemeine Geschäftsbedingungen der Büro 365 Umzüge GmbH</h3>
<p><strong>§ 1 Geltungsbereich.</strong> Diese Bedingungen gelten für alle
Umzugs-, Montage-, Entrümpelungs- und Reinigungsleistungen der Büro 365
Umzüge GmbH (Auftragnehmer). Für Umzüge gelten ergänzend die §§ 451 bis 451h
des Handelsgesetzbuchs (HGB).</p>
<p><strong>§ 2 Angebot und Vertrag.</strong> Das Angebot gilt bis zu dem
darin genannten Datum. Der Vertrag kommt zustande, wenn der Auftraggeber
das Angebot schriftlich, per E-Mail oder durch Unterschrift auf der
Angebotsseite annimmt. Die Preise beruhen auf den Angaben des Auftraggebers
zu Umfang, Etagen, Aufzug, Trage- und Parkweg; zusätzlicher Aufwand wird
nach den Stundensätzen des Angebots berechnet.</p>
<p><strong>§ 3 Mitwirkung des Auftraggebers.</strong> Der Auftraggeber sorgt
für freie Zugänge und, soweit nicht angeboten, für Halteverbotszonen.
Bargeld, Schmuck, Wertpapiere, wichtige Dokumente und gefährliche Stoffe
befördert der Auftraggeber selbst.</p>
<p><strong>§ 4 Haftung.</strong> Der Auftragnehmer haftet für Verlust und
Beschädigung des Umzugsguts nach den §§ 451d bis 451g HGB, begrenzt auf
620 Euro je Kubikmeter Laderaum, der zur Erfüllung des Vertrags benötigt
wird (§ 451e HGB). Eine weitergehende Transportversicherung kann gegen
Aufpreis abgeschlossen werden.</p>
<p><strong>§ 5 Schadensanzeige.</strong> Äußerlich erkennbare Schäden oder
Verluste sind spätestens am Tag nach der Ablieferung, äußerlich nicht
erkennbare innerhalb von 14 Tagen nach der Ablieferung in Textform
anzuzeigen; sonst erlöschen die Ansprüche (§ 451f HGB).</p>
<p><strong>§ 6 Zahlung.</strong> Bei Umzügen ist der Rechnungsbetrag vor
Beendigung der Entladung fällig (bar, Karte oder Überweisung mit Eingang vor
dem Termin), bei anderen Leistungen innerhalb von 14 Tagen nach
Rechnungsstellung ohne Abzug.</p>
<p><strong>§ 7 Absage und Verschiebung.</strong> Termine können bis 7 Tage
vorher kostenfrei verschoben werden, soweit freie Termine bestehen. Sagt
der Auftraggeber später ab, kann der Auftragnehmer ein Drittel der
vereinbarten Vergütung verlangen (§ 415 Abs. 2 HGB).</p>
<p><strong>§ 8 Widerrufsrecht.</strong> Verbraucher können einen per E-Mail
oder über die Angebotsseite geschlossenen Vertrag binnen 14 Tagen ohne
Angabe von Gründen widerrufen (§§ 312g, 355 BGB). Beginnt die Leistung auf
ihren Wunsch vor Ablauf der Frist, schulden sie bei Widerruf Wertersatz für
bereits erbrachte Leistungen (§ 357a BGB).</p>
<p><strong>§ 9 Schlussbestimmungen.</strong> Es gilt deutsches Recht. Ist eine
Bestimmung unwirksam, bleiben die übrigen wirksam. Wir nehmen nicht an
Streitbeilegungsverfahren vor einer Verbraucherschlichtungsstelle
teil.</p>
"""
TIMEZONE = ZoneInfo('Europe/Berlin')
UTC = dt.timezone.utc
HISTORY_DAYS = 548  # about 18 months

# Services sold from the catalogue: key -> (name, unit, list price).
SERVICES = {
    'helper': ("Umzugshelfer", 'uom_hour', '39.90'),
    'truck': ("LKW 7,5 t inkl. Fahrer", 'uom_hour', '69.00'),
    'box': ("Umzugskarton", 'uom_unit', '2.49'),
    'assembly': ("Möbelmontage", 'uom_hour', '49.00'),
    'no_parking': ("Halteverbotszone (pauschal)", 'uom_unit', '129.00'),
    'final_cleaning': ("Endreinigung", 'uom_square_meter', '4.20'),
    'clearance': ("Entrümpelung", 'uom_cubic_meter', '59.00'),
    'piano': ("Klaviertransport", 'uom_unit', '349.00'),
    'windows': ("Fensterreinigung", 'uom_hour', '34.50'),
    'office_cleaning': ("Büroreinigung", 'uom_hour', '32.00'),
    'packing': ("Ein- und Auspackservice", 'uom_hour', '39.90'),
    }

# Services typed in as free text (no product): description, unit, price,
# tax ('19' or '7').
FREE_SERVICES = {
    'travel': ("Anfahrtspauschale", 'uom_unit', '49.00', '19'),
    'truck_12t': ("LKW 12 t inkl. Fahrer", 'uom_hour', '89.00', '19'),
    'disposal': ("Entsorgung Altmöbel", 'uom_cubic_meter', '45.00', '19'),
    'storage': ("Einlagerung (pro Monat)", 'uom_unit', '89.00', '19'),
    'stairs': ("Treppenzuschlag ab 3. OG", 'uom_unit', '60.00', '19'),
    'lamps': ("Lampenmontage", 'uom_unit', '25.00', '19'),
    'kitchen': ("Küchenab- und -aufbau", 'uom_unit', '450.00', '19'),
    'washer': ("Waschmaschine anschließen", 'uom_unit', '39.00', '19'),
    'oven': ("Backofen- und Dunstabzugsreinigung", 'uom_unit', '49.00',
        '19'),
    'carpet': ("Teppichreinigung", 'uom_square_meter', '6.50', '19'),
    'electronics': ("Entsorgung Elektrogeräte", 'uom_unit', '25.00', '19'),
    'flowers': ("Blumenstrauß zum Einzug", 'uom_unit', '29.90', '7'),
    }

# The offer templates of the demo company (Offers / Configuration / Offer
# Templates): name, job type (XML id of the module), title, content,
# additional details, validity in days, services (a key of SERVICES or
# FREE_SERVICES, quantity, and for a service to choose: 'optional' or
# 'alternative', its group and whether it is chosen in advance), the
# labels of the service addresses and the
# deposit in percent (None: none).  The placeholders are filled from the
# offer the template is chosen on.
OFFER_TEMPLATES = [
    ("Privatumzug", 'job_type_moving', "Privatumzug {customer_name}",
        """<p>Guten Tag {customer_name},</p>
<p>vielen Dank für Ihre Anfrage. Gern übernehmen wir Ihren Umzug am
<strong>{start_date}</strong> ab {start_time} Uhr:</p>
<p>{addresses}</p>
<p>Unser Festpreis umfasst das Beladen, den Transport im LKW mit
Möbelschutzdecken und Spanngurten, das Entladen und die Montage der
genannten Möbel. Ihr Umzugsgut ist nach § 451e HGB versichert.</p>
<p>Mit freundlichen Grüßen<br/>Ihr Umzugsteam der {company_name}</p>""",
        """<ul>
<li>Die Umzugskartons liefern wir eine Woche vor dem Termin.</li>
<li>Die Halteverbotszonen beantragen wir bei der Stadt, spätestens
14 Tage vor dem {start_date}.</li>
<li>Bitte nennen Sie uns zerbrechliche oder besonders wertvolle Stücke
vorab.</li>
</ul>""",
        21, [('helper', 12), ('truck', 6, 'alternative', "LKW", True),
            ('truck_12t', 6, 'alternative', "LKW", False), ('box', 40),
            ('no_parking', 2), ('assembly', 3),
            ('packing', 4, 'optional', None, False), ('travel', 1)],
        ["Auszug", "Einzug"], 20),
    ("Endreinigung (Wohnung/Büro)", 'job_type_cleaning',
        "Endreinigung {customer_name}",
        """<p>Guten Tag {customer_name},</p>
<p>gern reinigen wir Ihre Räume am <strong>{start_date}</strong> ab
{start_time} Uhr besenrein bis übergabefertig:</p>
<p>{addresses}</p>
<p>Enthalten sind alle Böden, Türen und Zargen, Heizkörper, Küche und
Bad einschließlich Armaturen sowie die Fenster mit Rahmen. Reinigungsmittel
und Geräte bringen wir mit.</p>
<p>Mit freundlichen Grüßen<br/>Ihr Reinigungsteam der {company_name}</p>""",
        """<ul>
<li>Bitte sorgen Sie dafür, dass Strom und Wasser verfügbar sind.</li>
<li>Auf Wunsch begleiten wir die Wohnungsübergabe mit dem Vermieter.</li>
</ul>""",
        14, [('final_cleaning', 85), ('windows', 3), ('oven', 1),
            ('travel', 1)],
        ["Reinigungsobjekt"], None),
    ("Entrümpelung", 'job_type_clearance', "Entrümpelung {customer_name}",
        """<p>Guten Tag {customer_name},</p>
<p>gern räumen wir am <strong>{start_date}</strong> ab {start_time} Uhr
für Sie:</p>
<p>{addresses}</p>
<p>Wir tragen alles heraus, trennen Holz, Metall, Elektrogeräte und
Restmüll und entsorgen fachgerecht bei zugelassenen Betrieben. Die Räume
übergeben wir besenrein.</p>
<p>Mit freundlichen Grüßen<br/>Ihr Team der {company_name}</p>""",
        """<ul>
<li>Verwertbare Gegenstände rechnen wir auf Wunsch an.</li>
<li>Sondermüll (Farben, Öle, Asbest) ist nicht enthalten.</li>
</ul>""",
        30, [('clearance', 15), ('helper', 6), ('disposal', 5),
            ('electronics', 3), ('travel', 1)],
        ["Objekt"], None),
    ]

# City, postal codes (from, to), phone area code without 0, weight
CITIES = [
    ("Berlin", 10115, 14199, '30', 30),
    ("Hamburg", 20095, 22769, '40', 14),
    ("München", 80331, 81929, '89', 12),
    ("Köln", 50667, 51149, '221', 9),
    ("Frankfurt am Main", 60306, 60599, '69', 7),
    ("Stuttgart", 70173, 70629, '711', 6),
    ("Düsseldorf", 40210, 40629, '211', 6),
    ("Leipzig", 4103, 4357, '341', 6),
    ("Dortmund", 44135, 44388, '231', 5),
    ("Essen", 45127, 45359, '201', 5),
    ("Bremen", 28195, 28779, '421', 4),
    ("Dresden", 1067, 1328, '351', 5),
    ("Hannover", 30159, 30669, '511', 5),
    ("Nürnberg", 90402, 90491, '911', 4),
    ("Duisburg", 47051, 47279, '203', 3),
    ("Bochum", 44787, 44894, '234', 3),
    ("Wuppertal", 42103, 42399, '202', 3),
    ("Bielefeld", 33602, 33739, '521', 3),
    ("Bonn", 53111, 53229, '228', 3),
    ("Münster", 48143, 48167, '251', 3),
    ("Mannheim", 68159, 68309, '621', 3),
    ("Karlsruhe", 76131, 76229, '721', 3),
    ("Augsburg", 86150, 86199, '821', 2),
    ("Wiesbaden", 65183, 65207, '611', 2),
    ("Kiel", 24103, 24159, '431', 2),
    ("Potsdam", 14467, 14482, '331', 4),
    ("Rostock", 18055, 18147, '381', 2),
    ("Freiburg im Breisgau", 79098, 79117, '761', 2),
    ("Mainz", 55116, 55131, '6131', 2),
    ("Erfurt", 99084, 99099, '361', 2),
    ("Magdeburg", 39104, 39130, '391', 2),
    ("Lübeck", 23552, 23570, '451', 2),
    ("Regensburg", 93047, 93059, '941', 1),
    ("Heidelberg", 69115, 69126, '6221', 1),
    ("Göttingen", 37073, 37085, '551', 1),
    ("Offenbach am Main", 63065, 63075, '69', 1),
    ("Oranienburg", 16515, 16515, '3301', 1),
    ("Bernau bei Berlin", 16321, 16321, '3338', 1),
    ]

COMMON_STREETS = [
    "Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße",
    "Dorfstraße", "Bergstraße", "Birkenweg", "Lindenstraße", "Kirchstraße",
    "Waldstraße", "Ringstraße", "Schillerstraße", "Goethestraße",
    "Jahnstraße", "Mozartstraße", "Friedrichstraße", "Berliner Straße",
    "Am Markt", "Rosenweg", "Wiesenweg", "Feldstraße", "Mühlenweg",
    "Kastanienallee", "Lessingstraße", "Heinestraße", "Parkstraße",
    "Beethovenstraße", "Uhlandstraße", "Am Sportplatz", "Eichendorffstraße",
    "Blumenstraße", "Ahornweg", "Kantstraße", "Poststraße", "Marktplatz",
    "Karl-Marx-Straße", "Hafenstraße", "Lindenallee", "Sonnenallee",
    "Breite Straße",
    ]

COMMON_SURNAMES = [
    ('Müller', 12), ('Schmidt', 10), ('Schneider', 7), ('Fischer', 7),
    ('Weber', 6), ('Meyer', 6), ('Wagner', 5), ('Becker', 5),
    ('Schulz', 5), ('Hoffmann', 5), ('Schäfer', 4), ('Koch', 4),
    ('Bauer', 4), ('Richter', 4), ('Klein', 4), ('Wolf', 4),
    ('Schröder', 3), ('Neumann', 3), ('Schwarz', 3), ('Zimmermann', 3),
    ('Braun', 3), ('Krüger', 3), ('Hofmann', 3), ('Hartmann', 3),
    ('Lange', 3), ('Werner', 3), ('Krause', 3), ('Lehmann', 3),
    ('Köhler', 2), ('Özdemir', 2), ('Yılmaz', 2), ('Nowak', 2),
    ('Kaya', 1), ('Kowalski', 1), ('Popović', 1), ('Nguyen', 1),
    ]

COMPANY_TRADES = [
    "Umzüge", "Immobilien", "Hausverwaltung", "Logistik", "Bau",
    "Steuerberatung", "Architekten", "Consulting", "IT-Service",
    "Gebäudeservice", "Versicherungsmakler", "Zahntechnik", "Werbeagentur",
    "Elektrotechnik", "Möbelhaus",
    ]
COMPANY_SUFFIXES = [
    "GmbH", "GmbH", "GmbH", "GmbH", "GmbH & Co. KG", "GmbH & Co. KG", "AG",
    "e.K.", "KG", "OHG", "UG (haftungsbeschränkt)", "GbR",
    ]
FREE_MAIL_DOMAINS = [
    'gmx.de', 'gmx.de', 'gmx.de', 'web.de', 'web.de', 'web.de',
    't-online.de', 't-online.de', 'gmail.com', 'gmail.com', 'outlook.de',
    'posteo.de', 'icloud.com', 'freenet.de', 'yahoo.de', 'mail.de',
    ]
MOBILE_PREFIXES = [
    '151', '152', '157', '159', '160', '162', '163', '170', '171', '172',
    '173', '174', '175', '176', '177', '178', '179',
    ]
FLOORS = [
    ('Souterrain', 2), ('EG', 20), ('1. OG', 20), ('2. OG', 17),
    ('3. OG', 13), ('4. OG', 9), ('5. OG', 6), ('6. OG', 3),
    ('DG', 10),
    ]
ROOMS = [1, 2, 2, 3, 3, 3, 4, 4, 5]

# code -> weight
LEAD_SOURCE_WEIGHTS = {
    'umzugsfuchs': 30,
    'webvermarktung': 20,
    'website': 25,
    'referral': 10,
    'phone': 15,
    }

REJECTIONS = [
    ('too_expensive', 35, [
            "Ein anderes Angebot war deutlich günstiger.",
            "Leider über unserem Budget.",
            "Zu teuer für die paar Möbel.",
            ]),
    ('other_provider', 30, [
            "Wir haben uns für ein anderes Unternehmen entschieden.",
            "Ein Bekannter hilft uns jetzt mit einem Transporter.",
            ]),
    ('not_fitting', 15, [
            "Der Termin passt leider nicht.",
            "Wir brauchen doch keinen Lkw, nur Helfer.",
            ]),
    ('hidden_costs', 8, [
            "Die Halteverbotszone war im Gespräch nicht erwähnt.",
            "Die Anfahrt kostet extra? Das war so nicht abgesprochen.",
            ]),
    ('other', 12, [
            "Der Umzug findet doch nicht statt.",
            "Die Wohnung wurde uns leider abgesagt.",
            "Vermieter übernimmt die Reinigung.",
            ]),
    ]

# The share of offers that ask for a deposit, and its percentages.
DEPOSIT_SHARE = 0.25
DEPOSIT_PERCENTS = [20, 30]

OFFER_FIELDS = [
    'id', 'company', 'currency', 'number', 'party', 'email', 'phone',
    'customer_address', 'title', 'content', 'additional_details', 'terms',
    'start', 'end', 'valid_until', 'lead_source', 'untaxed_amount',
    'tax_amount', 'total_amount', 'deposit_type', 'deposit_value',
    'state', 'email_state', 'revision',
    'sent_revision', 'email_opened_at', 'page_opened_at',
    'signed_by', 'signed_at', 'rejection_reason', 'rejection_comment',
    'first_sent_at', 'first_answered_at',
    'create_date', 'create_uid', 'write_date', 'write_uid', 'search_key',
    ]
LINE_FIELDS = [
    'id', 'offer', 'sequence', 'product', 'description', 'quantity', 'unit',
    'unit_price', 'discount_rate', 'choice', 'selected', 'create_date',
    'create_uid',
    ]
LINE_TAX_FIELDS = ['id', 'line', 'tax', 'create_date', 'create_uid']
ADDRESS_FIELDS = [
    'id', 'offer', 'sequence', 'label', 'street', 'postal_code', 'city',
    'country', 'floor', 'lift', 'parking_zone', 'walking_distance',
    'create_date', 'create_uid',
    ]
HISTORY_FIELDS = [
    'id', 'offer', 'date', 'user', 'from_state', 'to_state', 'create_date',
    'create_uid',
    ]
LINK_FIELDS = [
    'id', 'offer', 'revision', 'token', 'token_hash', 'create_date',
    'create_uid',
    ]
PARTY_FIELDS = [
    'id', 'name', 'code', 'code_alnum', 'code_digit', 'active', 'search_key',
    'create_date', 'create_uid',
    ]
PARTY_ADDRESS_FIELDS = [
    'id', 'party', 'street_name', 'building_number', 'postal_code', 'city',
    'country', 'active', 'create_date', 'create_uid',
    ]
CONTACT_FIELDS = [
    'id', 'party', 'type', 'value', 'value_compact', 'active', 'sequence',
    'create_date', 'create_uid',
    ]


# ---------------------------------------------------------------- set-up

def _admin_user():
    from trytond.pool import Pool
    User = Pool().get('res.user')
    users = User.search([('login', '=', 'admin')], limit=1)
    return users[0] if users else None


def _get_country():
    from trytond.pool import Pool
    Country = Pool().get('country.country')
    countries = Country.search([('code', '=', 'DE')], limit=1)
    if countries:
        return countries[0]
    country, = Country.create([{
                'name': "Germany",
                'code': 'DE',
                'code3': 'DEU',
                'code_numeric': '276',
                }])
    return country


def _get_currency():
    from trytond.pool import Pool
    pool = Pool()
    Currency = pool.get('currency.currency')
    Rate = pool.get('currency.currency.rate')
    currencies = Currency.search([('code', '=', 'EUR')], limit=1)
    if currencies:
        currency, = currencies
    else:
        currency, = Currency.create([{
                    'name': "Euro",
                    'symbol': "€",
                    'code': 'EUR',
                    'numeric_code': '978',
                    'rounding': Decimal('0.01'),
                    'digits': 2,
                    }])
    if not currency.rates:
        Rate.create([{
                    'currency': currency.id,
                    'rate': Decimal(1),
                    'date': dt.date(2000, 1, 1),
                    }])
    return currency


def _get_company(currency, country):
    from trytond.pool import Pool
    pool = Pool()
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    companies = Company.search([('party.name', '=', COMPANY_NAME)], limit=1)
    if companies:
        return companies[0]
    party, = Party.create([{
                'name': COMPANY_NAME,
                'addresses': [('create', [{
                                'street_name': "Friedrichstraße",
                                'building_number': "68",
                                'postal_code': "10117",
                                'city': "Berlin",
                                'country': country.id,
                                }])],
                # No email: the party module checks that its domain
                # resolves, which fails offline.
                'contact_mechanisms': [('create', [{
                                'type': 'phone',
                                'value': '+49 30 20188365',
                                }, {
                                'type': 'website',
                                'value': 'https://www.buero365-umzuege.de',
                                }])],
                }])
    values = {'party': party.id, 'currency': currency.id}
    if 'timezone' in Company._fields:
        values['timezone'] = 'Europe/Berlin'
    company, = Company.create([values])
    return company


def set_default_terms():
    "The demo company's AGB as the default terms, unless there are some."
    from trytond.pool import Pool
    Configuration = Pool().get('buero365.offer.configuration')
    configuration = Configuration(1)
    if not configuration.default_terms:
        configuration.default_terms = DEFAULT_TERMS
        configuration.save()
        return True
    return False


def create_offer_templates(company):
    """The demo offer templates (OFFER_TEMPLATES) of company, unless it
    has templates; return how many were created."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Template = pool.get('buero365.offer.template')
    TemplateLine = pool.get('buero365.offer.template.line')
    ProductTemplate = pool.get('product.template')
    Tax = pool.get('account.tax')
    ModelData = pool.get('ir.model.data')
    with Transaction().set_context(active_test=False):
        if Template.search([('company', '=', company.id)], limit=1):
            return 0
    with Transaction().set_context(company=company.id):
        products = {}
        for key, (name, _, _) in SERVICES.items():
            templates = ProductTemplate.search([
                    ('name', '=', name), ('type', '=', 'service')], limit=1)
            if templates and templates[0].products:
                products[key] = templates[0].products[0]
        taxes = {t.name: t for t in Tax.search(
                [('company', '=', company.id)])}
        to_create = []
        for (name, job_type, title, content, details, validity, lines,
                labels, deposit) in OFFER_TEMPLATES:
            line_values = []
            for key, quantity, *choice in lines:
                if key in products:
                    product = products[key]
                    values = {
                        'product': product.id,
                        'description': product.rec_name,
                        'unit': product.default_uom.id,
                        'unit_price': product.list_price_used,
                        'taxes': TemplateLine.service_taxes(
                            product, company, None),
                        }
                elif key in FREE_SERVICES:
                    description, unit, price, tax = FREE_SERVICES[key]
                    tax = taxes.get(f"USt {tax} %")
                    values = {
                        'description': description,
                        'unit': ModelData.get_id('product', unit),
                        'unit_price': Decimal(price),
                        'taxes': [tax.id] if tax else [],
                        }
                else:
                    continue
                values['quantity'] = quantity
                values['taxes'] = [('add', values['taxes'])]
                if choice:
                    values.update(zip(
                            ['choice', 'alternative_group', 'selected'],
                            choice))
                line_values.append(values)
            to_create.append({
                    'name': name,
                    'company': company.id,
                    'job_type': ModelData.get_id('buero365_offers', job_type),
                    'title': title,
                    'content': content,
                    'additional_details': details,
                    'validity_days': validity,
                    'deposit_type': 'percent' if deposit else 'none',
                    'deposit_value': Decimal(deposit) if deposit else None,
                    'lines': [('create', line_values)],
                    'addresses': [('create', [
                                {'label': label} for label in labels])],
                    })
        Template.create(to_create)
    return len(to_create)


def _set_user_company(user, company):
    from trytond.pool import Pool
    User = Pool().get('res.user')
    values = {}
    if company not in user.companies:
        values['companies'] = [('add', [company.id])]
    if user.company != company:
        values['company'] = company.id
    if values:
        User.write([user], values)


def _create_chart(company):
    "Create the accounts from the account module's English template."
    from trytond.pool import Pool
    pool = Pool()
    Account = pool.get('account.account')
    AccountTemplate = pool.get('account.account.template')
    ModelData = pool.get('ir.model.data')
    CreateChart = pool.get('account.create_chart', type='wizard')

    if Account.search([('company', '=', company.id)], limit=1):
        return
    template = AccountTemplate(
        ModelData.get_id('account', 'account_template_root_en'))
    session_id, _, _ = CreateChart.create()
    create_chart = CreateChart(session_id)
    create_chart.account.account_template = template
    create_chart.account.company = company
    create_chart.transition_create_account()
    properties_state = create_chart.states['properties']
    for name, value in properties_state.get_defaults(
            create_chart, 'properties',
            list(create_chart.properties._fields.keys())).items():
        if name in create_chart.properties._fields:
            setattr(create_chart.properties, name, value)
    for name, kind in [
            ('account_receivable', 'receivable'),
            ('account_payable', 'payable')]:
        if not getattr(create_chart.properties, name):
            account, = Account.search([
                    ('type.%s' % kind, '=', True),
                    ('party_required', '=', True),
                    ('company', '=', company.id),
                    ], limit=1)
            setattr(create_chart.properties, name, account)
    create_chart.transition_create_properties()
    CreateChart.delete(session_id)


def _find_account(company, domain):
    from trytond.pool import Pool
    Account = Pool().get('account.account')
    accounts = Account.search([
            ('company', '=', company.id),
            ('closed', '!=', True),
            ] + domain, limit=1)
    return accounts[0] if accounts else None


def _get_taxes(company):
    from trytond.pool import Pool
    Tax = Pool().get('account.tax')
    account = (_find_account(company, [('code', '=', '6.3.6')])
        or _find_account(company, [('type', '!=', None)]))
    taxes = {}
    for key, rate in [('19', '0.19'), ('7', '0.07')]:
        name = f"USt {key} %"
        found = Tax.search([
                ('company', '=', company.id),
                ('name', '=', name),
                ], limit=1)
        if found:
            taxes[key], = found
            continue
        taxes[key], = Tax.create([{
                    'name': name,
                    'description': f"Umsatzsteuer {key} %",
                    'type': 'percentage',
                    'rate': Decimal(rate),
                    'company': company.id,
                    'invoice_account': account.id,
                    'credit_note_account': account.id,
                    }])
    return taxes


def _get_products(company, taxes):
    "Return {key: product.product} of the service catalogue."
    from trytond.pool import Pool
    pool = Pool()
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    ModelData = pool.get('ir.model.data')

    categories = Category.search([
            ('name', '=', "Dienstleistungen"),
            ('accounting', '=', True),
            ], limit=1)
    if categories:
        category, = categories
    else:
        values = {
            'name': "Dienstleistungen",
            'accounting': True,
            'customer_taxes': [('add', [taxes['19'].id])],
            }
        revenue = _find_account(company, [('type.revenue', '=', True)])
        if revenue and 'account_revenue' in Category._fields:
            values['account_revenue'] = revenue.id
        expense = _find_account(company, [('type.expense', '=', True)])
        if expense and 'account_expense' in Category._fields:
            values['account_expense'] = expense.id
        category, = Category.create([values])

    products = {}
    for key, (name, unit, price) in SERVICES.items():
        templates = Template.search([
                ('name', '=', name),
                ('type', '=', 'service'),
                ], limit=1)
        if templates and templates[0].products:
            products[key] = templates[0].products[0]
            continue
        uom = ModelData.get_id('product', unit)
        values = {
            'name': name,
            'type': 'service',
            'default_uom': uom,
            'list_price': Decimal(price),
            'account_category': category.id,
            'products': [('create', [{}])],
            }
        if 'salable' in Template._fields:
            values['salable'] = True
            values['sale_uom'] = uom
        template, = Template.create([values])
        products[key] = template.products[0]
    return products


def setup():
    """Create what the demo offers need, unless it exists.

    Runs in the current transaction (as any user) and returns a dict with
    the records: company, currency, country, user, taxes, products,
    lead_sources."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    User = pool.get('res.user')
    LeadSource = pool.get('buero365.lead.source')

    admin = _admin_user()
    user_id = admin.id if admin else Transaction().user
    with Transaction().set_user(user_id):
        country = _get_country()
        currency = _get_currency()
        company = _get_company(currency, country)
        if admin:
            _set_user_company(admin, company)
            context = User.get_preferences(context_only=True)
        else:
            context = {}
        context['company'] = company.id
        context['companies'] = [company.id]
        with Transaction().set_context(context):
            _create_chart(company)
            taxes = _get_taxes(company)
            products = _get_products(company, taxes)
            set_default_terms()
    lead_sources = {
        s.code: s for s in LeadSource.search(
            [('code', 'in', list(LEAD_SOURCE_WEIGHTS))])}
    return {
        'user': user_id,
        'company': company,
        'currency': currency,
        'country': country,
        'taxes': taxes,
        'products': products,
        'lead_sources': lead_sources,
        }


# ------------------------------------------------------- bulk insertion

class _Database:
    """Reserve ids and sequence numbers, insert rows.

    On PostgreSQL the rows are written with COPY by a thread on the
    transaction's connection while the next batch is computed, and ids and
    numbers are reserved on a second connection (sequences are not
    transactional).  On SQLite everything happens in turn, ids counting up
    from the highest."""

    def __init__(self, tables):
        "tables: {key: (table name, columns, ids reserved at once)}"
        from trytond import backend
        from trytond.transaction import Transaction
        transaction = Transaction()
        self.database = transaction.database
        self.connection = transaction.connection
        self.postgresql = backend.name == 'postgresql'
        # Columns the module dropped since this script was written are left
        # out; a missing table is skipped.
        self.tables = {}
        self.projections = {}
        for key, (table, columns, chunk) in tables.items():
            existing = self._columns(table)
            if not existing:
                continue
            kept = [c for c in columns if c in existing]
            self.tables[key] = (table, kept, chunk)
            if len(kept) != len(columns):
                self.projections[key] = [columns.index(c) for c in kept]
        self._ids = {key: [] for key in tables}
        self._next = {}
        self.executor = self.pending = None
        if self.postgresql:
            from concurrent.futures import ThreadPoolExecutor
            self.reserve_connection = self.database.get_connection(
                autocommit=True)
            self.executor = ThreadPoolExecutor(max_workers=1)
        else:
            self.reserve_connection = None
            cursor = self.connection.cursor()
            for key, (table, _, _) in tables.items():
                cursor.execute(f'SELECT MAX("id") FROM "{table}"')
                self._next[key] = (cursor.fetchone()[0] or 0) + 1

    def _columns(self, table):
        cursor = self.connection.cursor()
        if self.postgresql:
            cursor.execute(
                'SELECT column_name FROM information_schema.columns '
                'WHERE table_name = %s '
                'AND table_schema = ANY (current_schemas(false))', (table,))
            return {c for c, in cursor}
        cursor.execute(f'PRAGMA table_info("{table}")')
        return {row[1] for row in cursor}

    def id_getter(self, key):
        "Return a function giving the next id of the table."
        if key not in self.tables:
            return itertools.count(1).__next__  # rows are not written
        if not self.postgresql:
            def next_id():
                id_ = self._next[key]
                self._next[key] = id_ + 1
                return id_
            return next_id
        ids = self._ids[key]
        table, _, chunk = self.tables[key]

        def next_id():
            if not ids:
                reserved = self.database.nextid(
                    self.reserve_connection, table, max(chunk, 2))
                ids.extend(reversed(reserved))
            return ids.pop()
        return next_id

    def number_getter(self, sequence):
        """Return a function giving the next n numbers of an incremental
        ir.sequence (as int)."""
        if sequence.type != 'incremental':
            raise ValueError(
                f"Sequence {sequence.rec_name!r} is not incremental")
        if self.postgresql and not sequence._strict:
            name = sequence._sql_sequence_name

            def numbers(n):
                return list(self.database.sequence_nextvals(
                        self.reserve_connection, name, n))
        else:
            def numbers(n):
                # number_next is stored on the record
                return [int(v) for v in sequence._get_many(n)]
        return numbers

    def _write(self, rows):
        for key, values in rows.items():
            if key not in self.tables:
                continue
            table, columns, _ = self.tables[key]
            if key in self.projections:
                indexes = self.projections[key]
                values = [[row[i] for i in indexes] for row in values]
            _insert(self.connection, self.postgresql, table, columns, values)

    def write(self, rows):
        "Insert the rows of a batch (maybe in the background)."
        self.wait()
        if self.executor:
            self.pending = self.executor.submit(self._write, rows)
        else:
            self._write(rows)

    def wait(self):
        "Wait until the rows given to write are inserted."
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self):
        try:
            self.wait()
        finally:
            if self.executor:
                self.executor.shutdown()
            if self.reserve_connection is not None:
                self.database.put_connection(self.reserve_connection)
                self.reserve_connection = None


def _insert(connection, postgresql, table_name, columns, rows):
    "Insert rows (sequences in the order of columns) into the table."
    if not rows:
        return
    cursor = connection.cursor()
    if postgresql:
        from psycopg import sql
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table_name),
            sql.SQL(', ').join(map(sql.Identifier, columns)))
        with cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    else:
        from sql import Column, Table
        table = Table(table_name)
        fields = [Column(table, c) for c in columns]
        size = max(1, 30000 // len(columns))
        for i in range(0, len(rows), size):
            cursor.execute(*table.insert(fields, rows[i:i + size]))


def _weighted(pairs):
    "Return (values, cumulated weights, total) for _pick."
    values, cumulated, total = [], [], 0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cumulated.append(total)
    return values, cumulated, total


def _pick(rng, weighted):
    "Choose from _weighted(...) like rng.choices but faster."
    values, cumulated, total = weighted
    return values[bisect.bisect_right(cumulated, rng.random() * total)]


def _ascii(text, _cache={}):
    "Lower-case ASCII for email addresses: Müller → mueller."
    try:
        return _cache[text]
    except KeyError:
        pass
    value = text.lower()
    for a, b in [('ä', 'ae'), ('ö', 'oe'), ('ü', 'ue'), ('ß', 'ss'),
            ('ı', 'i')]:
        value = value.replace(a, b)
    value = unicodedata.normalize('NFKD', value)
    # No dots: the parts are joined with dots, and abbreviated names
    # ("Hans-H.") made invalid addresses such as hans-h..meyer@.
    value = ''.join(
        c for c in value if c.isascii() and (c.isalnum() or c == '-'))
    value = value.strip('-')
    _cache[text] = value
    return value


def _fmt(number, digits=0):
    "German number formatting: 4.5 → '4,5'."
    if digits:
        return f'{number:.{digits}f}'.replace('.', ',')
    if number == int(number):
        return str(int(number))
    return str(number).replace('.', ',')


class _Generator:
    "Build the rows of demo offers, batch by batch."

    def __init__(self, info, seed, existing, now):
        from faker import Faker
        from faker.providers.person.de_DE import Provider as Person

        from trytond.pool import Pool
        from trytond.transaction import Transaction

        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        PartyConfiguration = pool.get('party.configuration')
        Sequence = pool.get('ir.sequence')
        ModelData = pool.get('ir.model.data')

        self.rng = random.Random(seed * 1_000_003 + existing)
        faker = Faker('de_DE')
        faker.seed_instance(seed)
        self.first_names = {
            'f': list(Person.first_names_female),
            'm': list(Person.first_names_male),
            }
        self.last_names = list(Person.last_names)
        for name, weight in COMMON_SURNAMES:
            self.last_names.extend([name] * (weight * 3))
        self.streets = COMMON_STREETS * 25 + sorted(
            {faker.street_name() for _ in range(2000)})
        self.cities = []
        for city in CITIES:
            self.cities.extend([city] * city[4])

        self.info = info
        self.user = info['user']
        company = info['company']
        self.company = company.id
        self.currency = info['currency'].id
        self.rounding = info['currency'].rounding
        self.country = info['country'].id
        self.taxes = {k: t.id for k, t in info['taxes'].items()}
        self.rates = {k: t.rate for k, t in info['taxes'].items()}
        self.products = {}
        for key, product in info['products'].items():
            template = product.template
            self.products[key] = (
                product.id, template.name, template.default_uom.id,
                template.list_price)
        self.units = {
            name: ModelData.get_id('product', name)
            for name in {s[1] for s in FREE_SERVICES.values()}}
        self.lead_sources = _weighted(
            (info['lead_sources'][c].id, w)
            for c, w in LEAD_SOURCE_WEIGHTS.items()
            if c in info['lead_sources'])
        self.floors = _weighted(FLOORS)
        self.rejections = _weighted((r[:1] + r[2:], r[1]) for r in REJECTIONS)
        self.kinds = {
            'company': _weighted([('office_move', 40),
                    ('office_cleaning', 30), ('clearance', 15),
                    ('windows', 15)]),
            'person': _weighted([('move', 48), ('move_cleaning', 10),
                    ('final_cleaning', 14), ('clearance', 12), ('piano', 6),
                    ('windows', 10)]),
            }

        with Transaction().set_context(company=company.id):
            config = Configuration(1)
            self.terms = config.default_terms
            self.offer_sequence = config.get_multivalue(
                'offer_sequence', company=company.id)
            self.party_sequence = PartyConfiguration(1).get_multivalue(
                'party_sequence')
        if not self.offer_sequence:
            raise RuntimeError("No offer sequence configured")
        self.Sequence = Sequence
        self._affixes = {}
        self.offer_padding = self.offer_sequence.padding or 0

        self.now = now
        self.today = now.astimezone(TIMEZONE).date()
        # Party codes are numbered as the party module does at creation
        if self.party_sequence:
            sequence = self.party_sequence
            self.party_code = (
                Sequence._process(sequence.prefix, date=self.today),
                sequence.padding or 0,
                Sequence._process(sequence.suffix, date=self.today))
        self._build_slots()

        # Customers that may ask for another offer: recent ones in a ring.
        self.returning = []
        self.returning_size = 5000

    # -- time

    def _build_slots(self):
        "Cumulated weights of the business hours over the last 18 months."
        day_weights = {1: 0.8, 2: 0.85, 3: 1.0, 4: 1.1, 5: 1.3, 6: 1.4,
            7: 1.5, 8: 1.5, 9: 1.4, 10: 1.1, 11: 0.9, 12: 0.6}
        hour_weights = {7: 0.3, 8: 0.8, 9: 1.2, 10: 1.3, 11: 1.2, 12: 0.8,
            13: 0.9, 14: 1.1, 15: 1.1, 16: 1.0, 17: 0.8, 18: 0.5, 19: 0.3}
        self.slots = []
        self.cumulated = []
        total = 0.0
        first = self.today - dt.timedelta(days=HISTORY_DAYS)
        now = self.now
        day = first
        while day <= self.today:
            # The business grows: twice as many requests as 18 months ago
            growth = 1 + (day - first).days / HISTORY_DAYS
            weight = day_weights[day.month] * growth
            if day.weekday() == 5:
                weight *= 0.35
            elif day.weekday() == 6:
                weight *= 0.15
            for hour, hour_weight in hour_weights.items():
                start = dt.datetime(
                    day.year, day.month, day.day, hour, tzinfo=TIMEZONE)
                if start + dt.timedelta(hours=1) > now:
                    break
                total += weight * hour_weight
                self.slots.append(start.astimezone(UTC))
                self.cumulated.append(total)
            day += dt.timedelta(days=1)
        self.total_weight = total

    def creation_date(self, quantile):
        "The UTC time at this quantile of the business hours (monotonic)."
        target = quantile * self.total_weight
        index = min(
            bisect.bisect_right(self.cumulated, target), len(self.slots) - 1)
        low = self.cumulated[index - 1] if index else 0.0
        width = self.cumulated[index] - low
        fraction = (target - low) / width if width else 0.0
        fraction = min(max(fraction, 0.0), 0.9999)
        return (self.slots[index] + dt.timedelta(seconds=3600 * fraction)
            ).replace(tzinfo=None)

    @staticmethod
    def local_to_utc(day, hour, minute=0):
        return dt.datetime(day.year, day.month, day.day, hour, minute,
            tzinfo=TIMEZONE).astimezone(UTC).replace(tzinfo=None)

    @staticmethod
    def utc_to_local_date(value):
        return value.replace(tzinfo=UTC).astimezone(TIMEZONE).date()

    def number(self, padded, date):
        try:
            prefix, suffix = self._affixes[date]
        except KeyError:
            sequence = self.offer_sequence
            prefix = self.Sequence._process(sequence.prefix, date=date)
            suffix = self.Sequence._process(sequence.suffix, date=date)
            self._affixes[date] = prefix, suffix
        return f'{prefix}{padded}{suffix}'

    # -- people and places

    def city(self):
        return self.rng.choice(self.cities)

    def place(self, city=None):
        rng = self.rng
        city = city or self.city()
        street = rng.choice(self.streets)
        number = str(rng.randint(1, 180))
        if rng.random() < 0.12:
            number += rng.choice('abc')
        postal_code = f'{rng.randint(city[1], city[2]):05d}'
        return street, number, postal_code, city

    def phone(self, city):
        rng = self.rng
        if rng.random() < 0.55:
            area = rng.choice(MOBILE_PREFIXES)
            subscriber = str(rng.randint(1000000, 99999999))
        else:
            area = city[3]
            digits = 9 - len(area)
            subscriber = str(rng.randint(10 ** (digits - 1), 10 ** digits - 1))
        return f'+49 {area} {subscriber}'

    def person(self):
        rng = self.rng
        gender = 'f' if rng.random() < 0.5 else 'm'
        first = rng.choice(self.first_names[gender])
        last = rng.choice(self.last_names)
        return gender, first, last

    def customer(self):
        "Return a new customer as a dict (without ids)."
        rng = self.rng
        street, number, postal_code, city = self.place()
        gender, first, last = self.person()
        if rng.random() < 0.28:
            kind = 'company'
            trade = rng.choice(COMPANY_TRADES)
            suffix = rng.choice(COMPANY_SUFFIXES)
            style = rng.random()
            if style < 0.6:
                name = f"{last} {trade} {suffix}"
            elif style < 0.8:
                other = rng.choice(self.last_names)
                name = f"{last} & {other} {trade} {suffix}"
            else:
                name = f"{trade} {last} {suffix}"
            domain = '-'.join(
                _ascii(w) for w in name.split()[:2] if w != '&') + '.de'
            local = rng.choice(
                ['info', 'info', 'kontakt', 'buero', 'verwaltung',
                    _ascii(first)[:1] + '.' + _ascii(last)])
            email = f'{local}@{domain}'
            salutation = "Sehr geehrte Damen und Herren,"
        else:
            kind = 'person'
            title = "Dr. " if rng.random() < 0.04 else ""
            name = f"{title}{first} {last}"
            a, b = _ascii(first), _ascii(last)
            style = rng.random()
            if style < 0.4:
                local = f'{a}.{b}'
            elif style < 0.6:
                local = f'{a[:1]}.{b}'
            elif style < 0.8:
                local = f'{a}{b}{rng.randint(1, 99)}'
            else:
                local = f'{b}.{a}{rng.randint(60, 99)}'
            email = f'{local}@{rng.choice(FREE_MAIL_DOMAINS)}'
            salutation = (
                f"Sehr geehrte Frau {title}{last},"
                if gender == 'f' else f"Sehr geehrter Herr {title}{last},")
        if kind == 'company' or rng.random() < 0.3:
            gender, first, last = self.person()
            signer = f"{first} {last}"
        else:
            signer = name
        return {
            'kind': kind,
            'name': name,
            'email': email,
            'phone': self.phone(city),
            'street': street,
            'number': number,
            'postal_code': postal_code,
            'city': city,
            'salutation': salutation,
            'signer': signer,
            }

    def service_address(self, label, place=None, big_city=False):
        rng = self.rng
        street, number, postal_code, city = place or self.place()
        floor = _pick(rng, self.floors)
        high = floor not in {'Souterrain', 'EG', '1. OG'}
        lift = rng.random() < (0.55 if high else 0.1)
        parking_zone = rng.random() < (0.5 if city[4] >= 5 else 0.25)
        distance = rng.choice([5, 10, 10, 15, 20, 20, 25, 30, 40, 50, 80])
        return {
            'label': label,
            'street': f"{street} {number}",
            'postal_code': postal_code,
            'city': city[0],
            'floor': floor,
            'lift': lift,
            'parking_zone': parking_zone,
            'walking_distance': distance,
            'high': high and not lift,
            }

    # -- lines

    def product_line(self, key, quantity, detail=None):
        product, name, unit, price = self.products[key]
        description = f"{name}\n{detail}" if detail else name
        return (product, description, quantity, unit, price, '19')

    def free_line(self, key, quantity):
        description, unit, price, tax = FREE_SERVICES[key]
        return (None, description, quantity, self.units[unit],
            Decimal(price), tax)

    def hours(self, low, high):
        return Decimal(self.rng.randint(low * 2, high * 2)) / 2

    def offer_kind(self, customer):
        return _pick(self.rng, self.kinds[customer['kind']])

    def offer_spec(self, customer):
        "Title, content bits, lines, addresses and duration of an offer."
        rng = self.rng
        kind = self.offer_kind(customer)
        home = (customer['street'], customer['number'],
            customer['postal_code'], customer['city'])
        city = customer['city']
        lines = []
        addresses = []
        bullets = []
        if kind in {'move', 'move_cleaning', 'office_move', 'piano'}:
            if rng.random() < 0.6:
                target = city
            else:
                target = self.city()
            source_place = (home if customer['kind'] == 'person'
                or rng.random() < 0.7 else self.place(city))
            addresses.append(self.service_address("Auszug", source_place))
            addresses.append(self.service_address(
                    "Einzug", self.place(target)))
            if kind != 'piano' and rng.random() < 0.1:
                addresses.append(self.service_address("Lager"))
            if target == city:
                route = f"in {city[0]}"
            else:
                route = f"{city[0]} → {target[0]}"
            far = target != city
            if kind == 'piano':
                title = (f"Klaviertransport {city[0]} → {target[0]}"
                    if far else f"Klaviertransport in {city[0]}")
                lines.append(self.product_line('piano', Decimal(1)))
                stairs = sum(a['high'] for a in addresses)
                if stairs:
                    lines.append(self.free_line('stairs', Decimal(stairs)))
                duration = 3 + 3 * far
                bullets = ["Transport mit Klaviertrage und Spezialgurten",
                    "Zwei erfahrene Klavierträger",
                    "Versicherung bis 10.000 €"]
            else:
                office = kind == 'office_move'
                helpers = rng.randint(4, 8) if office else rng.randint(2, 4)
                hours = self.hours(4, 10) + (rng.randint(2, 7) if far else 0)
                trucks = rng.randint(1, 3) if office else 1
                if office:
                    title = (f"Büroumzug {city[0]} → {target[0]}"
                        if far else f"Büroumzug in {city[0]}")
                elif far:
                    title = f"Umzug {route}"
                else:
                    rooms = rng.choice(ROOMS)
                    title = f"Umzug {rooms}-Zimmer-Wohnung in {city[0]}"
                lines.append(self.product_line(
                        'helper', helpers * hours,
                        f"{helpers} Helfer × {_fmt(hours)} Std."))
                lines.append(self.product_line(
                        'truck', trucks * hours,
                        f"{trucks} Fahrzeug(e) × {_fmt(hours)} Std."
                        if trucks > 1 else None))
                if rng.random() < 0.6:
                    boxes = (rng.randint(20, 80) if office
                        else rng.randint(4, 16)) * 5
                    lines.append(self.product_line('box', Decimal(boxes)))
                if rng.random() < 0.5:
                    lines.append(self.product_line(
                            'assembly', self.hours(2, 12 if office else 6)))
                zones = sum(a['parking_zone'] for a in addresses)
                if zones:
                    lines.append(self.product_line(
                            'no_parking', Decimal(zones)))
                if not office and rng.random() < 0.15:
                    lines.append(self.product_line(
                            'packing', self.hours(2, 8)))
                if rng.random() < 0.35:
                    key = rng.choice(['travel', 'disposal', 'storage',
                            'lamps', 'kitchen', 'washer', 'stairs',
                            'flowers'])
                    quantity = {
                        'disposal': Decimal(rng.randint(1, 6)),
                        'storage': Decimal(rng.randint(1, 6)),
                        'lamps': Decimal(rng.randint(2, 8)),
                        }.get(key, Decimal(1))
                    lines.append(self.free_line(key, quantity))
                if kind == 'move_cleaning':
                    size = Decimal(rng.randint(35, 140))
                    lines.append(self.product_line(
                            'final_cleaning', size,
                            f"Wohnfläche ca. {size} m²"))
                    title += " mit Endreinigung"
                duration = float(hours) + 1
                bullets = [
                    f"{helpers} Umzugshelfer und "
                    f"{trucks} LKW 7,5 t mit Fahrer",
                    "Be- und Entladen, Transportsicherung mit Decken",
                    "Haftung nach HGB (620 € je m³)",
                    ]
            intro = ("vielen Dank für Ihre Anfrage. Gerne bieten wir Ihnen "
                f"Ihren Umzug {route} zu folgenden Leistungen an:")
        elif kind in {'final_cleaning', 'office_cleaning', 'windows'}:
            if kind == 'final_cleaning':
                rooms = rng.choice(ROOMS)
                size = Decimal(rng.randint(25 + rooms * 10, 40 + rooms * 22))
                title = f"Endreinigung {rooms}-Zimmer-Wohnung"
                addresses.append(self.service_address("Auszug", home))
                lines.append(self.product_line(
                        'final_cleaning', size,
                        f"Wohnfläche ca. {size} m², besenrein nach "
                        "Übergabeprotokoll"))
                if rng.random() < 0.5:
                    lines.append(self.product_line(
                            'windows', self.hours(2, 5)))
                if rng.random() < 0.3:
                    lines.append(self.free_line('oven', Decimal(1)))
                duration = float(size) / 15 + 1
                bullets = ["Bad, Küche und alle Wohnräume",
                    "Reinigungsmittel und Geräte inklusive",
                    "Abnahmegarantie bei der Wohnungsübergabe"]
            elif kind == 'office_cleaning':
                hours = self.hours(4, 20)
                title = rng.choice([
                        f"Büroreinigung (wöchentlich) {city[0]}",
                        f"Unterhaltsreinigung Büroetage {city[0]}",
                        f"Grundreinigung Praxisräume {city[0]}"])
                addresses.append(self.service_address("Objekt", home))
                lines.append(self.product_line(
                        'office_cleaning', hours, "pro Monat"))
                if rng.random() < 0.4:
                    lines.append(self.product_line(
                            'windows', self.hours(3, 10)))
                if rng.random() < 0.3:
                    lines.append(self.free_line(
                            'carpet', Decimal(rng.randint(40, 300))))
                duration = 4
                bullets = ["Reinigung nach Leistungsverzeichnis",
                    "Feste Ansprechpartnerin im Objekt",
                    "Monatlich kündbar"]
            else:
                hours = self.hours(2, 8)
                title = rng.choice([
                        "Fensterreinigung Einfamilienhaus",
                        f"Fensterreinigung in {city[0]}",
                        "Fenster- und Rahmenreinigung"])
                addresses.append(self.service_address("Objekt", home))
                lines.append(self.product_line(
                        'windows', hours, "inkl. Rahmen und Fensterbänke"))
                if rng.random() < 0.2:
                    lines.append(self.free_line('travel', Decimal(1)))
                duration = float(hours)
                bullets = ["Fenster innen und außen",
                    "Rahmen und Fensterbänke",
                    "Streifenfrei mit Osmosewasser"]
            intro = ("vielen Dank für Ihre Anfrage. Gerne bieten wir Ihnen "
                "die Reinigung zu folgenden Leistungen an:")
        else:  # clearance
            volume = Decimal(rng.randint(3, 35))
            what = rng.choice(["Keller", "Dachboden", "Garage", "Wohnung"])
            if what == "Wohnung" and rng.random() < 0.5:
                title = f"Haushaltsauflösung {city[0]}"
            else:
                title = f"Entrümpelung {what} (ca. {volume} m³)"
            addresses.append(self.service_address("Auszug", home))
            lines.append(self.product_line(
                    'clearance', volume, "inkl. fachgerechter Entsorgung"))
            if addresses[0]['parking_zone']:
                lines.append(self.product_line('no_parking', Decimal(1)))
            if rng.random() < 0.4:
                lines.append(self.free_line(
                        'electronics', Decimal(rng.randint(1, 6))))
            if rng.random() < 0.3:
                lines.append(self.product_line('helper', self.hours(2, 8)))
            duration = float(volume) / 5 + 2
            bullets = ["Besenreine Übergabe",
                "Entsorgung nach Kreislaufwirtschaftsgesetz",
                "Wertanrechnung verwertbarer Gegenstände"]
            intro = ("vielen Dank für Ihre Anfrage. Gerne bieten wir Ihnen "
                "die Entrümpelung zu folgenden Leistungen an:")
        return {
            'title': title,
            'intro': intro,
            'bullets': bullets,
            'lines': lines[:6],
            'addresses': addresses,
            'duration': duration,
            'kind': kind,
            }

    def round(self, amount):
        "Round as the currency does (half even, as Tryton's sales)."
        factor = self.rounding
        return (amount / factor).quantize(
            Decimal(1), rounding=ROUND_HALF_EVEN) * factor

    # -- a batch

    def prepare(self, database):
        "Take ids and numbers from the database (a _Database)."
        self.ids = {
            key: database.id_getter(key) for key in [
                'party', 'party_address', 'contact', 'offer', 'line',
                'line_tax', 'address', 'history', 'link']}
        self.offer_numbers = database.number_getter(self.offer_sequence)
        self.party_numbers = (database.number_getter(self.party_sequence)
            if self.party_sequence else None)

    def batch(self, first, count, total):
        "Return the rows of count offers, the first-th of total."
        from trytond.modules.buero365_offers.search import search_key
        from trytond.modules.product import round_price
        ids = self.ids
        rng = self.rng
        user = self.user
        company, currency, country = self.company, self.currency, self.country
        taxes, rates = self.taxes, self.rates
        today, now = self.today, self.now.replace(tzinfo=None)
        rows = {name: [] for name in [
                'party', 'party_address', 'contact', 'offer', 'line',
                'line_tax', 'address', 'history', 'link']}
        customers = []
        offers = []
        for i in range(first, first + count):
            create_date = self.creation_date((i + rng.random()) / total)
            if self.returning and rng.random() < 0.15:
                customer = rng.choice(self.returning)
            else:
                customer = self.customer()
                customers.append(customer)
                if len(self.returning) < self.returning_size:
                    self.returning.append(customer)
                else:
                    self.returning[
                        rng.randrange(self.returning_size)] = customer
            offers.append((create_date, customer, self.offer_spec(customer)))
        # Creation dates of a batch are increasing except at rounding
        offers.sort(key=lambda o: o[0])

        if customers and self.party_numbers:
            prefix, padding, suffix = self.party_code
            codes = [f'{prefix}{n:0>{padding}d}{suffix}'
                for n in self.party_numbers(len(customers))]
        else:
            codes = [None] * len(customers)
        for customer, code in zip(customers, codes):
            party_id = ids['party']()
            code = code or f'DEMO{party_id}'
            alnum = ''.join(c for c in code if c.isalnum())
            digits = ''.join(c for c in code if c.isdigit())[-18:]
            customer['id'] = party_id
            customer['created'] = None  # the date of its first offer
            address_id = ids['party_address']()
            customer['address'] = address_id
            city = customer['city']
            rows['party'].append([
                    party_id, customer['name'], code, alnum,
                    int(digits) if digits else None, True, search_key(
                        customer['name'], code, customer['email'],
                        customer['phone'])])
            rows['party_address'].append([
                    address_id, party_id, customer['street'],
                    customer['number'], customer['postal_code'], city[0],
                    country, True])
            email, phone = customer['email'], customer['phone']
            rows['contact'].append([
                    ids['contact'](), party_id, 'email', email, email, True,
                    1])
            rows['contact'].append([
                    ids['contact'](), party_id, 'phone', phone, phone, True,
                    2])

        padding = self.offer_padding
        numbers = [f'{n:0>{padding}d}' for n in self.offer_numbers(count)]
        for (create_date, customer, spec), padded in zip(offers, numbers):
            if customer.get('created') is None:
                customer['created'] = create_date
            offer_id = ids['offer']()
            created_day = self.utc_to_local_date(create_date)
            valid_until = created_day + dt.timedelta(
                days=rng.randint(14, 45))
            number = self.number(padded, created_day)

            # Lines and totals, as Offer._compute_amounts does
            untaxed = Decimal(0)
            base = {}
            sequence = 0
            for (product, description, quantity, unit, price,
                    tax) in spec['lines']:
                sequence += 1
                if rng.random() < 0.15:
                    discount = rng.choice(
                        ['0.05', '0.05', '0.1', '0.1', '0.03', '0.15', '0.2'])
                else:
                    discount = '0'
                discount = Decimal(discount)
                # The unit price after discount to the price digits
                # (ServiceMixin.net_unit_price); VAT on quantity × it.
                net_price = round_price(price * (1 - discount))
                amount = self.round(quantity * net_price)
                untaxed += amount
                base[tax] = base.get(tax, 0) + quantity * net_price
                line_id = ids['line']()
                rows['line'].append([
                        line_id, offer_id, sequence, product, description,
                        float(quantity), unit, price, discount, '', True,
                        create_date, user])
                rows['line_tax'].append([
                        ids['line_tax'](), line_id, taxes[tax], create_date,
                        user])
            untaxed = self.round(untaxed)
            tax_amount = sum(
                (self.round(b * rates[t]) for t, b in base.items()),
                Decimal(0))

            sequence = 0
            for address in spec['addresses']:
                sequence += 1
                rows['address'].append([
                        ids['address'](), offer_id, sequence,
                        address['label'], address['street'],
                        address['postal_code'], address['city'], country,
                        address['floor'], address['lift'],
                        address['parking_zone'], address['walking_distance'],
                        create_date, user])

            # Service time: some days after the request, in the morning
            start_day = created_day + dt.timedelta(days=rng.randint(5, 70))
            start = self.local_to_utc(
                start_day, rng.choice([7, 7, 8, 8, 9, 10, 13]),
                rng.choice([0, 0, 0, 30]))
            end = start + dt.timedelta(
                minutes=int(spec['duration'] * 60 / 30 + 1) * 30)

            # What became of the offer
            r = rng.random()
            if valid_until < today:
                state = ('accepted' if r < 0.4
                    else 'rejected' if r < 0.65 else 'expired')
            else:
                state = ('open' if r < 0.75
                    else 'accepted' if r < 0.92 else 'rejected')
            if state == 'open':
                email_state = 'sent' if rng.random() < 0.7 else 'pending'
            else:
                email_state = 'sent'
            revision = 1
            if email_state == 'sent' and rng.random() < 0.15:
                revision = 2 if rng.random() < 0.8 else 3
            signed_by = signed_at = reason = comment = None
            changed = None
            changed_by = None
            if state == 'expired':
                changed = min(
                    self.local_to_utc(
                        valid_until + dt.timedelta(days=1), 2,
                        rng.randint(0, 59)), now)
            elif state in {'accepted', 'rejected'}:
                deadline = min(
                    self.local_to_utc(
                        valid_until + dt.timedelta(days=1), 0), now)
                span = max((deadline - create_date).total_seconds(), 60)
                changed = create_date + dt.timedelta(
                    seconds=min(3600 + span * rng.random() ** 2, span))
                by_staff = rng.random() < 0.3
                changed_by = user if by_staff else None
                if state == 'accepted':
                    if not by_staff:
                        signed_by = customer['signer']
                        signed_at = changed
                else:
                    reason, comments = _pick(rng, self.rejections)
                    if rng.random() < 0.6:
                        comment = rng.choice(comments)
            if changed is not None:
                rows['history'].append([
                        ids['history'](), offer_id, changed, changed_by,
                        'open', state, changed, changed_by or 0])

            # Sending, and when the customer first looked at it
            sent_at = email_opened = page_opened = None
            sent_revision = 0
            if email_state == 'sent':
                limit = changed if changed is not None else now
                gap = max((limit - create_date).total_seconds(), 2)
                sent_at = create_date + dt.timedelta(
                    seconds=min(rng.randint(120, 14400), gap / 2))
                sent_revision = revision
                if state == 'open' and revision > 1 and rng.random() < 0.25:
                    sent_revision = revision - 1  # edited since
                by_customer = (state in {'accepted', 'rejected'}
                    and changed_by is None)
                if by_customer or rng.random() < 0.6:
                    rest = (limit - sent_at).total_seconds()
                    email_opened = sent_at + dt.timedelta(
                        seconds=rest * 0.3 * rng.random())
                    if by_customer or rng.random() < 0.7:
                        rest = (limit - email_opened).total_seconds()
                        page_opened = email_opened + dt.timedelta(
                            seconds=rest * 0.5 * rng.random())
            write_date = changed or sent_at or create_date

            # A customer link per revision, as Offer.ensure_links makes
            for link_revision in range(1, revision + 1):
                token = secrets.token_urlsafe(32)
                rows['link'].append([
                        ids['link'](), offer_id, link_revision, token,
                        hashlib.sha256(token.encode()).hexdigest(),
                        create_date if link_revision == 1 else write_date,
                        user])

            lead_source = (_pick(rng, self.lead_sources)
                if self.lead_sources[0] else None)
            additional = None
            if rng.random() < 0.3:
                additional = rng.choice([
                        "<p>Bitte sorgen Sie dafür, dass am Umzugstag ein "
                        "Parkplatz vor dem Haus frei ist.</p>",
                        "<p><strong>Hinweis:</strong> Zerbrechliches bitte "
                        "gesondert kennzeichnen.</p>",
                        "<p>Die Besichtigung vor Ort ist für Sie "
                        "kostenlos.</p>",
                        "<p>Zahlung bar oder per Überweisung innerhalb von "
                        "7 Tagen nach Leistung.</p>",
                        ])
            content = ''.join([
                    f"<p>{html.escape(customer['salutation'])}</p>",
                    f"<p>{html.escape(spec['intro'])}</p>",
                    "<ul>",
                    *(f"<li>{html.escape(b)}</li>"
                        for b in spec['bullets']),
                    "</ul>",
                    "<p>Wir freuen uns auf Ihren Auftrag.</p>",
                    "<p>Mit freundlichen Grüßen<br/>Ihr Team von "
                    "Büro 365</p>",
                    ])
            # A deposit (Anzahlung) of a percentage on some offers
            deposit_type, deposit_value = 'none', None
            if rng.random() < DEPOSIT_SHARE:
                deposit_type = 'percent'
                deposit_value = Decimal(rng.choice(DEPOSIT_PERCENTS))
            rows['offer'].append([
                    offer_id, company, currency, number, customer['id'],
                    customer['email'], customer['phone'],
                    customer['address'], spec['title'], content, additional,
                    self.terms, start, end, valid_until, lead_source,
                    untaxed, tax_amount, untaxed + tax_amount,
                    deposit_type, deposit_value, state,
                    email_state, revision, sent_revision, email_opened,
                    page_opened, signed_by, signed_at, reason,
                    comment, sent_at,
                    changed if state in {'accepted', 'rejected'} else None,
                    create_date, user, write_date,
                    changed_by or user, search_key(
                        number, spec['title'], customer['email'],
                        customer['name'])])
        # A customer is created with its first offer
        created = {c['id']: c['created'] for c in customers}
        for row in rows['party']:
            row.extend([created[row[0]], user])
        for row in rows['party_address']:
            row.extend([created[row[1]], user])
        for row in rows['contact']:
            row.extend([created[row[1]], user])
        return rows


def generate_offers(
        n, seed=42, batch=2000, commit=True, progress=True, now=None,
        info=None):
    """Insert n demo offers in batches; return the number inserted.

    Runs in the current transaction; commits after each batch if commit.
    progress shows a tqdm bar (True), or is a callable(count) or None.
    now (an aware datetime) fixes the reference time."""
    from tqdm import tqdm

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    pool = Pool()
    Offer = pool.get('buero365.offer')
    if info is None:
        info = setup()
    if now is None:
        now = dt.datetime.now(UTC)
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    cursor.execute(f'SELECT COUNT(*) FROM "{Offer._table}"')
    existing, = cursor.fetchone()

    batch = max(int(batch), 1)
    with transaction.set_user(info['user']), \
            transaction.set_context(company=info['company'].id):
        generator = _Generator(info, seed, existing, now)
        # key: (model, columns, rows per offer)
        tables = {
            'party': ('party.party', PARTY_FIELDS, 1),
            'party_address': ('party.address', PARTY_ADDRESS_FIELDS, 1),
            'contact': ('party.contact_mechanism', CONTACT_FIELDS, 2),
            'offer': ('buero365.offer', OFFER_FIELDS, 1),
            'line': ('buero365.offer.line', LINE_FIELDS, 4),
            'line_tax': (
                'buero365.offer.line-account.tax', LINE_TAX_FIELDS, 4),
            'address': ('buero365.offer.address', ADDRESS_FIELDS, 2),
            'history': ('buero365.offer.history', HISTORY_FIELDS, 1),
            'link': ('buero365.offer.link', LINK_FIELDS, 1),
            }
        database = _Database({
                key: (pool.get(model)._table, columns,
                    min(batch, n) * per_offer)
                for key, (model, columns, per_offer) in tables.items()
                if model in dict(pool.iterobject())})

        bar = None
        if progress is True:
            bar = tqdm(total=n, unit=' offers', file=sys.stderr,
                dynamic_ncols=True)
            progress = bar.update
        created = pending = 0
        try:
            generator.prepare(database)
            while created < n:
                count = min(batch, n - created)
                # On PostgreSQL, the previous batch is written meanwhile
                rows = generator.batch(created, count, n)
                database.wait()
                if pending:
                    if commit:
                        transaction.commit()
                    if progress:
                        progress(pending)
                database.write(rows)
                pending = count
                created += count
            database.wait()
            if pending:
                if commit:
                    transaction.commit()
                if progress:
                    progress(pending)
        finally:
            database.close()
            if bar is not None:
                bar.close()
    return created


# ----------------------------------------------------------------- CLI

def run_committed(database, func, *args):
    """Run func(*args) as root in a transaction and commit it; start again
    with the table locks it asks for, as trytond's dispatcher does."""
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    while True:
        with Transaction().start(database, 0, **extras) as transaction:
            try:
                result = func(*args)
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)
                continue
            transaction.commit()
            return result


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Fill a buero365_offers database with demo offers.")
    parser.add_argument('-c', '--config', required=True,
        help="the trytond configuration file")
    parser.add_argument('-d', '--database', required=True,
        help="the database (buero365_offers must be activated)")
    parser.add_argument('--offers', type=int, required=True,
        help="how many offers to add")
    parser.add_argument('--seed', type=int, default=42,
        help="the random seed (default: %(default)s)")
    parser.add_argument('--batch', type=int, default=2000,
        help="offers inserted and committed at once (default: %(default)s)")
    parser.add_argument('-q', '--quiet', action='store_true',
        help="no progress bar")
    args = parser.parse_args(argv)
    if args.offers < 0:
        parser.error("--offers must not be negative")

    from trytond import config
    config.update_etc(args.config)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    started = time.monotonic()
    pool = Pool(args.database)
    with Transaction().start(args.database, 0, readonly=True):
        pool.init()
    # Creating singletons (the account configuration) asks for table locks.
    run_committed(args.database, setup)
    setup_time = time.monotonic() - started
    with Transaction().start(args.database, 0) as transaction:
        created = generate_offers(
            args.offers, seed=args.seed, batch=args.batch, commit=True,
            progress=not args.quiet)
        transaction.commit()
    elapsed = time.monotonic() - started
    rate = created / (elapsed - setup_time) if elapsed > setup_time else 0
    print(f"Created {created} offers in {elapsed:.1f} s "
        f"(set-up {setup_time:.1f} s, {rate:.0f} offers/s) "
        f"in database {args.database!r}.")
    return 0


if __name__ == '__main__':
    sys.exit(main())
