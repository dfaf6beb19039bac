# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Real sample files for the media tests, made on the fly.

Images come from Pillow; videos, PDF and Word 97 files are written by hand
following their specifications (ISO/IEC 14496-12, RIFF, EBML/Matroska,
ISO 32000, MS-CFB/MS-DOC); DOCX, XLSX and ODT are zip files built with
zipfile like office suites write them."""
import io
import struct
import zipfile

from PIL import Image, ImageDraw

__all__ = [
    'image', 'png', 'jpeg', 'webp', 'mp4', 'mov', 'avi', 'webm', 'mkv',
    'pdf', 'pdf_file', 'docx', 'xlsx', 'odt', 'doc', 'xls', 'zip_of',
    'bomb_png', 'zip_bomb', 'noise_png',
    ]


def image(format_='PNG', size=(640, 480), color=(30, 120, 200), mode='RGB'):
    "A real picture: a coloured canvas with a drawing on it."
    picture = Image.new(mode, size, color)
    draw = ImageDraw.Draw(picture)
    draw.rectangle(
        [size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4],
        fill=(250, 200, 40) if mode == 'RGB' else None)
    output = io.BytesIO()
    picture.save(output, format_)
    return output.getvalue()


def png(**kwargs):
    return image('PNG', **kwargs)


def jpeg(**kwargs):
    return image('JPEG', **kwargs)


def webp(**kwargs):
    return image('WEBP', **kwargs)


def noise_png(megabytes):
    "A PNG of random pixels (which do not compress) of about megabytes."
    import os
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5) + 1
    picture = Image.frombytes('RGB', (side, side), os.urandom(side * side * 3))
    output = io.BytesIO()
    picture.save(output, 'PNG', compress_level=0)
    return output.getvalue()


def bomb_png(side=12000):
    "A small PNG that decodes to side × side pixels: a decompression bomb."
    picture = Image.new('1', (side, side))
    output = io.BytesIO()
    picture.save(output, 'PNG', optimize=True)
    return output.getvalue()


def _box(box_type, payload=b''):
    return struct.pack('>I4s', 8 + len(payload), box_type) + payload


def _iso_media(brand, handler=b'vide'):
    ftyp = _box(b'ftyp', brand + struct.pack('>I', 0x200)
        + brand + b'isom' + b'mp41')
    mvhd = _box(b'mvhd', bytes(4) + struct.pack(
            '>IIII', 0, 0, 1000, 2000) + bytes(80))
    hdlr = _box(b'hdlr', bytes(4) + bytes(4) + handler + bytes(12)
        + b'VideoHandler\0')
    mdhd = _box(b'mdhd', bytes(4) + struct.pack(
            '>IIIIHH', 0, 0, 1000, 2000, 0x55c4, 0))
    trak = _box(b'trak', _box(b'tkhd', bytes(84))
        + _box(b'mdia', mdhd + hdlr))
    moov = _box(b'moov', mvhd + trak)
    mdat = _box(b'mdat', bytes(range(256)) * 16)
    return ftyp + moov + mdat


def mp4():
    "An MP4 (ISO media, brand isom) with a video track."
    return _iso_media(b'isom')


def mov():
    "A QuickTime movie (brand 'qt  ') with a video track."
    return _iso_media(b'qt  ')


def m4a():
    "An MP4 with only a sound track."
    return _iso_media(b'M4A ', handler=b'soun')


def _chunk(chunk_id, payload):
    padding = b'\0' if len(payload) % 2 else b''
    return chunk_id + struct.pack('<I', len(payload)) + payload + padding


def _list(list_type, payload):
    return _chunk(b'LIST', list_type + payload)


def avi():
    "An AVI (RIFF) with its header list, a movie list and an index."
    avih = _chunk(b'avih', struct.pack(
            '<10I4I', 40000, 0, 0, 0x10, 1, 0, 1, 0, 64, 48, 0, 0, 0, 0))
    strh = _chunk(b'strh', b'vids' + b'MJPG' + struct.pack(
            '<IHHIIIIIIIIhhhh', 0, 0, 0, 0, 1, 25, 0, 1, 0, 0xFFFFFFFF, 0,
            0, 0, 64, 48))
    strf = _chunk(b'strf', struct.pack(
            '<IiiHHIIiiII', 40, 64, 48, 1, 24, 0x47504A4D, 64 * 48 * 3, 0,
            0, 0, 0))
    hdrl = _list(b'hdrl', avih + _list(b'strl', strh + strf))
    frame = _chunk(b'00dc', jpeg(size=(64, 48)))
    movi = _list(b'movi', frame)
    idx1 = _chunk(b'idx1', b'00dc' + struct.pack('<III', 0x10, 4,
            len(frame) - 8))
    body = b'AVI ' + hdrl + movi + idx1
    return b'RIFF' + struct.pack('<I', len(body)) + body


def _ebml_size(size):
    for length in range(1, 9):
        if size < (1 << (7 * length)) - 1:
            return ((1 << (7 * length)) | size).to_bytes(length, 'big')
    raise ValueError(size)


def _element(element_id, payload):
    return element_id + _ebml_size(len(payload)) + payload


def _uint(value):
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), 'big')


def webm(doc_type=b'webm'):
    "A WEBM: EBML header (doc type webm) and a segment with its info."
    header = _element(b'\x1a\x45\xdf\xa3', b''.join([
                _element(b'\x42\x86', _uint(1)),
                _element(b'\x42\xf7', _uint(1)),
                _element(b'\x42\xf2', _uint(4)),
                _element(b'\x42\xf3', _uint(8)),
                _element(b'\x42\x82', doc_type),
                _element(b'\x42\x87', _uint(4)),
                _element(b'\x42\x85', _uint(2)),
                ]))
    info = _element(b'\x15\x49\xa9\x66', b''.join([
                _element(b'\x2a\xd7\xb1', _uint(1000000)),
                _element(b'\x4d\x80', b'buero365 tests'),
                _element(b'\x57\x41', b'buero365 tests'),
                ]))
    tracks = _element(b'\x16\x54\xae\x6b', _element(b'\xae', b''.join([
                    _element(b'\xd7', _uint(1)),
                    _element(b'\x83', _uint(1)),
                    _element(b'\x86', b'V_VP8'),
                    _element(b'\xe0', _element(b'\xb0', _uint(64))
                        + _element(b'\xba', _uint(48))),
                    ])))
    segment = _element(b'\x18\x53\x80\x67', info + tracks)
    return header + segment


def mkv():
    "A Matroska file: same container as WEBM, other doc type."
    return webm(doc_type=b'matroska')


def pdf(text="Angebot"):
    "A one-page PDF 1.4 with text, a correct xref table and trailer."
    content = (
        f'BT /F1 24 Tf 72 720 Td ({text}) Tj ET'.encode('latin-1'))
    objects = [
        b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] '
        b'/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
        b'<< /Length %d >>\nstream\n' % len(content) + content
        + b'\nendstream',
        ]
    return pdf_file(objects)


def pdf_file(objects, version=b'1.4'):
    """A PDF of the objects (bodies of objects 1, 2, …; the first is the
    catalog) with its cross-reference table and trailer."""
    output = io.BytesIO()
    output.write(b'%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n' % version)
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(output.tell())
        output.write(b'%d 0 obj\n' % number + body + b'\nendobj\n')
    xref = output.tell()
    output.write(b'xref\n0 %d\n' % (len(objects) + 1))
    output.write(b'0000000000 65535 f \n')
    for offset in offsets:
        output.write(b'%010d 00000 n \n' % offset)
    output.write(b'trailer\n<< /Size %d /Root 1 0 R >>\n' % (
            len(objects) + 1))
    output.write(b'startxref\n%d\n%%%%EOF\n' % xref)
    return output.getvalue()


def zip_of(parts, compression=zipfile.ZIP_DEFLATED):
    "A zip of (name, bytes or str) parts, the first one stored if mimetype."
    output = io.BytesIO()
    with zipfile.ZipFile(output, 'w', compression) as archive:
        for name, content in parts:
            archive.writestr(
                name, content,
                zipfile.ZIP_STORED if name == 'mimetype' else compression)
    return output.getvalue()


_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="%s"/></Relationships>')


def _content_types(overrides):
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + ''.join(f'<Override PartName="{n}" ContentType="{t}"/>'
            for n, t in overrides)
        + '</Types>')


def docx(text="Umzugsplan", extra=()):
    "A Word document (WordprocessingML) with one paragraph."
    return zip_of([
            ('[Content_Types].xml', _content_types([(
                            '/word/document.xml',
                            'application/vnd.openxmlformats-officedocument.'
                            'wordprocessingml.document.main+xml')])),
            ('_rels/.rels', _RELS % 'word/document.xml'),
            ('word/document.xml',
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/'
                'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
                f'{text}</w:t></w:r></w:p></w:body></w:document>'),
            *extra])


def xlsx():
    "An Excel workbook (SpreadsheetML) with one sheet and one cell."
    ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
    rel_ns = ('http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships')
    return zip_of([
            ('[Content_Types].xml', _content_types([
                        ('/xl/workbook.xml',
                            'application/vnd.openxmlformats-officedocument.'
                            'spreadsheetml.sheet.main+xml'),
                        ('/xl/worksheets/sheet1.xml',
                            'application/vnd.openxmlformats-officedocument.'
                            'spreadsheetml.worksheet+xml')])),
            ('_rels/.rels', _RELS % 'xl/workbook.xml'),
            ('xl/workbook.xml',
                f'<workbook xmlns="{ns}" xmlns:r="{rel_ns}"><sheets>'
                '<sheet name="Inventar" sheetId="1" r:id="rId1"/>'
                '</sheets></workbook>'),
            ('xl/_rels/workbook.xml.rels',
                '<Relationships xmlns="http://schemas.openxmlformats.org/'
                'package/2006/relationships"><Relationship Id="rId1" '
                f'Type="{rel_ns}/worksheet" Target="worksheets/sheet1.xml"/>'
                '</Relationships>'),
            ('xl/worksheets/sheet1.xml',
                f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1" '
                't="inlineStr"><is><t>Kartons</t></is></c></row>'
                '</sheetData></worksheet>'),
            ])


def odt(mimetype='application/vnd.oasis.opendocument.text'):
    "An OpenDocument text with its stored mimetype first."
    return zip_of([
            ('mimetype', mimetype),
            ('META-INF/manifest.xml',
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" '
                f'manifest:media-type="{mimetype}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>'),
            ('content.xml',
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<office:document-content xmlns:office="urn:oasis:names:tc:'
                'opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:'
                'tc:opendocument:xmlns:text:1.0" office:version="1.2">'
                '<office:body><office:text><text:p>Besichtigung</text:p>'
                '</office:text></office:body></office:document-content>'),
            ])


def zip_bomb(megabytes=20):
    "A DOCX whose document part unpacks from a few kB to megabytes."
    output = io.BytesIO()
    with zipfile.ZipFile(output, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr('[Content_Types].xml', _content_types([]))
        with archive.open('word/document.xml', 'w') as part:
            block = b' ' * (1024 * 1024)
            for _ in range(megabytes):
                part.write(block)
    return output.getvalue()


_FREE, _END, _FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def _dir_entry(name, entry_type, child=_FREE, start=_END, size=0):
    encoded = (name + '\0').encode('utf-16-le') if name else b''
    return (encoded.ljust(64, b'\0')
        + struct.pack('<HBBIII', len(encoded), entry_type, 1, _FREE, _FREE,
            child)
        + bytes(16) + bytes(4) + bytes(16)
        + struct.pack('<IIi', start, size, 0))


def _cfb(stream_name, stream):
    """A compound file (MS-CFB version 3) holding one stream of at least
    4096 bytes (so it lives in normal sectors, without a mini stream)."""
    stream = stream.ljust(4096, b'\0')
    sectors = (len(stream) + 511) // 512
    stream = stream.ljust(sectors * 512, b'\0')
    # sector 0: FAT, sector 1: directory, sectors 2…: the stream
    fat = [_FAT, _END] + [3 + i for i in range(sectors - 1)] + [_END]
    fat += [_FREE] * (128 - len(fat))
    header = (b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + bytes(16)
        + struct.pack('<HHHHH', 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
        + struct.pack('<IIIIIIIII', 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack('<I', 0) + struct.pack('<I', _FREE) * 108)
    directory = (_dir_entry('Root Entry', 5, child=1)
        + _dir_entry(stream_name, 2, start=2, size=4096)
        + _dir_entry('', 0) + _dir_entry('', 0))
    return header + struct.pack('<128I', *fat) + directory + stream


def doc():
    "A Word 97-2003 document: a WordDocument stream starting with its FIB."
    return _cfb('WordDocument', b'\xec\xa5\xc1\x00' + b'Umzug')


def xls():
    "An Excel 97-2003 workbook: the same container, another stream."
    return _cfb('Workbook', b'\x09\x08\x10\x00')
