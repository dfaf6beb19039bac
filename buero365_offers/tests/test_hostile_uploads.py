# This file is part of Büro 365 Offers.  See the README for licence terms.
"""A corpus of hostile uploads, each refused with a clear message.

The files (hostile_uploads.py, a fixed seed) go through the real path of
an upload: ir.attachment.create on an offer, as a sales user of the Offers
group calling through RPC."""
import hashlib
import io
import time
import unittest
from collections import Counter

import weasyprint
from PIL import Image, PngImagePlugin

from trytond.model.exceptions import ValidationError
from trytond.modules.buero365_offers.filecheck import (
    MARKUP_WINDOW,
    check_file,
    check_pdf,
)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from . import hostile_uploads
from . import media_samples as samples
from .tools import (
    ModuleDatabaseTestCase,
    load_german,
    offer_company,
    offers_user,
    set_limits,
    stored_files,
)


class HostileUploadTestCase(ModuleDatabaseTestCase):
    "Hostile uploads are all refused"

    @with_transaction()
    def test_hostile_corpus_refused(self):
        "None of the hostile corpus is accepted; each refusal names the file"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        items = hostile_uploads.corpus()
        self.assertGreaterEqual(len(items), 300)
        with offer_company() as offer:
            # Room for everything: a slip would be accepted, not counted.
            set_limits(**{f'{kind}_max_count': 10_000
                    for kind in ['image', 'video', 'attachment']})
            user = offers_user(offer.company)
            files = stored_files()
            accepted, crashed, refused = [], [], Counter()
            start = time.monotonic()
            with Transaction().set_user(user.id), \
                    Transaction().set_context(_check_access=True):
                for category, name, data in items:
                    try:
                        Attachment.create([{
                                    'resource': str(offer),
                                    'name': name,
                                    'data': data,
                                    }])
                    except ValidationError as exception:
                        refused[category] += 1
                        if not exception.message.strip():
                            crashed.append((name, "no message"))
                    except Exception as exception:
                        crashed.append((name, repr(exception)))
                    else:
                        accepted.append((category, name))
            elapsed = time.monotonic() - start
            summary = (
                f"hostile uploads (seed {hostile_uploads.SEED}): "
                f"{len(items)} tried, {len(accepted)} accepted, "
                f"{len(crashed)} without a clear refusal, "
                f"{elapsed:.1f} s; refused by category: "
                + ', '.join(f'{c} {n}' for c, n in sorted(refused.items())))
            print(summary)
            self.assertEqual(accepted, [], summary)
            self.assertEqual(crashed, [], summary)
            self.assertEqual(Attachment.search([
                        ('resource', '=', str(offer))]), [])
            # The file store may be shared with other test runs: look for
            # the corpus in what was added, not for an unchanged folder.
            hostile = {hashlib.sha256(d).digest() for _, _, d in items}
            for path in stored_files() - files:
                try:
                    with open(path, 'rb') as file:
                        content = file.read()
                except FileNotFoundError:
                    continue  # removed meanwhile by that other run
                self.assertNotIn(
                    hashlib.sha256(content).digest(), hostile, path)

    @with_transaction()
    def test_active_pdf_messages(self):
        "The refusal of an active PDF says why, in the user's language"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        load_german()
        javascript = hostile_uploads.pdf_document(
            catalog=b'/OpenAction << /S /JavaScript /JS (app.alert(1)) >> ',
            use_object_stream=True)
        with offer_company() as offer:
            for language, expected in [
                    ('en', "contains active content (/JavaScript)"),
                    ('de', "enthält aktive Inhalte (/JavaScript)")]:
                with Transaction().set_context(language=language), \
                        self.assertRaises(ValidationError) as context:
                    Attachment.create([{
                                'resource': str(offer), 'name': "Plan.pdf",
                                'data': javascript}])
                self.assertIn("Plan.pdf", context.exception.message)
                self.assertIn(expected, context.exception.message)
            with Transaction().set_context(language='de'), \
                    self.assertRaises(ValidationError) as context:
                Attachment.create([{
                            'resource': str(offer), 'name': "Film.mp4",
                            'data': hostile_uploads.iso_media_with(
                                samples.mp4(), b'<script>alert(1)</script>'),
                            }])
            self.assertIn("HTML oder Skript", context.exception.message)


# Photo metadata as cameras and editors write it (XML, near the start).
XMP = ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3'
    '.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl'
    '.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">'
    'Küche, Blick zum Fenster</rdf:li></rdf:Alt></dc:title>'
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


class ContentCheckTestCase(unittest.TestCase):
    "The new content checks on their own: ordinary files pass them"

    def test_photos_with_metadata_pass(self):
        "Photos with XMP metadata in their first bytes are not markup"
        png_info = PngImagePlugin.PngInfo()
        png_info.add_itxt('XML:com.adobe.xmp', XMP.decode())
        for format_, name, options in [
                ('JPEG', "Küche.jpg", {'xmp': XMP}),
                ('PNG', "Küche.png", {'pnginfo': png_info}),
                ('WEBP', "Küche.webp", {'xmp': XMP})]:
            output = io.BytesIO()
            Image.new('RGB', (64, 48), (200, 180, 160)).save(
                output, format_, **options)
            data = output.getvalue()
            self.assertIn(b'<x:xmpmeta', data[:MARKUP_WINDOW])
            format_found, _ = check_file(name, data)
            self.assertEqual(format_found, format_.lower())

    def test_plain_pdfs_pass(self):
        "Plain PDFs pass, also with object streams, links and encryption"
        for data in [
                samples.pdf(),
                hostile_uploads.pdf_document(),
                hostile_uploads.pdf_document(use_object_stream=True),
                hostile_uploads.pdf_document(page=(
                        b'/Annots [6 0 R] '), extra_objects=[
                        b'<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] '
                        b'/A << /S /URI /URI (https://example.com/) >> >>']),
                hostile_uploads.pdf_document(
                    catalog=b'/OpenAction [3 0 R /Fit] '),
                hostile_uploads.encrypted_pdf(''),
                weasyprint.HTML(string=(
                        '<h1>Angebot</h1><p><a href="https://example.com/">'
                        'Online ansehen</a> <a href="#agb">AGB</a></p>'
                        '<h2 id="agb">AGB</h2>')).write_pdf(),
                ]:
            self.assertEqual(check_pdf(data), 'pdf')
