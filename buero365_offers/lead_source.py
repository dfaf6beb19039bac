# This file is part of Büro 365 Offers.  See the README for licence terms.
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    Unique,
    fields,
)


class LeadSource(DeactivableMixin, ModelSQL, ModelView):
    "Lead Source"
    __name__ = 'buero365.lead.source'

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char(
        "Code", required=True,
        help="A short unique key, used by imports and reports.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'buero365_offers.msg_lead_source_code_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.code, Index.Equality())))
        cls._order.insert(0, ('name', 'ASC'))
