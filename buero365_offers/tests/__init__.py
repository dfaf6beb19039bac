# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The module's tests (see the README, "Tests").

trytond 8.0's ``tools.misc.import_module`` looks a Tryton module up among
all installed entry points on every call, and ``pool.isregisteredby``
(used by ModuleTestCase for every model, about 20,000 times a test with
this module's pool) calls it through ``resolve``: 4-6 s a generic test,
2 minutes for test_module.py a backend.  A module is imported once anyway
(sys.modules), so the tests remember the look-up by name; nothing else of
trytond changes."""
import functools

from trytond.tools import misc

if not hasattr(misc.import_module, 'cache_info'):
    misc.import_module = functools.cache(misc.import_module)
