# This file is part of Büro 365 Offers.  See the README for licence terms.
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    Unique,
    fields,
)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.transaction import Transaction


class LeadSource(DeactivableMixin, ModelSQL, ModelView):
    "Lead Source"
    __name__ = 'buero365.lead.source'
    __string__ = "Lead Source"

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

    @classmethod
    def check_modification(cls, mode, sources, values=None, external=False):
        super().check_modification(
            mode, sources, values=values, external=external)
        if mode == 'delete':
            cls.check_unused(sources)

    @classmethod
    def check_unused(cls, sources):
        "Refuse to delete sources that offers or leads refer to."
        # Reports and statistics need the source of past offers: a used
        # source is archived (deactivated), never deleted.
        ids = [s.id for s in sources]
        for Model, field_name in cls._referring_fields():
            with Transaction().set_context(active_test=False):
                records = Model.search(
                    [(field_name, 'in', ids)], limit=1, order=[])
            if records:
                source = getattr(records[0], field_name)
                raise AccessError(gettext(
                        'buero365_offers.msg_lead_source_delete_used',
                        source=source.rec_name,
                        model=Model.__names__()['model'],
                        record=records[0].rec_name))

    @classmethod
    def _referring_fields(cls):
        "Yield (Model, field name) of the stored fields pointing to sources."
        for _, Model in Pool().iterobject():
            if (not issubclass(Model, ModelSQL)
                    or callable(Model.table_query)):
                continue
            for field_name, field in Model._fields.items():
                if (field._type == 'many2one'
                        and field.model_name == cls.__name__
                        and not isinstance(field, fields.Function)):
                    yield Model, field_name
