# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Internal notes on offers ("Ajouter une nouvelle note").

Notes are for staff only: nothing here is ever shown to customers."""
import re

import nh3
from sql.aggregate import Count

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool

from .exceptions import MediaValidationError
from .filecheck import Refusal, check_data_image
from .media import refusal_text

NOTE_TYPES = [
    ('general', "General"),
    ('call', "Phone Call"),
    ('visit', "Site Visit"),
    ('email', "Email"),
    ('agreement', "Agreement"),
    ]

# What a note may hold: formatting, lists, tables, links and images.
NOTE_TAGS = {
    'a', 'b', 'blockquote', 'br', 'code', 'div', 'em', 'font', 'h1', 'h2',
    'h3', 'h4', 'hr', 'i', 'img', 'li', 'ol', 'p', 'pre', 's', 'span',
    'strike', 'strong', 'sub', 'sup', 'table', 'tbody', 'td', 'th', 'thead',
    'tr', 'u', 'ul',
    }
NOTE_ATTRIBUTES = {
    'a': {'href', 'title'},
    'img': {'src', 'alt', 'title', 'width', 'height'},
    'font': {'color', 'size', 'face'},
    'div': {'align'},
    'p': {'align'},
    'td': {'colspan', 'rowspan'},
    'th': {'colspan', 'rowspan'},
    }
_LINK_SCHEMES = ('http:', 'https:', 'mailto:', 'tel:')
_IMAGE_SOURCE = re.compile(
    r'^(https?://|data:image/(png|jpeg|webp);base64,)', re.IGNORECASE)
_TAG = re.compile(r'(<[^>]*>)')
_URL = re.compile(r'\bhttps?://[^\s<>"\']+', re.IGNORECASE)
_DATA_SOURCE = re.compile(r'<img[^>]*\ssrc="(data:[^"]*)"', re.IGNORECASE)


def _filter_attribute(tag, attribute, value):
    if attribute == 'href':
        return value if value.lower().startswith(_LINK_SCHEMES) else None
    if attribute == 'src':
        return value if _IMAGE_SOURCE.match(value) else None
    return value


def autolink(html):
    "Turn the bare web addresses in html's text into links."
    parts = _TAG.split(html)
    in_link = 0
    for i, part in enumerate(parts):
        if part.startswith('<'):
            if re.match(r'<a[\s>]', part, re.IGNORECASE):
                in_link += 1
            elif re.match(r'</a\s*>', part, re.IGNORECASE):
                in_link = max(in_link - 1, 0)
        elif not in_link:
            parts[i] = _URL.sub(_link, part)
    return ''.join(parts)


def _link(match):
    url, trail = match.group(0), ''
    while url and url[-1] in '.,;:!?)':
        url, trail = url[:-1], url[-1] + trail
    return f'<a href="{url}">{url}</a>{trail}'


def clean_note_html(text):
    """Return the text of a note as safe HTML.

    Bare addresses become links; scripts, styles, event handlers and links
    other than http, https, mailto and tel are dropped; images are kept
    when they come from the web or are embedded PNG, JPEG or WEBP."""
    if not text:
        return text
    return nh3.clean(
        autolink(text), tags=NOTE_TAGS, attributes=NOTE_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes={'http', 'https', 'mailto', 'tel', 'data'},
        link_rel='noopener noreferrer')


class OfferNote(ModelSQL, ModelView):
    "Offer Note"
    __name__ = 'buero365.offer.note'
    __string__ = "Offer Note"

    offer = fields.Many2One(
        'buero365.offer', "Offer", required=True, ondelete='CASCADE')
    title = fields.Char("Title", required=True)
    type = fields.Selection(
        NOTE_TYPES, "Type", required=True, sort=False,
        help="What the note is about, to find notes again.")
    text = fields.Text(
        "Text", help="Formatted text; links and images are allowed.")
    author = fields.Function(
        fields.Many2One('res.user', "Author"),
        'get_author', searcher='search_author')
    date = fields.Function(
        fields.Timestamp("Date"), 'get_date', searcher='search_date')
    # Lists show the time to the second, not to the microsecond.
    date._field.format = '%H:%M:%S'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('offer')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.offer, Index.Range())),
                Index(t, (t.create_date, Index.Range())),
                })
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @staticmethod
    def default_type():
        return 'general'

    def get_author(self, name):
        # From the record itself: nobody can write a note in another's name.
        return self.create_uid.id if self.create_uid else None

    @classmethod
    def search_author(cls, name, clause):
        return [('create_uid' + clause[0][len(name):], *clause[1:])]

    @staticmethod
    def order_author(tables):
        table, _ = tables[None]
        return [table.create_uid]

    def get_date(self, name):
        return self.create_date

    @classmethod
    def search_date(cls, name, clause):
        return [('create_date', *clause[1:])]

    @staticmethod
    def order_date(tables):
        table, _ = tables[None]
        return [table.create_date]

    def get_rec_name(self, name):
        return self.title

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('text'):
            values['text'] = clean_note_html(values['text'])
        return values

    @classmethod
    def validate_fields(cls, notes, field_names):
        super().validate_fields(notes, field_names)
        cls.check_images(notes, field_names)

    @classmethod
    def check_images(cls, notes, field_names=None):
        "Embedded images must be whole images within the image size limit."
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        if field_names and 'text' not in field_names:
            return
        _, max_size = Configuration(1).media_limits('image')
        for note in notes:
            sources = _DATA_SOURCE.findall(note.text or '')
            for number, source in enumerate(sources, 1):
                try:
                    check_data_image(source, max_size)
                except Refusal as refusal:
                    raise MediaValidationError(refusal_text(
                            refusal, gettext(
                                'buero365_offers.msg_note_image_name',
                                number=number, note=note.title)))


class NotesMixin:
    "The internal notes of an offer (buero365.offer uses it)."
    __slots__ = ()

    @classmethod
    def column_note_count(cls, tables):
        """The notes of each offer counted in the statement that reads or
        sorts the offers (note_count has no getter)."""
        pool = Pool()
        Note = pool.get('buero365.offer.note')
        note = Note.__table__()
        table, _ = tables[None]
        return note.select(Count(note.id), where=note.offer == table.id)
