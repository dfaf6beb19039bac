# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The search box of the offers: one folded key per offer.

Staff find an offer by a fragment of its number, its title, the customer's
email or the customer's name, ignoring case and accents, and German users
type "mueller" for "Müller".  Each offer keeps these four texts folded in one
stored key (``search_key``), so that the search box and the offer pickers
run one ``LIKE`` on one column:

- the same on SQLite and PostgreSQL: the folding is done in Python, on the
  key and on what is typed, not by the database's ``unaccent``/``ILIKE``
  (SQLite has neither for non-ASCII letters);
- fast at a million offers on PostgreSQL: one trigram index on the key,
  where an OR over the party join made trytond build a UNION of full rows.

The key is written by the server only (read-only, guarded by
server_fields.py), when an offer is created, when one of the four texts
changes, and when a customer is renamed (party.py)."""
import unicodedata

from sql import Literal
from sql.conditionals import Coalesce
from sql.operators import Equal

from trytond.model import Index, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

# What the key is made of, on the offer; the customer's name comes with.
SEARCHED_FIELDS = ('number', 'title', 'email', 'party')
# Between the texts of a key: nobody types it, so a fragment never spans two.
_SEPARATOR = '\n'
_GERMAN = str.maketrans({'ä': 'ae', 'ö': 'oe', 'ü': 'ue'})
_BATCH = 5000


def fold(text):
    """The text as the search compares it: case folded (ß is ss), without
    accents; the SQL wildcards % and _ and their escapes are kept."""
    text = unicodedata.normalize('NFKD', (text or '').casefold())
    return ''.join(c for c in text if not unicodedata.combining(c))


def search_key(*texts):
    """The key of the texts: each folded, and once more with the German
    umlauts written out (ä as ae), where that differs."""
    parts = []
    for text in texts:
        if not text:
            continue
        parts.append(fold(text))
        german = fold(unicodedata.normalize('NFC', text.casefold())
            .translate(_GERMAN))
        if german != parts[-1]:
            parts.append(german)
    return _SEPARATOR.join(parts)


class SearchMixin:
    "The search box of buero365.offer (see the module docstring)."
    __slots__ = ()

    search_key = fields.Char("Search Key", readonly=True, strip=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.search_key.search_unaccented = False
        t = cls.__table__()
        # trytond searches a Char that is not required as COALESCE(key, '').
        cls._sql_indexes.add(
            Index(t, (Coalesce(t.search_key, ''), Index.Similarity())))

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        created = not table_h.column_exist('search_key')
        super().__register__(module)
        if created:
            cls.update_search_keys()

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        if operator in {'like', 'ilike', 'not like', 'not ilike'}:
            operator = 'not like' if operator.startswith('not') else 'like'
            return [('search_key', operator, fold(value))]
        # Exact comparisons (=, in, …) keep to the texts themselves.
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, value),
            ('title', operator, value),
            ('email', operator, value),
            ('party.name', operator, value),
            ]

    @classmethod
    def on_modification(cls, mode, offers, field_names=None):
        super().on_modification(mode, offers, field_names=field_names)
        if mode == 'create' or (mode == 'write'
                and set(field_names or ()) & set(SEARCHED_FIELDS)):
            cls.update_search_keys([o.id for o in offers])

    @classmethod
    def update_search_keys(cls, ids=None, party_ids=None):
        """Write the key of the offers ids, of the offers of the customers
        party_ids, or of all offers (both None), in batches, in SQL: it is
        no change a user made (no write date, no revision)."""
        pool = Pool()
        Party = pool.get('party.party')
        cursor = Transaction().connection.cursor()
        offer, party = cls.__table__(), Party.__table__()
        if ids is not None:
            chunks = [ids[i:i + _BATCH] for i in range(0, len(ids), _BATCH)]
            wheres = [offer.id.in_(c) for c in chunks]
        elif party_ids is not None:
            wheres = [offer.party.in_(party_ids[i:i + _BATCH])
                for i in range(0, len(party_ids), _BATCH)]
        else:
            wheres = [Literal(True)]
        update = offer.update([offer.search_key], [''],
            where=Equal(offer.id, 0))
        update_sql, _ = tuple(update)
        for where in wheres:
            last = 0
            while True:
                cursor.execute(*offer.join(party,
                        condition=offer.party == party.id).select(
                        offer.id, offer.number, offer.title, offer.email,
                        party.name,
                        where=where & (offer.id > last),
                        order_by=offer.id.asc, limit=_BATCH))
                rows = cursor.fetchall()
                if not rows:
                    break
                cursor.executemany(update_sql, [
                        (search_key(*row[1:]), row[0]) for row in rows])
                last = rows[-1][0]
