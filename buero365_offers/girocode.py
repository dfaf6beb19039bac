# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The GiroCode: the payload of the EPC QR code (EPC069-12, "Quick Response
Code: Guidelines to Enable Data Capture for the Initiation of a SEPA Credit
Transfer") that banking apps scan to fill in a transfer.  No Tryton in
here.

The payload is lines of text joined by a line feed:

    BCD          service tag
    002          version: 002, in which the BIC is optional (EEA)
    1            character set: 1 is UTF-8
    SCT          identification: SEPA credit transfer
    BIC          of the beneficiary's bank, may be empty
    name         of the beneficiary, at most 70 characters
    IBAN         of the beneficiary, at most 34 characters
    EUR123.45    amount in euros, 0.01 to 999999999.99
    (purpose)    empty: no purpose code
    (structured) empty: the structured reference (ISO 11649, RF…, at most
                 35 characters) and the unstructured one exclude each other
    reference    unstructured remittance information, at most 140
                 characters: the offer number

at most 331 bytes in all, so that the code (error correction level M) is
at most version 13."""
from decimal import Decimal, InvalidOperation

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from .text import clean_line

SERVICE_TAG = 'BCD'
VERSION = '002'
CHARACTER_SET = '1'  # UTF-8
IDENTIFICATION = 'SCT'
NAME_MAX_LENGTH = 70
IBAN_MAX_LENGTH = 34
REFERENCE_MAX_LENGTH = 140
AMOUNT_MIN = Decimal('0.01')
AMOUNT_MAX = Decimal('999999999.99')
PAYLOAD_MAX_BYTES = 331


class GiroCodeError(ValueError):
    "A value cannot go into a GiroCode; field names which one."

    def __init__(self, field, message):
        super().__init__(f'{field}: {message}')
        self.field = field


def payload(name, iban, amount, reference=None, bic=None):
    """Return the GiroCode payload of a credit transfer of amount (euros)
    to the account iban (bic, optional) of name, with reference as the
    unstructured remittance information; raise GiroCodeError when a value
    does not fit.

    Names longer than the 70 characters the code holds are cut, as banks
    show them; line breaks and control characters become spaces, so that
    no value can add a line."""
    name = clean_line(name)[:NAME_MAX_LENGTH].strip()
    if not name:
        raise GiroCodeError('name', "the beneficiary's name is required")
    try:
        iban = stdnum_iban.validate(iban or '')
    except StdnumError as exception:
        raise GiroCodeError('iban', str(exception)) from exception
    if len(iban) > IBAN_MAX_LENGTH:
        raise GiroCodeError('iban', "longer than 34 characters")
    if bic:
        try:
            bic = stdnum_bic.validate(bic)
        except StdnumError as exception:
            raise GiroCodeError('bic', str(exception)) from exception
    reference = clean_line(reference)
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise GiroCodeError('reference', "longer than 140 characters")
    lines = [
        SERVICE_TAG, VERSION, CHARACTER_SET, IDENTIFICATION, bic or '',
        name, iban, format_amount(amount),
        '',  # purpose
        '',  # structured remittance information
        reference,
        ]
    # Empty elements at the end are left out, with their line feeds.
    text = '\n'.join(lines).rstrip('\n')
    if len(text.encode('utf-8')) > PAYLOAD_MAX_BYTES:
        raise GiroCodeError('payload', "longer than 331 bytes")
    return text


def format_amount(amount):
    "Return amount as the GiroCode writes it: EUR123.45."
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exception:
        raise GiroCodeError('amount', "not a number") from exception
    if not amount.is_finite() or amount != amount.quantize(AMOUNT_MIN):
        raise GiroCodeError('amount', "more than two decimals")
    if not AMOUNT_MIN <= amount <= AMOUNT_MAX:
        raise GiroCodeError('amount', "not between 0.01 and 999999999.99")
    return f'EUR{amount:.2f}'
