# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Media of offers: images, videos, attachments and links.

They are ``ir.attachment`` records whose resource is an offer, so the rules
here hold however a file arrives: the offer form, the attachment dialog of
the client or RPC.  Files are judged by their content, not by their name."""
import binascii
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections import defaultdict
from pathlib import PurePosixPath
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import olefile
import puremagic
import pypdf
from PIL import Image, ImageFile, ImageOps, ImageSequence
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
)
from sql import Null
from sql.aggregate import Count
from werkzeug.wrappers import Response

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Model, fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

MB = 1024 * 1024
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

MAX_NAME_LENGTH = 120
MAX_LINK_LENGTH = 2000
# Decoding 64 megapixels takes about 200 MB; more is refused as a bomb.
MAX_IMAGE_PIXELS = 64_000_000
# Animated images: all frames together.
MAX_ANIMATION_PIXELS = 4 * MAX_IMAGE_PIXELS
THUMBNAIL_SIZE = (256, 256)
ZIP_MAX_ENTRIES = 1000
ZIP_MAX_UNCOMPRESSED = 100 * MB
# Office XML compresses about 10:1 (very repetitive sheets 100:1); deflate
# reaches 1000:1: far more than usual in a big part is a zip bomb.
ZIP_MAX_RATIO = 200


class Format(NamedTuple):
    kind: str
    mime: str
    extensions: tuple
    label: str
    container: str


FORMATS = {
    'png': Format('image', 'image/png', ('.png',), "PNG", 'png'),
    'jpeg': Format(
        'image', 'image/jpeg', ('.jpg', '.jpeg'), "JPEG", 'jpeg'),
    'webp': Format('image', 'image/webp', ('.webp',), "WEBP", 'webp'),
    # MOV and MP4 share the ISO media container; QuickTime plays both.
    'mp4': Format('video', 'video/mp4', ('.mp4', '.mov'), "MP4", 'iso'),
    'mov': Format('video', 'video/quicktime', ('.mov',), "MOV", 'iso'),
    'avi': Format('video', 'video/x-msvideo', ('.avi',), "AVI", 'avi'),
    'webm': Format('video', 'video/webm', ('.webm',), "WEBM", 'webm'),
    'pdf': Format('attachment', 'application/pdf', ('.pdf',), "PDF", 'pdf'),
    'odt': Format(
        'attachment', 'application/vnd.oasis.opendocument.text',
        ('.odt',), "ODT", 'zip'),
    'doc': Format(
        'attachment', 'application/msword', ('.doc',), "DOC", 'ole'),
    'docx': Format(
        'attachment',
        'application/vnd.openxmlformats-officedocument'
        '.wordprocessingml.document',
        ('.docx',), "DOCX", 'zip'),
    'xlsx': Format(
        'attachment',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        ('.xlsx',), "XLSX", 'zip'),
    }
# Browsers show these by themselves; everything else is downloaded.
INLINE_TYPES = {
    'image/png', 'image/jpeg', 'image/webp',
    'video/mp4', 'video/quicktime', 'video/webm',
    }
# What puremagic calls the containers we know how to check.
_PUREMAGIC_CONTAINERS = {
    '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp',
    '.avi': 'avi', '.webm': 'webm', '.mkv': 'webm', '.pdf': 'pdf',
    '.doc': 'ole', '.xls': 'ole', '.ppt': 'ole', '.msi': 'ole',
    '.zip': 'zip', '.docx': 'zip', '.xlsx': 'zip', '.pptx': 'zip',
    '.odt': 'zip', '.ods': 'zip', '.jar': 'zip',
    }
# How messages name a container that does not fit the file's extension.
_CONTAINER_LABELS = {
    'png': "PNG", 'jpeg': "JPEG", 'webp': "WEBP", 'avi': "AVI",
    'webm': "WebM/Matroska", 'pdf': "PDF", 'ole': "Office 97-2003",
    'zip': "ZIP", 'iso': "MP4/MOV",
    }
_MP4_BRANDS = {
    b'isom', b'iso2', b'iso3', b'iso4', b'iso5', b'iso6', b'iso7', b'iso8',
    b'iso9', b'mp41', b'mp42', b'avc1', b'M4V ', b'dash', b'mmp4', b'MSNV',
    b'XAVC', b'f4v ',
    }
_IMAGE_PLUGINS = {'png': 'PNG', 'jpeg': 'JPEG', 'webp': 'WEBP'}
# Browsers and desktop tools guess a type from the first bytes (the WHATWG
# MIME sniffing standard reads 1445): no file may hold HTML or script there.
MARKUP_WINDOW = 1445
# At least four characters after '<', so that compressed data (photos,
# video frames) does not hit them by chance.
_MARKUP = re.compile(
    rb'<(?:!doctype|html|head|body|script|iframe|frame|object|embed|svg|'
    rb'img|meta|link|style|title|form|a\s+href|!--)'
    rb'|(?:java|vb)script:', re.IGNORECASE)
# PDF content that runs code, opens or sends files, or fetches other
# documents when the customer opens the file: actions (/S), keys and
# annotation types (/Subtype).
_PDF_ACTIVE_ACTIONS = {
    '/JavaScript', '/Launch', '/SubmitForm', '/ImportData', '/GoToR',
    '/GoToE', '/Rendition', '/RichMediaExecute',
    }
_PDF_ACTIVE_KEYS = {'/JS', '/JavaScript', '/EmbeddedFiles', '/EF', '/XFA'}
_PDF_ACTIVE_SUBTYPES = {'/FileAttachment', '/RichMedia', '/3D'}
# Link targets (/URI) that are not web pages or email addresses.
_PDF_ACTIVE_URI = re.compile(r'\s*(?:javascript|vbscript|file|data):', re.I)
# Far more than a 10 MB PDF holds; beyond, the file is refused unchecked.
PDF_MAX_OBJECTS = 500_000
# What check_media can store as media_type: all that media_response serves.
_SERVED_TYPES = {f.mime for f in FORMATS.values()}
# trytond's file store names a file by a uuid (older ones by an md5 hash)
# and files it under its first characters: a bare name stays in the store.
_FILE_ID = re.compile(r'[0-9A-Za-z][0-9A-Za-z_-]{3,127}')
_DATA_IMAGE = re.compile(
    r'^data:image/(png|jpeg|webp);base64,([A-Za-z0-9+/=\s]+)$')


class MediaValidationError(ValidationError):
    pass


class Refusal(Exception):
    "A file is refused: the message id and its variables, without the name."

    def __init__(self, message, **variables):
        super().__init__(message)
        self.message = message
        self.variables = variables

    def text(self, name):
        return gettext(
            f'buero365_offers.{self.message}', name=name, **self.variables)


def clean_text(text):
    "Return text on one line without control, format or bidi characters."
    text = unicodedata.normalize('NFC', str(text or ''))
    # Cc control, Cf format (bidi overrides, zero width), Cs, Co, Cn
    text = ''.join(c for c in text if unicodedata.category(c)[0] != 'C')
    return ' '.join(text.split())


def sanitize_filename(name):
    """Return name fit to show and to download, never to use as a path.

    Folders are dropped, control and bidi characters removed, characters
    that Windows refuses replaced, and the length bounded (keeping the
    extension)."""
    name = re.split(r'[/\\]', str(name or ''))[-1]
    name = clean_text(name)
    name = re.sub(r'[<>:"|?*]', '_', name)
    # Leading dots hide files, trailing ones upset Windows.
    name = name.strip(' .')
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition('.')
        if dot and stem and len(extension) <= 10:
            stem = stem[:MAX_NAME_LENGTH - len(extension) - 1].rstrip(' .')
            name = f'{stem}.{extension}'
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def extension(name):
    stem, dot, extension = name.rpartition('.')
    return f'.{extension.lower()}' if dot and stem else ''


def extensions_label(kind=None):
    "The extensions allowed for kind (or for every kind), for messages."
    return ', '.join(
        e.upper().lstrip('.') for key, f in FORMATS.items()
        for e in f.extensions
        if (kind is None or f.kind == kind)
        and not (key == 'mp4' and e == '.mov'))


def check_link(link):
    "Return link cleaned, or raise Refusal: only http and https addresses."
    link = (link or '').strip()
    if not link:
        raise Refusal('msg_media_link_required')
    if (len(link) > MAX_LINK_LENGTH
            or any(c.isspace() or unicodedata.category(c)[0] == 'C'
                for c in link)):
        raise Refusal('msg_media_link_invalid', link=clean_text(link)[:80])
    try:
        parts = urlsplit(link)
        parts.port  # raises on a malformed port
    except ValueError:
        raise Refusal('msg_media_link_invalid', link=link[:80])
    if parts.scheme.lower() not in {'http', 'https'}:
        raise Refusal('msg_media_link_scheme', link=link[:80])
    if not parts.hostname:
        raise Refusal('msg_media_link_invalid', link=link[:80])
    if parts.username is not None or parts.password is not None:
        # http://bank.example@evil.example hides the real host.
        raise Refusal('msg_media_link_credentials', link=link[:80])
    return link


def sniff(data):
    """Return (container, description) of data, from its magic bytes.

    container is one of the keys this module can check further (None for
    anything else); description names what puremagic found, for messages.
    """
    if data[4:8] == b'ftyp':
        # ISO media: MP4, MOV, but also HEIC photos and M4A sound.
        return 'iso', _CONTAINER_LABELS['iso']
    try:
        matches = puremagic.magic_string(data)
    except (puremagic.PureError, ValueError):
        matches = []
    for match in matches:
        container = _PUREMAGIC_CONTAINERS.get(match.extension.lower())
        if container:
            return container, _CONTAINER_LABELS[container]
    if matches:
        return None, matches[0].name
    return None, None


def check_image(data, format_):
    """Decode the whole image with Pillow; return its thumbnail (JPEG).

    Only the plugin of the expected format runs, the size is checked before
    decoding (decompression bombs) and every frame is decoded."""
    plugin = [_IMAGE_PLUGINS[format_]]
    # Another library (WeasyPrint does on import) may have told Pillow to
    # accept truncated images for the whole process.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # Pillow reads what is there; the file must also end where it says.
    if format_ == 'png' and b'IEND' not in data[-32:]:
        raise Refusal('msg_media_truncated')
    if (format_ == 'webp'
            and struct.unpack('<I', data[4:8])[0] + 8 > len(data)):
        raise Refusal('msg_media_truncated')
    try:
        # Pillow refuses beyond twice its own limit when opening; our
        # smaller limit is checked before anything is decoded.
        image = Image.open(io.BytesIO(data), formats=plugin)
        _check_pixels(image.width * image.height)
        image.verify()
        image = Image.open(io.BytesIO(data), formats=plugin)
        total = 0
        for frame in ImageSequence.Iterator(image):
            total += frame.width * frame.height
            if total > MAX_ANIMATION_PIXELS:
                _check_pixels(total)
            frame.load()
        image.seek(0)
        return thumbnail(image)
    except Image.DecompressionBombError:
        raise Refusal(
            'msg_media_image_pixels', pixels='>%d' % (
                2 * Image.MAX_IMAGE_PIXELS // 1_000_000),
            limit=MAX_IMAGE_PIXELS // 1_000_000)
    except Image.UnidentifiedImageError:
        raise Refusal('msg_media_corrupt', format=FORMATS[format_].label)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError,
            struct.error, MemoryError) as exception:
        # Pillow says "truncated" when the data stops early.
        if ('truncated' in str(exception)
                or isinstance(exception, EOFError)):
            raise Refusal('msg_media_truncated')
        raise Refusal('msg_media_corrupt', format=FORMATS[format_].label)


def _check_pixels(pixels):
    if pixels > MAX_IMAGE_PIXELS:
        raise Refusal(
            'msg_media_image_pixels', pixels=round(pixels / 1_000_000),
            limit=MAX_IMAGE_PIXELS // 1_000_000)


def thumbnail(image):
    "Return a small JPEG of image, turned upright, on white."
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, struct.error):
        pass  # a broken orientation tag only costs the rotation
    image.thumbnail(THUMBNAIL_SIZE)
    if image.mode in {'RGBA', 'LA', 'PA'} or 'transparency' in image.info:
        image = image.convert('RGBA')
        background = Image.new('RGB', image.size, 'white')
        background.paste(image, mask=image.getchannel('A'))
        image = background
    else:
        image = image.convert('RGB')
    output = io.BytesIO()
    image.save(output, 'JPEG', quality=80, optimize=True)
    return output.getvalue()


def _iso_boxes(data, start=0, end=None):
    "Yield (type, payload start, payload end) of the ISO media boxes."
    end = len(data) if end is None else end
    offset = start
    while offset < end:
        if end - offset < 8:
            raise Refusal('msg_media_truncated')
        size, box_type = struct.unpack('>I4s', data[offset:offset + 8])
        header = 8
        if size == 1:
            if end - offset < 16:
                raise Refusal('msg_media_truncated')
            size, = struct.unpack('>Q', data[offset + 8:offset + 16])
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            raise Refusal('msg_media_corrupt', format="MP4/MOV")
        if offset + size > end:
            raise Refusal('msg_media_truncated')
        yield box_type, offset + header, offset + size
        offset += size


def check_iso_media(data):
    """Return 'mp4' or 'mov' for a complete ISO media file with a video
    track; refuse photos (HEIC), sound only (M4A) and cut-off files."""
    boxes = list(_iso_boxes(data))
    box_type, start, end = boxes[0]
    if box_type != b'ftyp' or end - start < 8:
        raise Refusal('msg_media_corrupt', format="MP4/MOV")
    brand = data[start:start + 4]
    if brand == b'qt  ':
        format_ = 'mov'
    elif brand in _MP4_BRANDS:
        format_ = 'mp4'
    else:
        raise Refusal(
            'msg_media_not_video',
            detected=brand.decode('latin-1').strip() or '?')
    for box_type, start, end in boxes:
        if box_type == b'moov':
            if _has_video_track(data, start, end):
                return format_
            raise Refusal('msg_media_not_video', detected=format_.upper())
    raise Refusal('msg_media_truncated')


def _has_video_track(data, start, end):
    for box_type, t_start, t_end in _iso_boxes(data, start, end):
        if box_type != b'trak':
            continue
        for box_type, m_start, m_end in _iso_boxes(data, t_start, t_end):
            if box_type != b'mdia':
                continue
            for box_type, h_start, h_end in _iso_boxes(data, m_start, m_end):
                # hdlr: version and flags, pre-defined, handler type
                if (box_type == b'hdlr'
                        and data[h_start + 8:h_start + 12] == b'vide'):
                    return True
    return False


def check_avi(data):
    if len(data) < 24 or data[8:12] != b'AVI ':
        raise Refusal('msg_media_corrupt', format="AVI")
    riff_size, = struct.unpack('<I', data[4:8])
    if riff_size + 8 > len(data):
        raise Refusal('msg_media_truncated')
    if data[12:16] != b'LIST' or data[20:24] != b'hdrl':
        raise Refusal('msg_media_corrupt', format="AVI")
    return 'avi'


def _ebml_number(data, offset, marker=False):
    "Return (value, length, unknown) of the EBML variable integer."
    if offset >= len(data):
        raise Refusal('msg_media_truncated')
    first = data[offset]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        length += 1
        mask >>= 1
    if length > 8:
        raise Refusal('msg_media_corrupt', format="WEBM")
    if offset + length > len(data):
        raise Refusal('msg_media_truncated')
    value = first if marker else first & (mask - 1)
    for byte in data[offset + 1:offset + length]:
        value = (value << 8) | byte
    unknown = not marker and value == (1 << (7 * length)) - 1
    return value, length, unknown


def _ebml_element(data, offset):
    "Return (id, payload start, payload end or None if unknown size)."
    element_id, id_length, _ = _ebml_number(data, offset, marker=True)
    size, size_length, unknown = _ebml_number(data, offset + id_length)
    start = offset + id_length + size_length
    if unknown:
        return element_id, start, None
    if start + size > len(data):
        raise Refusal('msg_media_truncated')
    return element_id, start, start + size


def check_webm(data):
    "Return 'webm' for a WEBM file (Matroska whose document type is webm)."
    element_id, start, end = _ebml_element(data, 0)
    if element_id != 0x1A45DFA3 or end is None:
        raise Refusal('msg_media_corrupt', format="WEBM")
    doc_type = None
    offset = start
    while offset < end:
        child, c_start, c_end = _ebml_element(data, offset)
        if c_end is None:
            raise Refusal('msg_media_corrupt', format="WEBM")
        if child == 0x4282:
            doc_type = bytes(data[c_start:c_end]).rstrip(b'\0')
        offset = c_end
    if doc_type != b'webm':
        # Matroska (MKV) and other EBML files
        raise Refusal(
            'msg_media_mismatch',
            detected=(doc_type or b'EBML').decode('latin-1').upper())
    segment, _, _ = _ebml_element(data, end)
    if segment != 0x18538067:
        raise Refusal('msg_media_corrupt', format="WEBM")
    return 'webm'


def check_pdf(data):
    """Return 'pdf' for a whole PDF without active content.

    The file is parsed with pypdf (object streams and compressed objects
    included) and every object is looked at: scripts, launch and submit
    actions, embedded files and XFA forms are refused wherever they hide."""
    if not re.match(rb'%PDF-\d\.\d', data[:8]):
        raise Refusal('msg_media_corrupt', format="PDF")
    tail = data[-2048:]
    # A PDF is read from its end: a file cut short has no trailer.
    if b'%%EOF' not in tail or b'startxref' not in tail:
        raise Refusal('msg_media_truncated')
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(''):
            raise Refusal('msg_media_encrypted')
        active = _pdf_active_content(reader)
    except Refusal:
        raise
    except Exception:
        # A parser fed hostile bytes fails in many ways (pypdf's own
        # errors, but also KeyError, ValueError, RecursionError…): the
        # file cannot be read, so it cannot be checked.
        raise Refusal('msg_media_corrupt', format="PDF")
    if active:
        raise Refusal('msg_media_pdf_active', detail=active)
    return 'pdf'


def _pdf_active_content(reader):
    "Return the name of the first active content of the PDF, or None."
    # Every object of the cross-reference table, also those nothing refers
    # to, and the trailer: what a viewer could reach and what it could not.
    pending = [reader.trailer]
    for generation, objects in reader.xref.items():
        pending.extend(IndirectObject(n, generation, reader) for n in objects)
    pending.extend(
        IndirectObject(n, 0, reader) for n in reader.xref_objStm)
    seen = set()
    visited = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        visited += 1
        if visited > PDF_MAX_OBJECTS:
            raise Refusal('msg_media_corrupt', format="PDF")
        if isinstance(item, DictionaryObject):
            # also the dictionary of a stream
            for key, value in item.items():
                if key in _PDF_ACTIVE_KEYS:
                    return key
                if (key == '/URI' and isinstance(value, str)
                        and _PDF_ACTIVE_URI.match(value)):
                    return value.split(':', 1)[0].strip() + ':'
                if isinstance(value, NameObject) and (
                        (key == '/S' and value in _PDF_ACTIVE_ACTIONS)
                        or (key == '/Subtype'
                            and value in _PDF_ACTIVE_SUBTYPES)):
                    return value
                if isinstance(value, (
                            DictionaryObject, ArrayObject, IndirectObject)):
                    pending.append(value)
        elif isinstance(item, ArrayObject):
            pending.extend(v for v in item if isinstance(v, (
                        DictionaryObject, ArrayObject, IndirectObject)))
    return None


def holds_zip(data):
    """Tell whether data also reads as a ZIP archive: zip tools find an
    archive by the directory at its end, whatever comes before."""
    end = data.rfind(b'PK\x05\x06', max(0, len(data) - 22 - 0xFFFF))
    if end < 0 or len(data) < end + 22:
        return False
    size, _ = struct.unpack('<II', data[end + 12:end + 20])
    start = end - size
    return start >= 0 and data[start:start + 4] == b'PK\x01\x02'


def check_markup(data):
    """Refuse a file whose first bytes hold HTML or script: a polyglot a
    browser or desktop tool could run instead of showing the file."""
    match = _MARKUP.search(data[:MARKUP_WINDOW])
    if match:
        raise Refusal(
            'msg_media_markup', detail=match.group().decode('latin-1'))


def check_ole(data):
    "Return 'doc' for a Word 97-2003 document without macros."
    # olefile takes short bytes for a path: always give it a file object.
    try:
        ole = olefile.OleFileIO(
            io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    except (OSError, ValueError, IndexError, struct.error):
        # an OLE header whose sectors are missing or out of range
        raise Refusal('msg_media_truncated')
    with ole:
        if ole.exists('EncryptedPackage'):
            raise Refusal('msg_media_encrypted')
        if not ole.exists('WordDocument'):
            detected = ("Excel 97-2003" if ole.exists('Workbook')
                else "Office 97-2003")
            raise Refusal('msg_media_mismatch', detected=detected)
        if ole.exists('Macros') or ole.exists('_VBA_PROJECT_CUR'):
            raise Refusal('msg_media_macros')
        try:
            stream = ole.openstream('WordDocument')
            fib = stream.read(2)
        except (OSError, ValueError, IndexError, struct.error):
            raise Refusal('msg_media_truncated')
        # The File Information Block starts with wIdent 0xA5EC.
        if fib != b'\xec\xa5':
            raise Refusal('msg_media_corrupt', format="DOC")
    return 'doc'


def check_zip(data):
    """Return 'docx', 'xlsx', 'odt' or None for an Office zip container.

    The archive is bounded (entries, total size, ratio), its part names
    checked and every part read once so that the CRCs prove it whole.  No
    XML is parsed: the parts are told apart by their names."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError,
            EOFError):
        # The central directory is at the end: a cut-off file lost it.
        raise Refusal('msg_media_truncated')
    with archive:
        infos = archive.infolist()
        if len(infos) > ZIP_MAX_ENTRIES:
            raise Refusal(
                'msg_media_zip_entries', count=len(infos),
                limit=ZIP_MAX_ENTRIES)
        total = 0
        for info in infos:
            # as stored: zipfile cuts the name at a NUL, other tools do not
            name = info.orig_filename
            parts = PurePosixPath(name.replace('\\', '/')).parts
            if (name.startswith(('/', '\\')) or '..' in parts
                    or re.match(r'^[A-Za-z]:', name)
                    or any(unicodedata.category(c)[0] == 'C'
                        for c in name)):
                raise Refusal('msg_media_zip_unsafe', part=clean_text(name))
            if info.flag_bits & 0x1:
                raise Refusal('msg_media_encrypted')
            total += info.file_size
            if (info.file_size > MB
                    and info.file_size
                    > ZIP_MAX_RATIO * max(info.compress_size, 1)):
                raise Refusal('msg_media_zip_bomb', detail=name)
        if total > ZIP_MAX_UNCOMPRESSED:
            raise Refusal('msg_media_zip_bomb', detail='%d MB' % (total // MB))
        names = {i.filename for i in infos}
        format_ = _office_format(archive, names)
        if format_ and any(
                n.lower().endswith('vbaproject.bin')
                or n.startswith(('Basic/', 'Scripts/'))
                for n in names):
            raise Refusal('msg_media_macros')
        try:
            for info in infos:
                with archive.open(info) as part:
                    while part.read(MB):
                        pass
        except EOFError:
            raise Refusal('msg_media_truncated')
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
                OSError, ValueError, NotImplementedError, RuntimeError):
            # bad CRC, unknown compression, broken deflate stream
            label = FORMATS[format_].label if format_ else "ZIP"
            raise Refusal('msg_media_corrupt', format=label)
    if format_ is None:
        raise Refusal('msg_media_mismatch', detected="ZIP")
    return format_


def _office_format(archive, names):
    if 'mimetype' in names:
        info = archive.getinfo('mimetype')
        if info.file_size <= 100:
            mimetype = archive.read(info).strip()
            if mimetype == FORMATS['odt'].mime.encode():
                return 'odt'
        return None
    if '[Content_Types].xml' in names:
        if any(n.startswith('word/') for n in names):
            return 'docx'
        if any(n.startswith('xl/') for n in names):
            return 'xlsx'
    return None


_CHECKS = {
    'iso': check_iso_media,
    'avi': check_avi,
    'webm': check_webm,
    'pdf': check_pdf,
    'ole': check_ole,
    'zip': check_zip,
    }


def check_file(name, data, kind=None, limits=None):
    """Check a file by its content; return (format key, thumbnail or None).

    name must be sanitised already; kind is where the user put the file
    (None: decided by the extension); limits(kind) returns (count, bytes).
    Raise Refusal with the reason."""
    if not data:
        raise Refusal('msg_media_empty')
    suffix = extension(name)
    if not suffix:
        raise Refusal(
            'msg_media_no_extension', extensions=extensions_label(kind))
    candidates = [k for k, f in FORMATS.items() if suffix in f.extensions]
    if not candidates:
        raise Refusal(
            'msg_media_type_not_allowed', extension=suffix,
            extensions=extensions_label(kind))
    file_kind = FORMATS[candidates[0]].kind
    if kind and kind != file_kind:
        raise Refusal(
            'msg_media_wrong_kind', kind=kind_string(kind),
            extensions=extensions_label(kind))
    if limits:
        _, max_size = limits(file_kind)
        if len(data) > max_size:
            raise Refusal(
                'msg_media_too_large', size=format_size(len(data)),
                limit=format_size(max_size), kind=kind_string(file_kind))
    container, description = sniff(data)
    if container not in {FORMATS[c].container for c in candidates}:
        raise Refusal(
            'msg_media_mismatch', extension=suffix,
            detected=description or unknown_type())
    check_markup(data)
    # e.g. a JAR behind a photo: opened as an archive, it is another file.
    # (Office files may embed whole archives, e.g. a chart in a DOC.)
    if container not in {'zip', 'ole'} and holds_zip(data):
        raise Refusal(
            'msg_media_polyglot', format=_CONTAINER_LABELS[container],
            other="ZIP")
    if container in _IMAGE_PLUGINS:
        return container, check_image(data, container)
    try:
        format_ = _CHECKS[container](data)
    except Refusal as refusal:
        if refusal.message == 'msg_media_mismatch':
            refusal.variables['extension'] = suffix
        raise
    if format_ not in candidates:
        raise Refusal(
            'msg_media_mismatch', extension=suffix,
            detected=FORMATS[format_].label)
    return format_, None


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


def check_data_image(uri, max_size):
    """Check an image embedded as a data: URI (in a note's text).

    Raise Refusal when it is not a whole PNG, JPEG or WEBP image."""
    match = _DATA_IMAGE.match(uri)
    if not match:
        raise Refusal('msg_media_corrupt', format="PNG/JPEG/WEBP")
    try:
        data = binascii.a2b_base64(''.join(match.group(2).split()))
    except binascii.Error:
        raise Refusal('msg_media_corrupt', format="PNG/JPEG/WEBP")
    if len(data) > max_size:
        raise Refusal(
            'msg_media_too_large', size=format_size(len(data)),
            limit=format_size(max_size), kind=kind_string('image'))
    container, description = sniff(data)
    if container not in _IMAGE_PLUGINS:
        raise Refusal(
            'msg_media_mismatch', extension=match.group(1),
            detected=description or unknown_type())
    check_image(data, container)


def media_response(attachment, request=None):
    """Return a werkzeug Response that serves the file of a media item, or
    None when it has no file to serve.

    The content type is the one found in the content at upload; images and
    videos a browser can show are inline, everything else is a download;
    browsers must not guess another type.  Give the request to answer
    range requests (seeking in videos).

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
    response = Response(data, mimetype=attachment.media_type)
    disposition = ('inline' if attachment.media_type in INLINE_TYPES
        else 'attachment')
    name = sanitize_filename(attachment.name) or 'file'
    simple = unicodedata.normalize('NFKD', name).encode(
        'ascii', 'ignore').decode('ascii').replace('"', '') or 'file'
    response.headers.set(
        'Content-Disposition', disposition, filename=simple,
        **{'filename*': "UTF-8''" + quote(name, safe='')})
    response.headers['X-Content-Type-Options'] = 'nosniff'
    response.headers['Cache-Control'] = 'private, max-age=3600'
    if request is not None:
        response.make_conditional(
            request, accept_ranges=True, complete_length=len(data))
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
            name = clean_text(value('name'))[:MAX_NAME_LENGTH]
            if kind not in {None, 'link'}:
                raise MediaValidationError(Refusal(
                        'msg_media_link_not_file',
                        kind=kind_string(kind)).text(name or value('link')))
            try:
                link = check_link(value('link'))
            except Refusal as refusal:
                raise MediaValidationError(refusal.text(name))
            return {
                'type': 'link',
                'media_kind': 'link',
                'link': link,
                'data': None,
                'name': name or cls.auto_title(link),
                'media_type': None,
                'thumbnail': None,
                }
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
                Refusal('msg_media_file_not_link').text(name))
        data = value('data')
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        limits = Configuration(1).media_limits
        try:
            format_, thumbnail = check_file(name, data, kind, limits)
        except Refusal as refusal:
            raise MediaValidationError(refusal.text(name))
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


class MediaMixin:
    "The media of an offer (buero365.offer uses it)."
    __slots__ = ()

    @classmethod
    def get_media_count(cls, offers, name):
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        table = Attachment.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        counts = dict.fromkeys((o.id for o in offers), 0)
        for sub_offers in grouped_slice(
                offers, backend.MAX_QUERY_PARAMS):
            resources = [f'{cls.__name__},{o.id}' for o in sub_offers]
            cursor.execute(*table.select(
                    table.resource, Count(table.id),
                    where=table.resource.in_(resources)
                    & (table.media_kind != Null),
                    group_by=[table.resource]))
            for resource, count in cursor:
                counts[int(resource.split(',', 1)[1])] = count
        return counts

    def customer_media(self):
        """Return the media items the customer may see, by kind.

        Notes and the items not marked visible are never among them."""
        return {kind: [a for a in getattr(self, field) if a.customer_visible]
            for kind, field in KIND_FIELDS.items()}
