# This file is part of Büro 365 Offers.  See the README for licence terms.
from trytond.pool import Pool, PoolMeta

from .search import PartySearchMixin
from .text import clean_line


class Party(PartySearchMixin, metaclass=PoolMeta):
    __name__ = 'party.party'

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
            _forget_offer_documents(parties)


def _forget_documents(domain):
    """Forget the PDF kept of the revisions not sent yet of the open offers
    of domain (on the offer's link: 'offer.…'): what they print changed,
    the next print shows it as it is (a sent revision keeps the file the
    customer was sent)."""
    Link = Pool().get('buero365.offer.link')
    Link.forget_documents_where([('offer.state', '=', 'open'), domain])


def _forget_offer_documents(parties, addresses=None):
    """Forget the kept PDFs of the offers to parties (to addresses) and of
    the companies of parties: they print the customer's name and postal
    address, and the company's."""
    party_ids = [p.id for p in parties]
    customer = [('offer.party', 'in', party_ids)]
    if addresses is not None:
        customer.append(
            ('offer.customer_address', 'in', [a.id for a in addresses]))
    _forget_documents(
        ['OR', customer, ('offer.company.party', 'in', party_ids)])


class Company(metaclass=PoolMeta):
    __name__ = 'company.company'

    @classmethod
    def on_modification(cls, mode, companies, field_names=None):
        super().on_modification(mode, companies, field_names=field_names)
        if mode == 'write':
            # The letterhead: logo, header, footer, the company's party.
            _forget_documents(
                ('offer.company', 'in', [c.id for c in companies]))


class Address(metaclass=PoolMeta):
    __name__ = 'party.address'

    @classmethod
    def on_modification(cls, mode, addresses, field_names=None):
        super().on_modification(mode, addresses, field_names=field_names)
        if mode == 'write':
            _forget_offer_documents(
                {a.party for a in addresses}, addresses)


class _PartyTexts:
    "A contact or identifier: its party is found by its text (search.py)."
    __slots__ = ()

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode != 'delete':
            cls._update_parties({r.party.id for r in records})

    @classmethod
    def on_delete(cls, records):
        parties = {r.party.id for r in records}
        return super().on_delete(records) + [
            lambda: cls._update_parties(parties)]

    @staticmethod
    def _update_parties(party_ids):
        Party = Pool().get('party.party')
        if party_ids:
            Party.update_search_keys(sorted(party_ids))


class ContactMechanism(_PartyTexts, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'


class PartyIdentifier(_PartyTexts, metaclass=PoolMeta):
    __name__ = 'party.identifier'
