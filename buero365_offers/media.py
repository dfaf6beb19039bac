# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Media of offers: images, videos, attachments and links.

They are ``ir.attachment`` records whose resource is an offer, so the rules
here hold however a file arrives: the offer form, the attachment dialog of
the client or RPC.  Files are judged by their content, not by their name."""
import io
import re
from collections import defaultdict

from sql import Cast, Null
from sql.aggregate import Count
from sql.operators import Concat
from werkzeug.http import generate_etag
from werkzeug.utils import send_file

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Model, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import MediaValidationError
from .filecheck import (
    FORMATS,
    INLINE_TYPES,
    MAX_NAME_LENGTH,
    Kind,
    Refusal,
    Size,
    Unknown,
    check_file,
    check_web_address,
    clean_text,
    extension,
    sanitize_filename,
)

OFFER = 'buero365.offer'

MEDIA_KINDS = [
    (None, ""),
    ('image', "Image"),
    ('video', "Video"),
    ('attachment', "Attachment"),
    ('link', "Link"),
    ]
# The kinds that hold files, each with its limits in the configuration.
FILE_KINDS = ('image', 'video', 'attachment')
KIND_FIELDS = {
    'image': 'images',
    'video': 'videos',
    'attachment': 'documents',
    'link': 'web_links',
    }

# What check_media can store as media_type: all that media_response serves.
_SERVED_TYPES = {f.mime for f in FORMATS.values()}
# trytond's file store names a file by a uuid (older ones by an md5 hash)
# and files it under its first characters: a bare name stays in the store.
_FILE_ID = re.compile(r'[0-9A-Za-z][0-9A-Za-z_-]{3,127}')


def refusal_text(refusal, name):
    """The message of a file check's Refusal about the file name, in the
    language of the transaction."""
    variables = {}
    for key, value in refusal.variables.items():
        if isinstance(value, Size):
            value = format_size(value)
        elif isinstance(value, Kind):
            value = kind_string(value)
        elif isinstance(value, Unknown):
            value = unknown_type()
        variables[key] = value
    return gettext(
        f'buero365_offers.{refusal.message}', name=name, **variables)


def kind_string(kind):
    "The label of the offer's tab for kind (Images, Videos…), translated."
    pool = Pool()
    Offer = pool.get(OFFER)
    field = KIND_FIELDS[kind]
    return Offer.fields_get([field])[field]['string']


def unknown_type():
    return gettext('buero365_offers.msg_media_unknown')


def format_size(size):
    """Return size in bytes as people read it, in the language of the
    transaction: "2.4 MB" in English, "2,4 MB" in German."""
    pool = Pool()
    Lang = pool.get('ir.lang')
    if size is None:
        return ''
    lang = Lang.get()
    if size < 1024:
        return gettext('buero365_offers.msg_size_bytes',
            size=lang.format_number(size, digits=0))
    for unit in ['kb', 'mb', 'gb']:
        size /= 1024
        if size < 1024 or unit == 'gb':
            # French readers expect "Mo", not "MB": the units translate.
            return gettext(f'buero365_offers.msg_size_{unit}',
                size=lang.format_number(size, digits=1))




def media_response(attachment, request=None):
    """Return a werkzeug Response that serves the file of a media item, or
    None when it has no file to serve.

    The content type is the one found in the content at upload; images and
    videos a browser can show are inline, everything else is a download;
    browsers must not guess another type.  Give the request to answer
    conditional and range requests (seeking in videos): werkzeug's
    send_file answers them.

    Only a file of the file store is served, never a path: a file id that
    is not a bare name of the store or a content type the upload checks do
    not give is refused, whoever wrote it in the database."""
    if (attachment.type != 'data'
            or attachment.media_type not in _SERVED_TYPES):
        return None
    if attachment.file_id is not None and not _FILE_ID.fullmatch(
            attachment.file_id):
        return None
    # The file store answers nothing for a file it lost; uploads are never
    # empty.
    data = attachment.data
    if not data:
        return None
    # Only the type of the upload check, never one guessed from the name.
    response = send_file(
        io.BytesIO(data), request.environ if request else {},
        mimetype=attachment.media_type,
        as_attachment=attachment.media_type not in INLINE_TYPES,
        download_name=sanitize_filename(attachment.name) or 'file',
        conditional=request is not None, etag=generate_etag(data),
        last_modified=attachment.write_date or attachment.create_date)
    response.headers['X-Content-Type-Options'] = 'nosniff'
    response.headers['Cache-Control'] = 'private, max-age=3600'
    return response


def offer_id(resource):
    "Return the offer id of an attachment's resource value, or None."
    if isinstance(resource, Model):
        model, id_ = resource.__name__, resource.id
    elif isinstance(resource, str) and ',' in resource:
        model, id_ = resource.split(',', 1)
    elif isinstance(resource, (list, tuple)) and len(resource) == 2:
        model, id_ = resource
    else:
        return None
    if model != OFFER:
        return None
    try:
        id_ = int(id_)
    except (TypeError, ValueError):
        return None
    return id_ if id_ >= 0 else None


def lock_offers(offer_ids):
    """Serialise media changes of each offer, so that counts hold.

    On PostgreSQL (repeatable read) a row lock alone is not enough: a
    transaction whose snapshot is older than the other's commit would still
    count stale rows.  Rewriting the row makes that transaction fail to
    serialise instead, and trytond retries it with a fresh snapshot."""
    pool = Pool()
    Offer = pool.get(OFFER)
    table = Offer.__table__()
    cursor = Transaction().connection.cursor()
    # One offer at a time, in order: no deadlock between two uploads.
    for id_ in sorted(offer_ids):
        cursor.execute(*table.update(
                [table.write_date], [table.write_date],
                where=table.id == id_))


class Attachment(metaclass=PoolMeta):
    __name__ = 'ir.attachment'

    media_kind = fields.Selection(
        MEDIA_KINDS, "Media Kind", sort=False,
        help="Where the item is shown on an offer; found from its content.")
    customer_visible = fields.Boolean(
        "Visible to Customer",
        help="Show this item on the customer's offer page.")
    media_type = fields.Char(
        "Content Type", readonly=True,
        help="The type found in the content of the file.")
    thumbnail = fields.Binary(
        "Thumbnail", readonly=True,
        states={
            'invisible': Eval('media_kind') != 'image',
            })
    size = fields.Function(
        fields.Char(
            "Size", help="The size of the file, e.g. 2.4 MB.",
            states={
                'invisible': Eval('type') != 'data',
                }),
        'get_size_text')
    link_auto_title = fields.Function(
        fields.Char("Automatic Title"), 'get_link_auto_title')

    @classmethod
    def default_media_kind(cls):
        kind = Transaction().context.get('media_kind')
        if kind in KIND_FIELDS:
            return kind

    @classmethod
    def default_customer_visible(cls):
        # Without a tab, create decides from the kind found in the content.
        kind = Transaction().context.get('media_kind')
        if kind in KIND_FIELDS:
            return kind in FILE_KINDS

    @classmethod
    def default_type(cls):
        if Transaction().context.get('media_kind') == 'link':
            return 'link'
        return super().default_type()

    def get_size_text(self, name):
        if self.type == 'data':
            return format_size(self.data_size)

    @staticmethod
    def auto_title(link):
        "The title a link gets from its address when none is given."
        return clean_text(link)[:MAX_NAME_LENGTH] or None

    def get_link_auto_title(self, name):
        if self.type == 'link' and self.link:
            return self.auto_title(self.link)

    @fields.depends('link', 'name', 'type', 'link_auto_title')
    def on_change_link(self):
        """Give a link its address as title, until the user writes one.

        A title the user typed is never replaced; one that still is the
        previous address follows the address as it is corrected."""
        if self.type != 'link' or not self.link:
            return
        # Only the link form has the previous automatic title.
        if not self.name or self.name == getattr(
                self, 'link_auto_title', None):
            self.name = self.auto_title(self.link)
            self.link_auto_title = self.name

    @classmethod
    def create(cls, vlist):
        vlist = [v.copy() for v in vlist]
        incoming = defaultdict(list)
        visible = set()
        for values in vlist:
            if 'resource' in values:
                id_ = offer_id(values['resource'])
            else:
                id_ = offer_id(cls.default_resource())
            if id_ is None:
                continue
            values.update(cls.check_media(values))
            if values.get('customer_visible') is None:
                values['customer_visible'] = values['media_kind'] in FILE_KINDS
            incoming[id_, values['media_kind']].append(values['name'])
            if values['customer_visible']:
                visible.add((id_, values['name']))
        cls._check_offers(incoming, visible)
        attachments = super().create(vlist)
        cls._new_revision({id_ for id_, _ in visible})
        return attachments

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        new_args = []
        incoming = defaultdict(list)
        moving = []
        visible = set()
        for attachments, values in zip(actions, actions):
            checked = cls._media_fields() & set(values)
            if not checked:
                new_args.extend((attachments, values))
                continue
            for attachment in attachments:
                old_id = offer_id(attachment.resource)
                new_id = (offer_id(values['resource'])
                    if 'resource' in values else old_id)
                if old_id is None and new_id is None:
                    new_args.extend(([attachment], values))
                    continue
                new_values = values.copy()
                if new_id is not None and checked - {'customer_visible'}:
                    new_values.update(cls.check_media(values, attachment))
                kind = new_values.get('media_kind', attachment.media_kind)
                if new_id is not None and (
                        new_id != old_id or kind != attachment.media_kind):
                    incoming[new_id, kind].append(
                        new_values.get('name', attachment.name))
                    moving.append(attachment.id)
                was_visible = attachment.customer_visible and old_id
                is_visible = (new_values.get(
                        'customer_visible', attachment.customer_visible)
                    and new_id is not None)
                name = new_values.get('name', attachment.name)
                if was_visible:
                    visible.add((old_id, name))
                if is_visible:
                    visible.add((new_id, name))
                new_args.extend(([attachment], new_values))
        cls._check_offers(incoming, visible, exclude=moving)
        super().write(*new_args)
        cls._new_revision({id_ for id_, _ in visible})

    @classmethod
    def delete(cls, attachments):
        visible = {(offer_id(a.resource), a.name) for a in attachments
            if a.customer_visible and offer_id(a.resource) is not None}
        # When the offer itself is deleted, its media go with it.
        visible = cls._existing_offers(visible)
        cls._check_offers({}, visible)
        super().delete(attachments)
        cls._new_revision({id_ for id_, _ in visible})

    @classmethod
    def copy(cls, attachments, default=None):
        default = default.copy() if default else {}
        # recomputed from the content by create
        default.setdefault('thumbnail', None)
        return super().copy(attachments, default=default)

    @classmethod
    def _media_fields(cls):
        "The fields whose change is checked on an offer's media."
        return {'data', 'name', 'type', 'link', 'resource', 'media_kind',
            'customer_visible'}

    @classmethod
    def _check_web_link(cls, name, link, kind):
        "Check a web link of an offer; return the values to store."
        name = clean_text(name)[:MAX_NAME_LENGTH]
        if kind not in {None, 'link'}:
            raise MediaValidationError(refusal_text(Refusal(
                        'msg_media_link_not_file', kind=Kind(kind)),
                    name or link))
        try:
            link = check_web_address(link)
        except Refusal as refusal:
            raise MediaValidationError(refusal_text(refusal, name))
        return {
            'type': 'link',
            'media_kind': 'link',
            'link': link,
            'data': None,
            'name': name or cls.auto_title(link),
            'media_type': None,
            'thumbnail': None,
            }

    @classmethod
    def check_media(cls, values, attachment=None):
        """Check a media item of an offer; return the values to store.

        values are the new values, attachment the stored item they change,
        if any.  Raise MediaValidationError naming the file and the reason.
        """
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')

        def value(name):
            if name in values:
                return values[name]
            return getattr(attachment, name, None) if attachment else None

        type_ = value('type')
        if not type_:
            # RPC callers may give only the address of a link
            type_ = ('link' if value('link') and not value('data')
                else cls.default_type())
        kind = value('media_kind')
        if type_ == 'link':
            return cls._check_web_link(value('name'), value('link'), kind)
        original = value('name')
        if (attachment and 'name' in values and original
                and not extension(original)
                and extension(attachment.name or '')):
            # Renaming a stored file keeps its type: "Flur" stays a JPEG.
            original += extension(attachment.name)
        name = sanitize_filename(original)
        if not name:
            raise MediaValidationError(gettext(
                    'buero365_offers.msg_media_name_invalid',
                    name=clean_text(original)[:MAX_NAME_LENGTH]))
        if kind == 'link':
            raise MediaValidationError(
                refusal_text(Refusal('msg_media_file_not_link'), name))
        data = value('data')
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        limits = Configuration(1).media_limits
        try:
            format_, thumbnail = check_file(name, data, kind, limits)
        except Refusal as refusal:
            raise MediaValidationError(refusal_text(refusal, name))
        return {
            'type': 'data',
            'name': name,
            'media_kind': FORMATS[format_].kind,
            'media_type': FORMATS[format_].mime,
            'thumbnail': thumbnail,
            }

    @classmethod
    def _check_offers(cls, incoming, visible, exclude=()):
        """Lock the offers and check the count limits and, for what the
        customer sees, that the offer is open.

        incoming maps (offer id, kind) to the names of the items added."""
        pool = Pool()
        Offer = pool.get(OFFER)
        Configuration = pool.get('buero365.offer.configuration')
        offer_ids = {id_ for id_, _ in incoming} | {id_ for id_, _ in visible}
        if not offer_ids:
            return
        lock_offers(offer_ids)
        with without_check_access():
            offers = {o.id: o for o in Offer.browse(list(offer_ids))}
            for id_, name in sorted(visible, key=lambda v: v[0]):
                if offers[id_].state != 'open':
                    raise AccessError(gettext(
                            'buero365_offers.msg_media_offer_not_open',
                            offer=offers[id_].rec_name, name=name))
        configuration = Configuration(1)
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        in_max = backend.MAX_QUERY_PARAMS
        for (id_, kind), names in incoming.items():
            if kind not in FILE_KINDS:
                continue
            limit, _ = configuration.media_limits(kind)
            where = ((table.resource == f'{OFFER},{id_}')
                & (table.media_kind == kind))
            for sub_ids in grouped_slice(exclude, in_max):
                where &= ~table.id.in_(list(sub_ids))
            cursor.execute(*table.select(Count(table.id), where=where))
            existing, = cursor.fetchone()
            if existing + len(names) > limit:
                name = names[max(limit - existing, 0)]
                raise MediaValidationError(gettext(
                        'buero365_offers.msg_media_too_many',
                        name=name, offer=offers[id_].rec_name, limit=limit,
                        kind=kind_string(kind)))

    @classmethod
    def _existing_offers(cls, items):
        pool = Pool()
        Offer = pool.get(OFFER)
        ids = {id_ for id_, _ in items}
        if not ids:
            return items
        with without_check_access():
            existing = {o.id for o in Offer.search([('id', 'in', list(ids))])}
        return {(id_, name) for id_, name in items if id_ in existing}

    @classmethod
    def _new_revision(cls, offer_ids):
        "What the customer sees changed: a sent offer gets a new revision."
        pool = Pool()
        Offer = pool.get(OFFER)
        if offer_ids:
            with without_check_access():
                Offer.new_revision(Offer.browse(list(offer_ids)))


def sql_reference(Model, id_column):
    """The SQL expression of the Reference value 'model,id' of Model's
    records by their id_column (ir.attachment's resource, ir.model.log's
    resource)."""
    return Concat(f'{Model.__name__},', Cast(id_column, 'VARCHAR'))


class MediaMixin:
    "The media of an offer (buero365.offer uses it)."
    __slots__ = ()

    @classmethod
    def column_media_count(cls, tables):
        """The media of each offer counted in the statement that reads or
        sorts the offers (media_count has no getter)."""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        attachment = Attachment.__table__()
        table, _ = tables[None]
        return attachment.select(Count(attachment.id),
            where=(attachment.resource == sql_reference(cls, table.id))
            & (attachment.media_kind != Null))

    def customer_media(self):
        """Return the media items the customer may see, by kind.

        Notes and the items not marked visible are never among them."""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        media = {kind: [] for kind in KIND_FIELDS}
        # One query for all kinds (as ordered by the fields of KIND_FIELDS).
        with without_check_access():
            items = Attachment.search([
                    ('resource', '=', str(self)),
                    ('media_kind', 'in', list(KIND_FIELDS)),
                    ('customer_visible', '=', True),
                    ], order=[('create_date', 'ASC'), ('id', 'ASC')])
        for item in items:
            media[item.media_kind].append(item)
        return media

    @classmethod
    def copy_media(cls, offers, copies):
        """Give each of copies the media items of its offer (of the same
        position in offers), checked and counted as uploads are."""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        names = ['name', 'type', 'data', 'link', 'description', 'media_kind',
            'customer_visible']
        for offer, copy in zip(offers, copies):
            items = Attachment.search([
                    ('resource', '=', str(offer)),
                    ('media_kind', 'in', list(KIND_FIELDS)),
                    ], order=[('create_date', 'ASC'), ('id', 'ASC')])
            # Created, not copied: an upload's checks read the content.
            Attachment.create([{
                        'resource': str(copy),
                        **{n: getattr(item, n) for n in names},
                        } for item in items])
