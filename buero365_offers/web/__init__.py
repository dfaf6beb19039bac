# This file is part of Büro 365 Offers.  See the README for licence terms.
"The customer pages: the werkzeug routes (routes.py), the pages (pages.py)."
