#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Finish the demo database after scripts/demo_data.py:

- the public address of the customer pages (the links in emails and the QR
  code of the PDF) is the demo server;
- the set-up wizards of the first login are marked done;
- customers read German (the language of the party configuration, and of
  the demo customers);
- free-text services get the tax USt 19 % (the default tax of the default
  revenue account);
- every country, named in German and French too (pycountry, as
  trytond_import_countries does);
- the scheduled actions (expiry, reminders...) run for the demo company:
  ir.cron gives each job the company it is set for, and the crons were
  made before the company was;
- the admin user is an employee of the demo company (leads need one) and
  works in German (sao, dates as 01.12.2026, numbers as 1.234,56);
- the module configuration has default terms (AGB) when it had none (a
  database made before the demo shipped them);
- the demo company has a bank account (the example IBAN of the German
  banks, DE89 3704 0044 0532 0130 00 at the Commerzbank): the deposits
  customers are asked for after accepting carry a GiroCode to it;
- three offer templates (Privatumzug, Endreinigung, Entrümpelung; see
  OFFER_TEMPLATES in demo_data.py) when the company has none;
- leads: the marketplace export scripts/umzugsfuchs_sample.csv is imported
  through the module's lead import, so the leads list is not empty.
  scripts/webvermarktung_sample.csv is left for the user to import (it has
  a duplicate and broken rows on purpose).

    python scripts/demo_setup.py -c var/trytond.conf -d demo \\
        --url http://127.0.0.1:8000

Each step is skipped when already done, so the script can run again.
"""
import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


# What the steps did, printed once the transaction is committed (it may be
# started again for a table lock).
REPORT = []
report = REPORT.append


def set_public_url(url):
    from trytond.pool import Pool
    Configuration = Pool().get('buero365.offer.configuration')
    configuration = Configuration(1)
    if not configuration.public_url:
        configuration.public_url = url
        configuration.save()
        report(f"Customer pages: {url}")


def skip_config_wizard():
    """The set-up wizards trytond opens at the first login (company, chart
    of accounts, ...) are done by the demo data: mark them done."""
    from trytond.pool import Pool
    Item = Pool().get('ir.module.config_wizard.item')
    items = Item.search([('state', '!=', 'done')])
    if items:
        Item.write(items, {'state': 'done'})


def set_cron_companies(company):
    """Set the demo company on the scheduled actions that have none, as
    trytond does for the crons made once a company exists."""
    from trytond.pool import Pool
    Cron = Pool().get('ir.cron')
    crons = Cron.search([('companies', '=', None)])
    if crons:
        Cron.write(crons, {'companies': [('add', [company.id])]})
        report(f"Scheduled actions run for {company.rec_name}: {len(crons)}")


def create_sales_on_acceptance():
    """An accepted offer becomes a sale quotation at once (Offers /
    Configuration), when the sale module is active: the customer signs and
    the sale is in Sales."""
    from trytond.pool import Pool
    Configuration = Pool().get('buero365.offer.configuration')
    if 'sale_creation' not in Configuration._fields:
        return  # sale is not activated
    configuration = Configuration(1)
    if configuration.id is not None and (
            configuration.sale_creation, configuration.sale_state) == (
            'accepted', 'quotation'):
        return
    configuration.sale_creation = 'accepted'
    configuration.sale_state = 'quotation'
    configuration.save()
    report("Accepted offers become sale quotations at once")


def set_german_customers():
    """New customers read German by default, and so do the demo customers
    that have no language yet (emails, customer pages and PDFs follow the
    customer's language)."""
    from trytond.pool import Pool
    pool = Pool()
    Lang = pool.get('ir.lang')
    Party = pool.get('party.party')
    PartyConfiguration = pool.get('party.configuration')
    german, = Lang.search([('code', '=', 'de')])
    configuration = PartyConfiguration(1)
    if configuration.party_lang:
        return
    configuration.party_lang = german
    configuration.save()
    parties = [p for p in Party.search([]) if not p.lang]
    Party.write(parties, {'lang': german.id})
    report(f"Language of the customers: {german.name}")


def set_default_tax(company):
    """New free-text services get USt 19 %: it is the default tax of the
    default revenue account (Financial / Configuration), as for sales."""
    from trytond.pool import Pool
    pool = Pool()
    Account = pool.get('account.account')
    Category = pool.get('product.category')
    Configuration = pool.get('account.configuration')
    Tax = pool.get('account.tax')
    configuration = Configuration(1)
    account = configuration.get_multivalue(
        'default_category_account_revenue', company=company.id)
    if not account:
        # the revenue account of the demo services
        categories = Category.search([
                ('name', '=', "Dienstleistungen"),
                ('accounting', '=', True),
                ], limit=1)
        if categories and categories[0].account_revenue:
            account = categories[0].account_revenue
        else:
            accounts = Account.search([
                    ('company', '=', company.id),
                    ('type.revenue', '=', True),
                    ('closed', '!=', True),
                    ], order=[('code', 'ASC')], limit=1)
            if not accounts:
                return
            account, = accounts
        configuration.default_category_account_revenue = account
        configuration.save()
    if account.taxes:
        return
    taxes = Tax.search([
            ('company', '=', company.id),
            ('name', '=', "USt 19 %"),
            ], limit=1)
    if taxes:
        Account.write([account], {'taxes': [('add', [taxes[0].id])]})
        report(f"Default tax of free-text services: {taxes[0].name}")


def import_countries():
    """Every country, named in each language of the database, from
    pycountry: what trytond_import_countries does, without its thousands of
    subdivisions (minutes).  Addresses then read "Deutschland" in German."""
    import gettext

    import pycountry

    from trytond.pool import Pool
    from trytond.tools import remove_forbidden_chars
    from trytond.transaction import Transaction
    pool = Pool()
    Country = pool.get('country.country')
    Lang = pool.get('ir.lang')
    existing = {c.code for c in Country.search([])}
    new = [{
            'code': c.alpha_2,
            'code3': c.alpha_3,
            'code_numeric': c.numeric,
            'name': remove_forbidden_chars(c.name),
            } for c in pycountry.countries if c.alpha_2 not in existing]
    if new:
        Country.create(new)
        report(f"Countries: {len(new)} added")
    countries = {c.code: c for c in Country.search([])}
    for lang in Lang.search([('translatable', '=', True)]):
        try:
            catalog = gettext.translation(
                'iso3166-1', pycountry.LOCALES_DIR, languages=[lang.code])
        except OSError:
            continue
        to_write = []
        with Transaction().set_context(language=lang.code):
            for country in pycountry.countries:
                record = countries.get(country.alpha_2)
                name = remove_forbidden_chars(catalog.gettext(country.name))
                if record and Country(record.id).name != name:
                    to_write.extend([[record], {'name': name}])
            if to_write:
                Country.write(*to_write)
                report(f"Countries in {lang.name}: "
                    f"{len(to_write) // 2} names")


def set_employee(company):
    from trytond.pool import Pool
    pool = Pool()
    User = pool.get('res.user')
    Party = pool.get('party.party')
    Employee = pool.get('company.employee')
    admin, = User.search([('login', '=', 'admin')])
    if admin.employee:
        return admin.employee
    party = Party(name="Alex Admin (Vertrieb)")
    party.save()
    employee = Employee(party=party, company=company)
    employee.save()
    User.write([admin], {
            'employees': [('add', [employee.id])],
            'employee': employee.id,
            })
    report(f"Employee of {admin.login}: {party.name}")
    return employee


# The example IBAN of the German banks and the BIC of its bank.
DEMO_IBAN = 'DE89 3704 0044 0532 0130 00'
DEMO_BIC = 'COBADEFFXXX'


def set_company_bank_account(company):
    """The demo company's bank account, where deposits are paid (the
    GiroCode of the confirmation email and the signed PDF)."""
    from trytond.pool import Pool
    pool = Pool()
    Account = pool.get('bank.account')
    Bank = pool.get('bank')
    Party = pool.get('party.party')
    if company.party.bank_accounts:
        return
    banks = Bank.search([('bic', '=', DEMO_BIC)], limit=1)
    if banks:
        bank, = banks
    else:
        bank_party, = Party.create([{'name': "Commerzbank"}])
        bank, = Bank.create([{'party': bank_party.id, 'bic': DEMO_BIC}])
    Account.create([{
                'bank': bank.id,
                'owners': [('add', [company.party.id])],
                'numbers': [('create', [{
                                'type': 'iban', 'number': DEMO_IBAN}])],
                }])
    report(f"Bank account of {company.rec_name}: {DEMO_IBAN} ({DEMO_BIC})")


def set_german_admin():
    """The admin works in German: sao's labels, and the date and number
    formats of the language German (res.lang de)."""
    from trytond.pool import Pool
    pool = Pool()
    Lang = pool.get('ir.lang')
    User = pool.get('res.user')
    german, = Lang.search([('code', '=', 'de')])
    admin, = User.search([('login', '=', 'admin')])
    if admin.language != german:
        User.write([admin], {'language': german.id})
        report(f"Language of {admin.login}: {german.name} "
            f"(dates {german.date}, decimal point {german.decimal_point!r})")


def import_leads(company):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    try:
        Opportunity = pool.get('sale.opportunity')
        LeadImport = pool.get('buero365.lead.import', type='wizard')
    except KeyError:
        report("sale_opportunity is not activated: no leads")
        return
    if Opportunity.search([], limit=1):
        return
    from trytond.modules.buero365_offers.lead_import import read_rows
    data = (HERE / 'umzugsfuchs_sample.csv').read_bytes()
    with Transaction().set_context(company=company.id):
        leads, skipped, failed = LeadImport.import_rows(read_rows(data))
    report(f"Leads imported: {len(leads)} "
        f"(skipped {len(skipped)}, failed {len(failed)})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--url', default='http://127.0.0.1:8000')
    args = parser.parse_args(argv)

    from trytond import config
    config.update_etc(args.config)
    # The sample leads' emails are checked as trytond checks addresses:
    # without the DNS lookup, which fails offline (see offline.py).
    import offline  # noqa: F401
    from demo_data import run_committed

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    pool = Pool(args.database)
    with Transaction().start(args.database, 0, readonly=True):
        pool.init()
    # Creating the configuration singleton asks for a table lock.
    run_committed(args.database, setup, pool, args.url)
    print('\n'.join(REPORT))
    return 0


def setup(pool, url):
    "All the steps, in the current transaction, as the admin user."
    REPORT.clear()
    from trytond.transaction import Transaction
    transaction = Transaction()
    User = pool.get('res.user')
    admin, = User.search([('login', '=', 'admin')])
    company = admin.company
    with transaction.set_user(admin.id):
        context = User.get_preferences(context_only=True)
    with transaction.set_user(admin.id), \
            transaction.set_context(context, company=company.id):
        set_public_url(url)
        skip_config_wizard()
        set_german_customers()
        set_cron_companies(company)
        set_default_tax(company)
        import_countries()
        employee = set_employee(company)
        # Leads and offers made here belong to the admin's employee.
        with transaction.set_context(employee=employee.id):
            import_leads(company)
        from demo_data import create_offer_templates, set_default_terms
        if set_default_terms():
            report("Default terms: the AGB of the demo company")
        set_company_bank_account(company)
        create_sales_on_acceptance()
        # after set_default_tax: the free-text services' tax
        created = create_offer_templates(company)
        if created:
            report(f"Offer templates: {created}")
        set_german_admin()


if __name__ == '__main__':
    sys.exit(main())
