# This file is part of Büro 365 Offers.  See the README for licence terms.
from trytond.tests.test_tryton import ModuleTestCase


class OfferTestCase(ModuleTestCase):
    "Test Büro 365 Offers module"
    module = 'buero365_offers'


del ModuleTestCase
