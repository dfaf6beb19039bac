# This file is part of Büro 365 Offers.  See the README for licence terms.
import datetime as dt
from decimal import Decimal

from proteus import Model
from proteus.config import get_config

from trytond.modules.account.tests.tools import create_chart, get_accounts
from trytond.modules.company.tests.tools import create_company, get_company

__all__ = ['create_offer_company', 'create_german_taxes', 'set_default_tax',
    'date_emails_back']


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
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    config = config or get_config()
    with Transaction().start(config.database_name, 0) as transaction:
        Mail = Pool().get('buero365.offer.mail')
        table = Mail.__table__()
        cursor = transaction.connection.cursor()
        for mail in Mail.search([('offer', '=', offer.id)]):
            if mail.sent_at:
                cursor.execute(*table.update([table.sent_at],
                        [mail.sent_at - dt.timedelta(seconds=seconds)],
                        where=table.id == mail.id))
        transaction.commit()
