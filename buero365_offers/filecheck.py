# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Checks of uploaded files by their content, with no Tryton in them.

Each check returns what the file is or raises Refusal: the id of the
message that says why (in message.xml) and its variables.  media.py turns
a Refusal into the translated error; sizes (Size), kinds (Kind) and
UNKNOWN are variables it shows in the user's language."""
import binascii
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import NamedTuple
from urllib.parse import urlsplit

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

MB = 1024 * 1024

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
_DATA_IMAGE = re.compile(
    r'^data:image/(png|jpeg|webp);base64,([A-Za-z0-9+/=\s]+)$')


class Size(int):
    "A file size in bytes: the message shows it as people read it."


class Kind(str):
    "A kind of media (image, video, attachment): the message names its tab."


class Unknown:
    "The type of a file that nothing recognised."


UNKNOWN = Unknown()


class Refusal(Exception):
    """A file is refused: the id of the message (in message.xml) and its
    variables, without the name of the file."""

    def __init__(self, message, **variables):
        super().__init__(message)
        self.message = message
        self.variables = variables


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


def check_web_address(link):
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
            'msg_media_wrong_kind', kind=Kind(kind),
            extensions=extensions_label(kind))
    if limits:
        _, max_size = limits(file_kind)
        if len(data) > max_size:
            raise Refusal(
                'msg_media_too_large', size=Size(len(data)),
                limit=Size(max_size), kind=Kind(file_kind))
    container, description = sniff(data)
    if container not in {FORMATS[c].container for c in candidates}:
        raise Refusal(
            'msg_media_mismatch', extension=suffix,
            detected=description or UNKNOWN)
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
            'msg_media_too_large', size=Size(len(data)),
            limit=Size(max_size), kind=Kind('image'))
    container, description = sniff(data)
    if container not in _IMAGE_PLUGINS:
        raise Refusal(
            'msg_media_mismatch', extension=match.group(1),
            detected=description or UNKNOWN)
    check_image(data, container)
