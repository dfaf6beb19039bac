# This file is part of Büro 365 Offers.  See the README for licence terms.
from trytond.model import Index
from trytond.pool import Pool, PoolMeta

from .text import clean_line


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The offer list is searched by customer name ("müll" finds
        # "Müller Umzüge GmbH"); a trigram index keeps that fast.
        cls._sql_indexes.add(Index(t, (t.name, Index.Similarity())))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('name'):
            # The name goes into the customer's emails and pages: one line
            # without control characters (a NUL breaks the email).
            values['name'] = clean_line(values['name'])
        return values

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'write' and 'name' in field_names:
            # The offers are found by their customer's name.
            Offer = Pool().get('buero365.offer')
            Offer.update_search_keys(party_ids=[p.id for p in parties])
