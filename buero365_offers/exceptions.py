# This file is part of Büro 365 Offers.  See the README for licence terms.
"The module's exceptions: each carries a translated message."
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import ValidationError


class LineWithoutTaxWarning(UserWarning):
    "An offer is about to reach the customer with a service without VAT."


class DepositWithoutGiroCodeWarning(UserWarning):
    """The customer is about to be asked for a deposit that cannot have a
    GiroCode."""


class PlaceholderWarning(UserWarning):
    "An offer is about to reach the customer with a placeholder unfilled."


class SaleCancelWarning(UserWarning):
    "Reopening an offer cancels its sale quotation."


class AnswerRefused(UserError):
    """The offer cannot be answered any more: it was answered, expired,
    updated or changed while the customer read it."""
    # The routes answer with this status and the page.
    http_status = 409


class AnswerInvalid(UserError):
    "What the customer entered cannot be taken."
    http_status = 400


class MediaValidationError(ValidationError):
    "A media item of an offer is refused: the message names it and why."


class MalformedFile(Exception):
    "The file cannot be read as a lead export; nothing is imported."
