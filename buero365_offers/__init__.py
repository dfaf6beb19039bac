# This file is part of Büro 365 Offers.  See the README for licence terms.
