# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Fields only the server writes.

What the module computes or what points at stored data — numbers, totals,
states, revisions, tokens, checksums, the evidence of an acceptance, the
snapshots of what the customer was sent, the file ids and detected types
of media — is declared ``readonly=True``.  The clients never send such
fields, but ``readonly`` alone binds only the clients: an RPC ``create``,
``write`` or ``copy`` could still set them (a sales user pointing
``ir.attachment.file_id`` at the database file, for instance).

The rule is kept here, once, for every model that has such fields: an
external caller (a user through RPC, as ``check_modification`` calls it)
may not give a value to any stored read-only field, directly, inside
One2Many/Many2Many actions or as a default of ``copy``.  The server's own
code (root, buttons, wizards, routes, the scheduler, or code run
``without_check_access``) is not external and writes them as before.

The extensions below are registered after every other extension of their
model (see tryton.cfg), so that they see the values as the caller gave
them, before the module's own overrides add what the server computes."""
from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import AccessError
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

# Written by ModelSQL itself, whatever a caller gives.
_AUDIT_FIELDS = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}
# Set while copy() creates the copies: their values were read by the server
# (the caller's defaults are checked before).  Clients cannot set it: RPC
# drops every context key that starts with '_'.
_COPYING = '_buero365_copying'


def is_external():
    "Tell whether the transaction runs for a user through RPC."
    transaction = Transaction()
    return bool(transaction.user and transaction.check_access)


class ServerFieldsMixin:
    "Refuse values of the server's fields from external callers."
    __slots__ = ()

    # Records only the server creates and deletes: evidence and tokens.
    _server_records = False

    @classmethod
    def server_fields(cls):
        "The names of the fields only the server writes."
        return {name for name, field in cls._fields.items()
            if field.readonly is True
            and name not in _AUDIT_FIELDS
            and not (isinstance(field, fields.Function)
                and not field.setter)}

    @classmethod
    def check_server_values(cls, values):
        """Raise AccessError if values (of create, write or the defaults
        of copy) give a value to a field only the server writes."""
        protected = cls.server_fields()
        for name, value in values.items():
            name, _, subname = name.partition('.')
            field = cls._fields.get(name)
            if field is None:
                continue  # ModelStorage refuses unknown fields itself
            if name in protected and (subname or not (
                        field._type in {'one2many', 'many2many'}
                        and not value)):
                raise AccessError(gettext(
                        'buero365_offers.msg_server_field',
                        **cls.__names__(name)))
            if field._type not in {'one2many', 'many2many', 'one2one'}:
                continue
            Target = field.get_target()
            if not hasattr(Target, 'check_server_values'):
                continue
            if subname:
                Target.check_server_values({subname: value})
            elif isinstance(value, (list, tuple)):
                for action in value:
                    Target._check_server_action(action)

    @classmethod
    def _check_server_action(cls, action):
        "Check the values inside a One2Many/Many2Many action."
        if not isinstance(action, (list, tuple)) or not action:
            return
        if action[0] == 'create':
            for values in action[1]:
                cls.check_server_values(values)
        elif action[0] == 'write':
            for values in action[2::2]:
                cls.check_server_values(values)
        elif action[0] == 'copy' and len(action) > 2 and action[2]:
            cls.check_server_values(action[2])

    @classmethod
    def create(cls, vlist):
        if is_external() and not Transaction().context.get(_COPYING):
            for values in vlist:
                cls.check_server_values(values)
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        if is_external():
            for values in args[1::2]:
                cls.check_server_values(values)
        return super().write(*args)

    @classmethod
    def copy(cls, records, default=None):
        if is_external():
            if default:
                cls.check_server_values(default)
            with Transaction().set_context(**{_COPYING: True}):
                return super().copy(records, default=default)
        return super().copy(records, default=default)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete' and external and cls._server_records:
            raise AccessError(gettext(
                    'buero365_offers.msg_server_record_delete',
                    **cls.__names__()))


class Attachment(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'ir.attachment'


class Offer(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'buero365.offer'


class OfferHistory(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'buero365.offer.history'
    _server_records = True


class CustomerLink(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'buero365.offer.link'
    _server_records = True


class OfferMail(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'buero365.offer.mail'
    _server_records = True


class OfferEvent(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'buero365.offer.event'
    _server_records = True


class DateRequest(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'buero365.offer.date_request'
    _server_records = True


class Party(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def server_fields(cls):
        # Only the module's own: Tryton's party fields stay as Tryton has
        # them.
        return {'search_key'}


class SaleOpportunity(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'sale.opportunity'


class Sale(ServerFieldsMixin, metaclass=PoolMeta):
    __name__ = 'sale.sale'

    @classmethod
    def server_fields(cls):
        # Only the module's own: Tryton's sale fields stay as Tryton has
        # them.
        return {'offer'}
