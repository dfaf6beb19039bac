# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Every fixture of the tests, in one place: no test module imports another.

- proteus helpers for the scenario_*.rst doctests (as Tryton's modules keep
  them in tests/tools.py), taking config=;
- ORM helpers for the unit and route tests, run inside a transaction of
  the test database (Pool(), Transaction()), and their base test cases."""
import base64
import datetime as dt
import importlib.util
import io
import os
import re
import sys
import unittest
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import zxingcpp
from PIL import Image, ImageDraw
from proteus import Model
from proteus.config import get_config

from trytond.filestore import filestore
from trytond.modules.account.tests.tools import create_chart, get_accounts
from trytond.modules.company import tests as company_tests
from trytond.modules.company.tests import set_company
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.modules.currency.tests import create_currency
from trytond.pool import Pool
from trytond.tests import tools as _tools
from trytond.tests.test_tryton import (
    DB_NAME,
    activate_module,
    backup_db_cache,
    drop_db,
    restore_db_cache,
)
from trytond.tests.test_tryton import RouteTestCase as _RouteTestCase
from trytond.transaction import Transaction, TransactionError

from . import media_samples as samples
from .smtp import smtp_server

# --- proteus: the scenarios -----------------------------------------------


def activate_modules(modules, *setup):
    """trytond.tests.tools.activate_modules, that starts a set-up from the
    database of the same modules without it when DB_CACHE holds one (the
    unit tests run first and made it): each scenario's module set is
    installed once a run, not once more for every set-up function."""
    modules = [modules] if isinstance(modules, str) else list(modules)
    # The names trytond gives them.
    name = '-'.join(sorted(modules))
    full = '--'.join(filter(None,
            [name, '|'.join(_tools._func_name(f) for f in setup)]))
    if restore_db_cache(full):
        return _tools._get_config()
    if setup and restore_db_cache(name):
        config = _tools._get_config()
        for func in setup:
            func(config=config)
        backup_db_cache(full)
        return config
    return _tools.activate_modules(modules, *setup)


def create_offer_company(config=None):
    "Create a German moving company in EUR with a chart of accounts"
    Party = Model.get('party.party', config=config)
    party = Party(name="Büro 365 Umzüge GmbH")
    party.save()
    create_company(party=party, currency='EUR', config=config)
    create_chart(config=config)


def create_german_taxes(config=None):
    "Return the taxes USt 19 % and USt 7 % of the company"
    Tax = Model.get('account.tax', config=config)
    company = get_company(config=config)
    accounts = get_accounts(company, config=config)
    taxes = []
    for rate in [19, 7]:
        tax = Tax(name=f"USt {rate} %", description=f"USt {rate} %",
            type='percentage', rate=Decimal(rate) / 100)
        tax.invoice_account = accounts['tax']
        tax.credit_note_account = accounts['tax']
        tax.save()
        taxes.append(tax)
    return taxes


def set_default_tax(tax, config=None):
    """Make tax the company's default tax of services without a product:
    the default tax of the default revenue account (accounting
    configuration)"""
    Configuration = Model.get('account.configuration', config=config)
    Tax = Model.get('account.tax', config=config)
    revenue = Configuration(1).default_category_account_revenue
    revenue.taxes.append(Tax(tax.id))
    revenue.save()
    return revenue


def date_emails_back(offer, seconds=60, config=None):
    """Make the emails of the offer sent seconds earlier, as if the customer
    read them later: requests seconds after sending are a mail filter's"""
    config = config or get_config()
    with Transaction().start(config.database_name, 0):
        date_mails_back(offer.id, seconds=seconds)


# --- ORM: transactions, databases, languages -----------------------------


def run_committed(func, user=1, context=None):
    """Run func in a committed transaction of its own and return what it
    returns, retrying with the locks it asks for, as trytond's dispatcher
    does for a request."""
    extras = {}
    while True:
        with Transaction().start(
                DB_NAME, user, context=context, **extras) as transaction:
            try:
                return func()
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)


def read(func):
    "Run func in a transaction of its own and return what it returns."
    with Transaction().start(DB_NAME, 0):
        return func()


class ModuleDatabaseTestCase(unittest.TestCase):
    """A fresh database with the modules for the class, like ModuleTestCase
    without its checks"""
    modules = ['buero365_offers']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(list(cls.modules))

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()


def load_language(code):
    """Load the translations of a language, as an administrator does
    (Languages > Load translations: every activated module, translatable
    from then on); return the language."""
    Lang = Pool().get('ir.lang')
    lang, = Lang.search([('code', '=', code)])
    Lang.load_translations([lang])
    return lang


def load_german():
    "Load the German translations, as an administrator does."
    return load_language('de')


# --- ORM: company, customers, users --------------------------------------


def setup_offer_company(name="Büro 365 Umzüge GmbH"):
    """Create a company in EUR with a tax account and the German taxes
    19 % and 7 %; return (company, tax19, tax7).

    Offers need taxes, not a chart of accounts: one account is created
    instead of account's create_chart(), which took 1.2 of the 1.6 s this
    function costs in every test."""
    pool = Pool()
    Account = pool.get('account.account')
    AccountType = pool.get('account.account.type')
    Tax = pool.get('account.tax')

    currency = create_currency('EUR')
    company = company_tests.create_company(name=name, currency=currency)
    with set_company(company):
        account_type = AccountType(
            name="Steuern", statement='balance', company=company)
        account_type.save()
        account = Account(
            name="Umsatzsteuer", code="3806", type=account_type,
            company=company)
        account.save()
        taxes = []
        for rate in ['0.19', '0.07']:
            tax = Tax(
                name=f"USt {int(Decimal(rate) * 100)} %",
                description=f"USt {int(Decimal(rate) * 100)} %",
                type='percentage', rate=Decimal(rate), company=company,
                invoice_account=account, credit_note_account=account)
            tax.save()
            taxes.append(tax)
    return (company, *taxes)


TIMEZONE = 'Europe/Berlin'
ZONE = ZoneInfo(TIMEZONE)
PUBLIC_URL = 'https://angebote.example.de'


def company():
    "The company of the tests, created once per database (Europe/Berlin)."
    pool = Pool()
    Company = pool.get('company.company')
    companies = Company.search([], limit=1)
    if companies:
        return companies[0]
    company, _, _ = setup_offer_company()
    company.timezone = TIMEZONE
    company.save()
    # Links are built from it, in requests as in the scheduler.
    Configuration = pool.get('buero365.offer.configuration')
    config = Configuration(1)
    config.public_url = PUBLIC_URL
    config.save()
    return company


def create_germany():
    """Create Germany with its German and French names, as trytond's
    import of the countries (pycountry) does for the loaded languages."""
    pool = Pool()
    Country = pool.get('country.country')
    Lang = pool.get('ir.lang')
    germany, = Country.create([{'name': "Germany", 'code': 'DE'}])
    for code, name in [('de', "Deutschland"), ('fr', "Allemagne")]:
        lang, = Lang.search([('code', '=', code)])
        if not lang.translatable:
            lang.translatable = True
            lang.save()
        with Transaction().set_context(language=code):
            Country.write([Country(germany.id)], {'name': name})
    return germany


def create_customer(name="Müller Umzüge GmbH", email=None):
    pool = Pool()
    Party = pool.get('party.party')
    party = Party(name=name)
    if email:
        party.contact_mechanisms = [{'type': 'email', 'value': email}]
    party.save()
    return party


# The example IBAN of the German banks (Commerzbank Köln) and its BIC.
IBAN = 'DE89 3704 0044 0532 0130 00'
BIC = 'COBADEFFXXX'


def add_company_iban(company, iban=IBAN, bic=BIC):
    """Give the company's party a bank account with iban at a bank of bic,
    as staff enter it on the party (Bank Accounts)."""
    pool = Pool()
    Account = pool.get('bank.account')
    Bank = pool.get('bank')
    Party = pool.get('party.party')
    bank = None
    if bic:
        bank_party, = Party.create([{'name': "Commerzbank"}])
        bank, = Bank.create([{'party': bank_party.id, 'bic': bic}])
    account, = Account.create([{
                'bank': bank.id if bank else None,
                'owners': [('add', [company.party.id])],
                'numbers': [('create', [{'type': 'iban', 'number': iban}])],
                }])
    return account


def set_admin_company(company):
    "Make company the admin's company, as the browser tests log in as admin."
    pool = Pool()
    User = pool.get('res.user')
    admin, = User.search([('login', '=', 'admin')])
    User.write([admin], {
            'companies': [('add', [company.id])],
            'company': company.id,
            })


def setup_admin_company():
    """The German moving company (setup_offer_company), the admin's: what
    a browser test of the staff logs in to; return it."""
    company, _, _ = setup_offer_company()
    set_admin_company(company)
    return company


def offers_user(company, login='verkauf', password=None):
    "A sales user of the Offers group of company (no other group)."
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    group = ModelData.get_id('buero365_offers', 'group_offer')
    values = {
        'login': login,
        'name': "Vera Verkauf",
        'groups': [('add', [group])],
        'companies': [('add', [company.id])],
        'company': company.id,
        }
    if password:
        values['password'] = password
    user, = User.create([values])
    return user


# --- ORM: offers and their emails ----------------------------------------


def create_offer(email='erika@example.de', title="Umzug Köln → Bonn"):
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Lang = pool.get('ir.lang')
    Tax = pool.get('account.tax')
    customer = create_customer("Erika Mustermann", email=email)
    customer.lang, = Lang.search([('code', '=', 'en')])
    customer.save()
    taxes = Tax.search([('name', '=', "USt 19 %")], limit=1)
    offer, = Offer.create([{
                'party': customer.id,
                'email': email,
                'title': title,
                'lines': [('create', [{
                                'description': "Umzugshelfer",
                                'quantity': 2,
                                'unit_price': Decimal('45'),
                                'taxes': [('add', [t.id for t in taxes])],
                                }])],
                }])
    return offer


def offer_of(offer_id):
    return Pool().get('buero365.offer')(offer_id)


@contextmanager
def offer_company():
    "Yield an open offer of a German moving company, within that company."
    pool = Pool()
    Offer = pool.get('buero365.offer')
    company, _, _ = setup_offer_company()
    with set_company(company):
        offer = Offer(party=create_customer(), title="Umzug Berlin → Hamburg")
        offer.save()
        yield offer


def local_to_utc(value):
    "A naive Berlin date-time as naive UTC, as trytond stores it."
    return value.replace(tzinfo=ZONE).astimezone(
        dt.timezone.utc).replace(tzinfo=None)


def future(days, hour=8, minute=30):
    "A Berlin date-time days from now, naive."
    return dt.datetime.combine(
        dt.date.today() + dt.timedelta(days=days), dt.time(hour, minute))


def new_offer(send=True, language='en', valid_days=10, email=None,
        **values):
    """Create an offer in a committed transaction (and send it by email,
    through a real SMTP server); return (offer id, customer page path)."""
    def create():
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Lang = pool.get('ir.lang')
        Date = pool.get('ir.date')
        with set_company(company()):
            offer = create_offer(
                email=email or f'kunde{os.urandom(3).hex()}@example.de')
            lang, = Lang.search([('code', '=', language)])
            offer.party.lang = lang
            offer.party.save()
            write = {
                'start': local_to_utc(future(30, 9, 0)),
                'end': local_to_utc(future(30, 17, 0)),
                }
            write.update(values)
            Offer.write([offer], write)
            # In SQL: an offer cannot be created already out of date.
            table = Offer.__table__()
            Transaction().connection.cursor().execute(*table.update(
                    [table.valid_until],
                    [Date.today() + dt.timedelta(days=valid_days)],
                    where=table.id == offer.id))
            for cache in Transaction().cache.values():
                cache.clear()
            offer = Offer(offer.id)
            if send:
                send_by_email(offer)
            offer = Offer(offer.id)
            return offer.id, urlsplit(offer.customer_url).path
    return run_committed(create)


def run_send_wizard(offer, preview=False, **values):
    """Fill and submit the send wizard as a user would; return its form
    (and with preview, what its Preview step shows)."""
    pool = Pool()
    Send = pool.get('buero365.offer.send', type='wizard')
    with Transaction().set_context(
            active_model='buero365.offer', active_id=offer.id,
            active_ids=[offer.id]):
        session_id, _, _ = Send.create()
        send = Send(session_id)
        defaults = send.default_start(None)
        form = send.start
        for name, value in defaults.items():
            if name in {'offer', 'party', 'language'}:
                model = {'offer': 'buero365.offer', 'party': 'party.party',
                    'language': 'ir.lang'}[name]
                value = pool.get(model)(value)
            elif name in {'other_addresses', 'attachments'}:
                value = []
            setattr(form, name, value)
        for name, value in values.items():
            setattr(form, name, value)
        shown = send.default_preview(None) if preview else None
        send.transition_send()
        return (form, shown) if preview else form


def date_mails_back(offer_id, seconds=60):
    """Make the offer's emails sent seconds earlier, as if the customer
    read them later (in SQL: the send time is the module's)."""
    pool = Pool()
    Mail = pool.get('buero365.offer.mail')
    table = Mail.__table__()
    cursor = Transaction().connection.cursor()
    for mail in Mail.search([('offer', '=', offer_id)]):
        sent_at = (mail.sent_at or dt.datetime.now()) - dt.timedelta(
            seconds=seconds)
        cursor.execute(*table.update(
                [table.state, table.sent_at], ['sent', sent_at],
                where=table.id == mail.id))


def run_queue():
    "Run what ir.queue would run after the commit (no worker configured)."
    pool = Pool()
    Queue = pool.get('ir.queue')
    transaction = Transaction()
    while transaction.tasks:
        Queue(transaction.tasks.pop()).run()


def send_by_email(offer):
    """Send the offer with the wizard as staff do, through a real SMTP
    server; return the path of its customer page."""
    with smtp_server():
        run_send_wizard(offer)
        run_queue()
    return urlsplit(offer.__class__(offer.id).customer_url).path


def read_qrcodes(png):
    "Decode the QR codes of an image (bytes), as a banking app scans them."
    with Image.open(io.BytesIO(png)) as picture:
        return zxingcpp.read_barcodes(picture)


def pdf_qrcodes(reader):
    """Decode every QR code drawn as an image in the PDF (a PdfReader):
    their texts, in UTF-8 (as the GiroCode says it is).  WeasyPrint gives
    the pages one set of images: each is read once."""
    images = {image.data: None for page in reader.pages
        for image in page.images}
    return [r.bytes.decode('utf-8') for data in images
        for r in read_qrcodes(data)]


def html_part(message):
    return message.get_body(preferencelist=('html',)).get_content()


def text_part(message):
    return message.get_body(preferencelist=('plain',)).get_content()


# What build_message and smtplib put on an offer email, in that order.
OFFER_HEADERS = ['From', 'To', 'Subject', 'Message-ID', 'Reply-To',
    'MIME-Version', 'Content-Type', 'Content-Language', 'Date']


def raw_header_names(content):
    """The names of the header lines of a raw message, unfolded: what a
    mail program reads."""
    head = content.replace(b'\r\n', b'\n').split(b'\n\n', 1)[0]
    head = re.sub(rb'\n(?=[ \t])', b'', head)
    return [line.split(b':', 1)[0].decode() for line in head.split(b'\n')]


# --- ORM: leads (sale_opportunity) --------------------------------------


def create_lead(**values):
    pool = Pool()
    Opportunity = pool.get('sale.opportunity')
    lead, = Opportunity.create([values])
    return lead


def add_line(offer, amount, taxes=()):
    "Give the offer a service line of the net amount."
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Offer.write([offer], {'lines': [('create', [{
                            'description': "Umzugshelfer",
                            'quantity': 1,
                            'unit_price': Decimal(amount),
                            'taxes': [('add', [t.id for t in taxes])],
                            }])]})


# --- ORM: media of offers ------------------------------------------------


def add(offer, name, data, kind=None, **values):
    "Add a file to an offer as the client would; return the attachment."
    pool = Pool()
    Attachment = pool.get('ir.attachment')
    values = {'resource': str(offer), 'name': name, 'data': data, **values}
    if kind:
        values['media_kind'] = kind
    attachment, = Attachment.create([values])
    return attachment


def fill_offer(offer_id):
    "Give the offer what a real one has: lines with taxes, addresses, media."
    def fill():
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Tax = pool.get('account.tax')
        Country = pool.get('country.country')
        germany = (Country.search([('code', '=', 'DE')], limit=1)
            or [create_germany()])[0]
        offer = Offer(offer_id)
        taxes = Tax.search([], limit=1)
        Offer.write([offer], {
                'content': '<p>Wir ziehen <b>alles</b> um.</p>',
                'lines': [('create', [{
                                'description': f"Position {i}",
                                'quantity': i, 'unit_price': Decimal('45'),
                                'taxes': [('add', [t.id for t in taxes])],
                                } for i in range(1, 6)])],
                'addresses': [('create', [{
                                'label': label, 'street': "Domstraße 1",
                                'postal_code': "50667", 'city': "Köln",
                                'country': germany.id,
                                } for label in ["Auszug", "Einzug"]])],
                })
        add(offer, "Küche.png", samples.png(), 'image')
        add(offer, "AGB.pdf", samples.pdf(), 'attachment')
    run_committed(fill)


def add_link(offer, link, name=None, **values):
    pool = Pool()
    Attachment = pool.get('ir.attachment')
    attachment, = Attachment.create([{
                'resource': str(offer), 'type': 'link', 'link': link,
                'name': name, **values}])
    return attachment


def set_limits(**values):
    pool = Pool()
    Configuration = pool.get('buero365.offer.configuration')
    configuration = Configuration(1)
    for name, value in values.items():
        setattr(configuration, name, value)
    configuration.save()


def stored_files():
    "The files of the database's file store."
    root = os.path.join(filestore.path, Transaction().database.name)
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


# --- The customer pages (trytond's WSGI application) --------------------


def signature_png(size=(600, 200), ink=True, background=(0, 0, 0, 0)):
    "A PNG as the signature pad draws it: dark strokes on a transparent box."
    image = Image.new('RGBA', size, background)
    if ink:
        draw = ImageDraw.Draw(image)
        width, height = size
        points = [(int(width * x / 20), int(height * (0.5 + 0.3 * (
                            (-1) ** x) * (x % 3) / 3))) for x in range(2, 19)]
        draw.line(points, fill=(17, 17, 17, 255), width=4)
    output = io.BytesIO()
    image.save(output, format='PNG')
    return output.getvalue()


def data_url(png):
    return 'data:image/png;base64,' + base64.b64encode(png).decode()


def form_fields(page, form_id):
    "The fields and action of a form as the browser would submit it."
    document = lxml.html.fromstring(page)
    form = document.get_element_by_id(form_id) if form_id.startswith(
        'accept') else document.xpath(
        f'//section[@id="{form_id}"]//form')[0]
    fields = {}
    for element in form.xpath('.//input|.//select|.//textarea'):
        name = element.get('name')
        if not name:
            continue
        if element.get('type') == 'checkbox':
            continue
        if element.tag == 'textarea':
            fields[name] = element.text or ''
        elif element.tag == 'select':
            fields[name] = ''
        else:
            fields[name] = element.get('value', '')
    return form.get('action'), fields


def new_choice_offer():
    """A sent offer (new_offer: 2 helpers × 45) with the services of
    choice_lines at USt 19 %; return (offer id, customer page path)."""
    def lines():
        taxes = Pool().get('account.tax').search(
            [('name', '=', "USt 19 %")], limit=1)
        return [('create', choice_lines(taxes))]
    return new_offer(lines=run_committed(lines))


def choice_lines(taxes=()):
    """The services of a moving offer with choices, as create values: the
    helpers (included), packing material (optional, not ticked) and the
    truck, 7.5 t (chosen in advance) or 12 t."""
    tax_ids = [('add', [t.id for t in taxes])] if taxes else []
    return [{
            'description': description, 'quantity': 1,
            'unit_price': Decimal(price), 'taxes': tax_ids,
            'choice': choice, 'alternative_group': group,
            'selected': selected,
            } for description, price, choice, group, selected in [
            ("Umzugshelfer", '90', '', None, True),
            ("Verpackungsmaterial", '30', 'optional', None, False),
            ("LKW 7,5 t", '100', 'alternative', "LKW", True),
            ("LKW 12 t", '150', 'alternative', "LKW", False),
            ]]


def choice_form(page, chosen=None, **values):
    """The accept form as a browser submits it, as (name, value) pairs:
    its hidden fields, the ticked options and the chosen alternatives —
    as served, or the line ids of chosen (text) ticked instead."""
    form = lxml.html.fromstring(page).get_element_by_id('accept-form')
    fields = []
    for element in form.xpath('.//input'):
        name, kind = element.get('name'), element.get('type')
        if not name or name in values:
            continue
        if kind in {'checkbox', 'radio'}:
            ticked = (element.get('checked') is not None if chosen is None
                else element.get('value') in chosen)
            if ticked:
                fields.append((name, element.get('value')))
        else:
            fields.append((name, element.get('value', '')))
    fields.extend(values.items())
    return form.get('action'), fields


def hidden_fields(page):
    "The fields of the first form of a portal page, as served."
    form = lxml.html.fromstring(page).forms[0]
    return form.action, {
        e.get('name'): e.get('value', '')
        for e in form.xpath('.//input[@type="hidden"]')}


class CustomerRouteTestCase(_RouteTestCase):
    "Shared set-up of the tests of the customer pages"
    module = 'buero365_offers'

    @classmethod
    def setUpClass(cls):
        # RouteTestCase would not retry a set-up that needs table locks.
        super(_RouteTestCase, cls).setUpClass()
        run_committed(cls.setUpDatabase)
        cls.setUpData()

    @classmethod
    def setUpDatabase(cls):
        company()

    @classmethod
    def setUpData(cls):
        "Create what the tests share, each part in a transaction of its own."

    def get(self, path, **kwargs):
        return self.client().get(path, **kwargs)

    def page(self, path, status=200):
        response = self.get(path)
        self.assertEqual(response.status_code, status, path)
        return response.get_data(as_text=True)

    def post_form(self, path, form_id, status=303, headers=None,
            remote_addr='192.0.2.10', **values):
        "Submit a form of the page as served, with values filled in."
        action, fields = form_fields(self.page(path), form_id)
        fields.update(values)
        response = self.client().post(action, data=fields, headers=headers,
            environ_base={'REMOTE_ADDR': remote_addr})
        self.assertEqual(
            response.status_code, status, response.get_data(as_text=True))
        return response

    def accept(self, path, status=303, name="Erika Mustermann", **values):
        values.setdefault('signature', data_url(signature_png()))
        values.setdefault('terms', '1')
        return self.post_form(
            path, 'accept-form', status=status, name=name, **values)


# The project's scripts (demo data, set-up), which the tests reuse.
SCRIPTS = Path(__file__).resolve().parents[2] / 'scripts'


def load_script(name):
    """Import scripts/NAME.py (not part of the package) as the scripts
    import each other: as the top-level module NAME."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, SCRIPTS / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
