# This file is part of Büro 365 Offers.  See the README for licence terms.
from .web import portal, routes  # noqa: F401  (routes register on import)
