# This file is part of Büro 365 Offers.  See the README for licence terms.
from trytond.exceptions import UserWarning


class LineWithoutTaxWarning(UserWarning):
    "An offer is about to reach the customer with a service without VAT."
