# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The deposit (Anzahlung) of an offer: what the customer pays once they
accepted, asked for by the confirmation email and the signed PDF with a
GiroCode (girocode.py) to the company's bank account.  The fields are on
the offer (offer.py); the rules are here."""
import logging
from collections import namedtuple
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval

from . import girocode
from .exceptions import DepositWithoutGiroCodeWarning

logger = logging.getLogger(__name__)

DEPOSIT_TYPES = [
    ('none', "No Deposit"),
    ('percent', "Percentage of the Total"),
    ('amount', "Fixed Amount"),
    ]
# Why a deposit is asked for without a GiroCode.
DEPOSIT_WITHOUT_GIROCODE = [
    (None, ""),
    ('iban', "The company has no bank account with an IBAN"),
    ('currency', "The offer is not in euros"),
    ]
# A GiroCode is a SEPA credit transfer: in euros only.
GIROCODE_CURRENCY = 'EUR'
# The fields whose change may make the deposit wrong.
DEPOSIT_FIELDS = {'deposit_type', 'deposit_value', 'total_amount', 'lines'}

DepositRequest = namedtuple('DepositRequest', [
        'amount', 'beneficiary', 'iban', 'bic', 'reference', 'girocode'])


def asks_for_deposit(purpose):
    """Tell whether an email for purpose asks for the offer's deposit:
    the confirmation of the acceptance."""
    return purpose == 'accepted'


class DepositChoiceMixin:
    """What deposit to ask for: none, a percentage of the total or a fixed
    amount (offers and offer templates)."""
    __slots__ = ()

    deposit_type = fields.Selection(
        DEPOSIT_TYPES, "Deposit", required=True, sort=False,
        help="Ask the customer for a deposit (Anzahlung) once they accept: "
        "the confirmation email and the signed PDF carry a GiroCode "
        "for it.")
    deposit_value = fields.Numeric(
        "Deposit Value", digits=(16, 2),
        states={
            'invisible': Eval('deposit_type', 'none') == 'none',
            'required': Eval('deposit_type', 'none') != 'none',
            },
        help="The percentage of the total (30 for 30 %) or the amount.")

    @staticmethod
    def default_deposit_type():
        return 'none'

    @fields.depends('deposit_type', 'deposit_value')
    def on_change_deposit_type(self):
        if self.deposit_type == 'none':
            self.deposit_value = None


class DepositMixin(DepositChoiceMixin):
    "The deposit of an offer (buero365.offer uses it)."
    __slots__ = ()

    @fields.depends(
        'deposit_type', 'deposit_value', 'total_amount', 'currency')
    def on_change_with_deposit_amount(self, name=None):
        return self.compute_deposit(self.total_amount)

    def compute_deposit(self, total):
        """The deposit on the total of the offer: the percentage rounded
        as the amounts are, or the fixed amount; None without."""
        from .offer import round_amount
        if (self.deposit_type == 'none' or self.deposit_value is None
                or total is None):
            return None
        if self.deposit_type == 'percent':
            return round_amount(
                total * self.deposit_value / 100, self.currency)
        return self.deposit_value

    @fields.depends('deposit_type', 'company', 'currency')
    def on_change_with_deposit_without_girocode(self, name=None):
        if self.deposit_type == 'none' or not self.company:
            return None
        if not self.currency or self.currency.code != GIROCODE_CURRENCY:
            return 'currency'
        if not self.deposit_bank_account():
            return 'iban'
        return None

    def deposit_bank_account(self):
        """The company's bank account the deposit is paid to: the first of
        its party's active accounts (in their order there) that has an
        IBAN and is in euros or in no currency; None if none has."""
        if not self.company:
            return None
        for account in self.company.party.bank_accounts_used:
            if account.iban and (not account.currency
                    or account.currency.code == GIROCODE_CURRENCY):
                return account
        return None

    @classmethod
    def check_deposit(cls, offers, field_names=None):
        """Refuse a deposit that is not more than zero, more than 100 % or
        more than the total of the offer."""
        pool = Pool()
        Lang = pool.get('ir.lang')
        if field_names and not (set(field_names) & DEPOSIT_FIELDS):
            return
        for offer in offers:
            if offer.deposit_type == 'none':
                continue
            value = offer.deposit_value
            if value is None or value <= 0:
                raise ValidationError(gettext(
                        'buero365_offers.msg_offer_deposit_not_positive',
                        offer=offer.rec_name))
            if offer.deposit_type == 'percent' and value > 100:
                raise ValidationError(gettext(
                        'buero365_offers.msg_offer_deposit_percent_too_high',
                        offer=offer.rec_name,
                        percent=Lang.get().format('%.2f', value) + ' %'))
            # The total of the lines as they are now: the stored one is
            # written after validation (update_amounts).
            total = offer._compute_amounts()[2]
            if offer.deposit_type == 'amount' and value > total:
                lang = Lang.get()
                raise ValidationError(gettext(
                        'buero365_offers.msg_offer_deposit_above_total',
                        offer=offer.rec_name,
                        deposit=lang.currency(value, offer.currency),
                        total=lang.currency(total, offer.currency)))

    def deposit_request(self):
        """What the customer is asked to pay as deposit once they accepted,
        or None when there is nothing to pay: the amount, the company's
        name and bank account (IBAN and BIC, None without), the offer
        number as reference and the GiroCode payload (None when there is
        no IBAN or the offer is not in euros)."""
        amount = self.compute_deposit(self.total_amount)
        if not amount or amount <= 0:
            return None
        account = None
        if not self.on_change_with_deposit_without_girocode():
            account = self.deposit_bank_account()
        beneficiary = self.company.party.name if self.company else None
        iban = account.iban if account else None
        bic = account.bank.bic if account and account.bank else None
        payload = None
        if account:
            try:
                payload = girocode.payload(
                    beneficiary, iban, amount.quantize(Decimal('0.01')),
                    reference=self.number, bic=bic)
            except girocode.GiroCodeError:
                # Asked for without the code, never an error for the
                # customer (e.g. an amount above 999 999 999.99 €).
                logger.warning(
                    "No GiroCode for the deposit of offer %s", self.number,
                    exc_info=True)
        return DepositRequest(
            amount=amount, beneficiary=beneficiary, iban=iban, bic=bic,
            reference=self.number, girocode=payload)

    def check_deposit_girocode(self):
        """Warn before the customer is sent what asks for a deposit that
        cannot have a GiroCode (the company has no IBAN, or the offer is
        not in euros)."""
        pool = Pool()
        Warning = pool.get('res.user.warning')
        reason = self.on_change_with_deposit_without_girocode()
        if not reason or not self.deposit_request():
            return
        key = Warning.format('deposit_without_girocode', [self])
        if Warning.check(key):
            raise DepositWithoutGiroCodeWarning(key, gettext(
                    f'buero365_offers.msg_offer_deposit_without_{reason}',
                    offer=self.rec_name,
                    currency=self.currency.code if self.currency else ''))
