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
# Around each text of a key: nobody types it, so a fragment never spans two
# texts, and a pattern anchored at its start or end (ilike 'AN-2026-1%', or
# an exact 'AN-2026-1') is anchored at the start or end of one text.
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
    if not parts:
        return ''
    return _SEPARATOR + _SEPARATOR.join(parts) + _SEPARATOR


def key_pattern(value):
    """The LIKE pattern on keys of what a user's (i)like pattern value
    asks of any one of the texts."""
    pattern = fold(value)
    if not pattern.startswith('%'):
        pattern = '%' + _SEPARATOR + pattern
    if not pattern.endswith('%') or pattern.endswith('\\%'):
        pattern += _SEPARATOR + '%'
    return pattern


def any_field_domain(clause, names):
    """The domain of a rec_name clause on the fields names: any of them
    matches (all of them for a negative operator such as 'not ilike')."""
    _, operator, value = clause[:3]
    bool_op = 'AND' if operator.startswith('!') or operator.startswith(
        'not ') else 'OR'
    return [bool_op, *((name, operator, value) for name in names)]


class FoldedKeyMixin:
    """A stored search_key, filled by the model's update_search_keys(ids)
    (all rows when the column is created), and its rec_name search: a
    (not) (i)like pattern looks in the key."""
    __slots__ = ()

    # Text: the texts are kept apart by a newline; lazy: no list reads it.
    search_key = fields.Text(
        "Search Key", readonly=True, strip=False, loading='lazy')

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
    def key_clause(cls, clause):
        """The domain on the key of a rec_name clause, or None when its
        operator is no pattern."""
        _, operator, value = clause[:3]
        if operator in {'like', 'ilike', 'not like', 'not ilike'}:
            operator = 'not like' if operator.startswith('not') else 'like'
            return [('search_key', operator, key_pattern(value))]


class SearchMixin(FoldedKeyMixin):
    "The search box of buero365.offer (see the module docstring)."
    __slots__ = ()

    @classmethod
    def search_rec_name(cls, name, clause):
        domain = cls.key_clause(clause)
        if domain:
            return domain
        _, operator, value = clause[:3]
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
        for where in _batch_wheres(offer, ids, offer.party, party_ids):
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
                write_search_keys(cls, [
                        (row[0], search_key(*row[1:])) for row in rows])
                last = rows[-1][0]


def _batch_wheres(table, ids, column=None, values=None):
    """Conditions of at most _BATCH ids (or values of column) each, or one
    for all rows when both are None."""
    if ids is not None:
        column, values = table.id, ids
    elif values is None:
        return [Literal(True)]
    return [column.in_(values[i:i + _BATCH])
        for i in range(0, len(values), _BATCH)]


def write_search_keys(Model, keys):
    "Write the search_key of Model's rows from keys: [(id, key)]."
    if not keys:
        return
    table = Model.__table__()
    update_sql, _ = tuple(table.update(
            [table.search_key], [''], where=Equal(table.id, 0)))
    Transaction().connection.cursor().executemany(
        update_sql, [(key, id_) for id_, key in keys])


class PartySearchMixin(FoldedKeyMixin):
    """The customer picker (party.party's rec_name) on a folded key too:
    name, code, the values of the active contact mechanisms and the
    identifiers' codes, as Tryton's party search looks in them."""
    __slots__ = ()

    @classmethod
    def search_rec_name(cls, name, clause):
        return cls.key_clause(clause) or super().search_rec_name(
            name, clause)

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'create' or (mode == 'write'
                and {'name', 'code'} & set(field_names or ())):
            cls.update_search_keys([p.id for p in parties])

    @classmethod
    def update_search_keys(cls, ids=None):
        "Write the key of the parties ids, or of all (None), in SQL."
        pool = Pool()
        Contact = pool.get('party.contact_mechanism')
        Identifier = pool.get('party.identifier')
        cursor = Transaction().connection.cursor()
        party = cls.__table__()
        contact, identifier = Contact.__table__(), Identifier.__table__()
        for where in _batch_wheres(party, ids):
            last = 0
            while True:
                cursor.execute(*party.select(party.id, party.name, party.code,
                        where=where & (party.id > last),
                        order_by=party.id.asc, limit=_BATCH))
                texts = {id_: [name, code]
                    for id_, name, code in cursor.fetchall()}
                if not texts:
                    break
                batch = list(texts)
                cursor.execute(*contact.select(contact.party, contact.value,
                        contact.value_compact,
                        where=contact.party.in_(batch) & contact.active))
                _extend(texts, cursor)
                cursor.execute(*identifier.select(identifier.party,
                        identifier.code, identifier.code_compact,
                        where=identifier.party.in_(batch)))
                _extend(texts, cursor)
                write_search_keys(cls, [
                        (id_, search_key(*t)) for id_, t in texts.items()])
                last = max(batch)


def _extend(texts, cursor):
    "Add the texts of the rows (party, text, …) of cursor to texts."
    for party, *values in cursor.fetchall():
        texts[party].extend(v for v in values if v)
