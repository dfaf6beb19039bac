# This file is part of Büro 365 Offers.  See the README for licence terms.
"Media (images, videos, attachments, links) and internal notes of offers."
import base64
import threading
import time
import unittest

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from trytond import backend
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.buero365_offers.filecheck import (
    MAX_IMAGE_PIXELS,
    sanitize_filename,
)
from trytond.modules.buero365_offers.media import format_size, media_response
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME,
    activate_module,
    drop_db,
    with_transaction,
)
from trytond.transaction import Transaction

from . import media_samples as samples
from .tools import (
    ModuleDatabaseTestCase,
    add,
    add_link,
    create_customer,
    offer_company,
    run_committed,
    set_limits,
    setup_offer_company,
    stored_files,
)

MODULE = 'buero365_offers'


def reread(record):
    "The record read again in the context of the transaction."
    return record.__class__(record.id)


class MediaTestCase(ModuleDatabaseTestCase):
    "Media of offers"

    def assertRefused(self, message_parts, *args, **kwargs):
        "Run args[0](*args[1:]) and check the refusal names what it should."
        with self.assertRaises(ValidationError) as context:
            args[0](*args[1:], **kwargs)
        for part in message_parts:
            self.assertIn(part, context.exception.message)
        return context.exception.message

    @with_transaction()
    def test_images_accepted_with_thumbnail(self):
        "PNG, JPEG and WEBP images are accepted, visible, with a thumbnail"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        from PIL import Image
        with offer_company() as offer:
            for name, data, media_type in [
                    ("Küche.png", samples.png(), 'image/png'),
                    ("Flur.JPG", samples.jpeg(), 'image/jpeg'),
                    ("Keller.jpeg", samples.jpeg(), 'image/jpeg'),
                    ("Garage.webp", samples.webp(), 'image/webp'),
                    ]:
                image = add(offer, name, data, 'image')
                self.assertEqual(image.media_kind, 'image')
                self.assertEqual(image.media_type, media_type)
                self.assertTrue(image.customer_visible)
                thumbnail = Image.open(
                    __import__('io').BytesIO(image.thumbnail))
                self.assertEqual(thumbnail.format, 'JPEG')
                self.assertLessEqual(max(thumbnail.size), 256)
                self.assertEqual(bytes(image.data), data)
            offer = Offer(offer.id)
            self.assertEqual(len(offer.images), 4)
            self.assertEqual(offer.media_count, 4)

    @with_transaction()
    def test_rename_keeps_file_type(self):
        "Renaming an image without its extension keeps it a JPEG"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        with offer_company() as offer:
            image = add(offer, "IMG_0042.jpg", samples.jpeg(), 'image')
            Attachment.write([image], {'name': "Umzugskartons im Flur"})
            image = reread(image)
            self.assertEqual(image.name, "Umzugskartons im Flur.jpg")
            self.assertEqual(image.media_type, 'image/jpeg')
            # Another extension is still checked against the content.
            self.assertRefused(["does not match", "JPEG"],
                Attachment.write, [image], {'name': "Flur.png"})

    @with_transaction()
    def test_videos_accepted(self):
        "MP4, MOV, AVI and WEBM videos are accepted by their container"
        with offer_company() as offer:
            for name, data, media_type in [
                    ("Treppenhaus.mp4", samples.mp4(), 'video/mp4'),
                    ("Aufzug.mov", samples.mov(), 'video/quicktime'),
                    ("Hof.mov", samples.mp4(), 'video/mp4'),
                    ("Keller.avi", samples.avi(), 'video/x-msvideo'),
                    ("Dach.webm", samples.webm(), 'video/webm'),
                    ]:
                video = add(offer, name, data, 'video')
                self.assertEqual(video.media_kind, 'video')
                self.assertEqual(video.media_type, media_type)
                self.assertTrue(video.customer_visible)
                self.assertFalse(video.thumbnail)
            self.assertEqual(len(offer.videos), 5)

    @with_transaction()
    def test_attachments_accepted(self):
        "PDF, ODT, DOC, DOCX and XLSX attachments are accepted"
        with offer_company() as offer:
            for name, data, media_type in [
                    ("AGB.pdf", samples.pdf(), 'application/pdf'),
                    ("Plan.odt", samples.odt(),
                        'application/vnd.oasis.opendocument.text'),
                    ("Alt.doc", samples.doc(), 'application/msword'),
                    ("Liste.docx", samples.docx(),
                        'application/vnd.openxmlformats-officedocument'
                        '.wordprocessingml.document'),
                    ("Inventar.xlsx", samples.xlsx(),
                        'application/vnd.openxmlformats-officedocument'
                        '.spreadsheetml.sheet'),
                    ]:
                document = add(offer, name, data, 'attachment')
                self.assertEqual(document.media_kind, 'attachment')
                self.assertEqual(document.media_type, media_type)
            self.assertEqual(len(offer.documents), 5)

    @with_transaction()
    def test_generic_dialog_kind_from_content(self):
        "Files added without a kind (attachment dialog, RPC) are sorted"
        with offer_company() as offer:
            image = add(offer, "Foto.png", samples.png())
            document = add(offer, "Angebot.pdf", samples.pdf())
            link = add_link(offer, "https://example.com/plan")
            self.assertEqual(image.media_kind, 'image')
            self.assertEqual(document.media_kind, 'attachment')
            self.assertEqual(link.media_kind, 'link')
            self.assertEqual(link.name, "https://example.com/plan")
            self.assertTrue(image.customer_visible)
            self.assertFalse(link.customer_visible)
            self.assertEqual(
                [(o.images, o.documents, o.web_links)
                    for o in [offer.__class__(offer.id)]],
                [((image,), (document,), (link,))])

    @with_transaction()
    def test_other_resources_untouched(self):
        "Attachments of other records keep Tryton's behaviour"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        with offer_company() as offer:
            party = offer.party
            attachment, = Attachment.create([{
                        'resource': str(party), 'name': "notes.txt",
                        'data': b'anything'}])
            self.assertIsNone(attachment.media_kind)
            self.assertEqual(offer.media_count, 0)

    @with_transaction()
    def test_extension_must_match_content(self):
        "The content decides: a renamed file is refused"
        with offer_company() as offer:
            for name, data, detected in [
                    ("Foto.jpg", samples.png(), "PNG"),
                    ("Foto.png", samples.pdf(), "PDF"),
                    ("Plan.pdf", samples.docx(), "ZIP"),
                    ("Liste.docx", samples.xlsx(), "XLSX"),
                    ("Liste.xlsx", samples.odt(), "ODT"),
                    ("Text.odt", samples.zip_of([('a.txt', 'a')]), "ZIP"),
                    ("Tabelle.doc", samples.xls(), "Excel"),
                    ("Video.mp4", samples.mov(), "MOV"),
                    ("Video.webm", samples.mkv(), "MATROSKA"),
                    ("Video.avi", samples.webm(), "WebM"),
                    ("Film.mov", samples.avi(), "AVI"),
                    ]:
                with self.subTest(name=name):
                    self.assertRefused(
                        [name, "does not match", detected],
                        add, offer, name, data)
            self.assertEqual(offer.media_count, 0)

    @with_transaction()
    def test_type_not_allowed(self):
        "Only the formats of each kind are accepted, by tab"
        with offer_company() as offer:
            gif = samples.image('GIF')
            self.assertRefused(
                ["Bild.gif", ".gif", "PNG, JPG, JPEG, WEBP"],
                add, offer, "Bild.gif", gif)
            self.assertRefused(
                ["virus.exe", ".exe"], add, offer, "virus.exe",
                b'MZ\x90\x00' + bytes(200))
            self.assertRefused(
                ["Bild.svg"], add, offer, "Bild.svg",
                b'<svg xmlns="http://www.w3.org/2000/svg"/>')
            message = self.assertRefused(
                ["AGB.pdf", "Images", "PNG, JPG, JPEG, WEBP"],
                add, offer, "AGB.pdf", samples.pdf(), 'image')
            self.assertNotIn("PDF", message.split(':')[-1])
            self.assertRefused(
                ["Foto.png", "Videos"], add, offer, "Foto.png",
                samples.png(), 'video')
            self.assertRefused(
                ["Foto", "no extension"], add, offer, "Foto",
                samples.png())
            # audio only and photos in the ISO container are not videos
            self.assertRefused(
                ["Musik.mp4", "no video"], add, offer, "Musik.mp4",
                samples.m4a())

    @with_transaction()
    def test_empty_file_refused(self):
        "Zero-byte files are refused"
        with offer_company() as offer:
            self.assertRefused(
                ["leer.png", "empty"], add, offer, "leer.png", b'')
            self.assertRefused(
                ["leer.pdf", "empty"], add, offer, "leer.pdf", b'')

    @with_transaction()
    def test_truncated_files_refused(self):
        "Files cut off during upload are refused, whatever the format"
        with offer_company() as offer:
            for name, data in [
                    ("Foto.png", samples.png()),
                    ("Foto.jpg", samples.jpeg()),
                    ("Foto.webp", samples.webp()),
                    ("Film.mp4", samples.mp4()),
                    ("Film.avi", samples.avi()),
                    ("Film.webm", samples.webm()),
                    ("AGB.pdf", samples.pdf()),
                    ("Plan.docx", samples.docx()),
                    ("Alt.doc", samples.doc()),
                    ]:
                with self.subTest(name=name):
                    self.assertRefused(
                        [name, "incomplete"], add, offer, name,
                        data[:len(data) * 2 // 3])
            self.assertEqual(offer.media_count, 0)

    @with_transaction()
    def test_corrupt_files_refused(self):
        "Files whose data is damaged are refused"
        with offer_company() as offer:
            png = bytearray(samples.png())
            png[60:70] = b'\xff' * 10  # inside IDAT: CRC and deflate break
            self.assertRefused(
                ["Foto.png", "damaged"], add, offer, "Foto.png", bytes(png))
            docx = bytearray(samples.docx(text="x" * 2000))
            start = docx.index(b'word/document.xml') + 40
            docx[start:start + 20] = b'\x00' * 20
            self.assertRefused(
                ["Plan.docx"], add, offer, "Plan.docx", bytes(docx))

    @with_transaction()
    def test_decompression_bomb_refused(self):
        "An image that decodes to too many pixels is refused before decoding"
        with offer_company() as offer:
            data = samples.bomb_png(side=12000)
            self.assertLess(len(data), 1024 * 1024)
            self.assertGreater(12000 * 12000, MAX_IMAGE_PIXELS)
            self.assertRefused(
                ["Bombe.png", "megapixels"], add, offer, "Bombe.png", data)

    @with_transaction()
    def test_zip_bomb_refused(self):
        "Office files that unpack to far more than they weigh are refused"
        with offer_company() as offer:
            data = samples.zip_bomb(megabytes=20)
            self.assertLess(len(data), 100 * 1024)
            self.assertRefused(
                ["Bombe.docx", "zip bomb"], add, offer, "Bombe.docx", data)

    @with_transaction()
    def test_zip_too_many_entries_refused(self):
        "Office files with absurdly many parts are refused"
        with offer_company() as offer:
            data = samples.docx(extra=[
                    (f'word/media/p{i}.xml', '') for i in range(1001)])
            self.assertRefused(
                ["Viele.docx", "zip bomb", "1004"],
                add, offer, "Viele.docx", data)

    @with_transaction()
    def test_zip_unsafe_part_names_refused(self):
        "Office files with parts named like paths out of the archive"
        with offer_company() as offer:
            for part in ['../../etc/cron.d/evil', '/etc/passwd',
                    'C:/Windows/evil.dll']:
                with self.subTest(part=part):
                    data = samples.docx(extra=[(part, 'x')])
                    self.assertRefused(
                        ["Plan.docx", "unsafe", part.lstrip('/')[:6]],
                        add, offer, "Plan.docx", data)

    @with_transaction()
    def test_macros_refused(self):
        "Office documents with macros are refused"
        with offer_company() as offer:
            data = samples.docx(
                extra=[('word/vbaProject.bin', b'\xd0\xcf\x11\xe0')])
            self.assertRefused(
                ["Makro.docx", "macros"], add, offer, "Makro.docx", data)

    @with_transaction()
    def test_filenames_sanitised(self):
        "Names lose folders, control and bidi characters and get bounded"
        with offer_company() as offer:
            image = add(offer, "../../etc/Küche.png", samples.png())
            self.assertEqual(image.name, "Küche.png")
            image = add(offer, "C:\\Users\\x\\Flur.png", samples.png())
            self.assertEqual(image.name, "Flur.png")
            image = add(offer, "Bad\x00\n\u200bzimmer.png", samples.png())
            self.assertEqual(image.name, "Badzimmer.png")
            image = add(offer, "x" * 300 + ".png", samples.png())
            self.assertEqual(image.name, "x" * 116 + ".png")
            # "Rechnung‮gnp.exe" shows as "Rechnungexe.png": the override
            # goes, the real extension stays and is refused.
            message = self.assertRefused(
                ["Rechnunggnp.exe", ".exe"], add, offer,
                "Rechnung\u202egnp.exe", samples.png())
            self.assertNotIn("\u202e", message)
            self.assertRefused(
                ["no usable characters"], add, offer, "../..", samples.png())
        self.assertEqual(sanitize_filename('a/b\\c<d>.png'), 'c_d_.png')
        self.assertEqual(sanitize_filename('.htaccess'), 'htaccess')

    @with_transaction()
    def test_links_only_http(self):
        "Links accept only http and https addresses, never fetched"
        with offer_company() as offer:
            link = add_link(offer, " https://maps.example.com/a?b=1 ",
                name="Anfahrt")
            self.assertEqual(link.link, "https://maps.example.com/a?b=1")
            self.assertEqual(link.name, "Anfahrt")
            self.assertIsNone(link.media_type)
            for url, reason in [
                    ("javascript:alert(1)", "http://"),
                    ("JavaScript:alert(1)", "http://"),
                    ("ftp://example.com/x", "http://"),
                    ("data:text/html,<b>x</b>", "http://"),
                    ("//example.com/x", "http://"),
                    ("file:///etc/passwd", "http://"),
                    ("https://bank.example@evil.example/", "user name"),
                    ("http://exa mple.com", "not a valid"),
                    ("https://", "not a valid"),
                    ("http://example.com:99999/", "not a valid"),
                    ("", "Enter the web address"),
                    ]:
                with self.subTest(url=url):
                    self.assertRefused(
                        [url.strip()[:20], reason], add_link, offer, url)
            self.assertEqual(offer.media_count, 1)

    @with_transaction()
    def test_link_title_not_overwritten(self):
        "The address fills an empty title, never one the user typed"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        with offer_company() as offer:
            with Transaction().set_context(media_kind='link'):
                link = Attachment(resource=offer)
                link.type = Attachment.default_type()
                self.assertEqual(link.type, 'link')
                link.name = None
                link.link_auto_title = None
                # The address is typed in two goes; the title follows it
                # while it is the address.
                link.link = "https://www.stadt-koeln"
                link.on_change_link()
                self.assertEqual(link.name, "https://www.stadt-koeln")
                link.link = "https://www.stadt-koeln.de/halteverbot"
                link.on_change_link()
                self.assertEqual(
                    link.name, "https://www.stadt-koeln.de/halteverbot")
                # A title of the user stays, whatever the address becomes.
                link.name = "Halteverbotszone beantragen"
                link.link = "https://www.stadt-koeln.de/halteverbot-neu"
                link.on_change_link()
                self.assertEqual(link.name, "Halteverbotszone beantragen")

                # The title was typed first: the address leaves it alone.
                link = Attachment(resource=offer, type='link',
                    name="Anfahrt", link_auto_title=None)
                link.link = "https://maps.example.com/route"
                link.on_change_link()
                self.assertEqual(link.name, "Anfahrt")

            # A saved link whose title is its address: correcting the
            # address corrects the title; a real title stays.
            saved = add_link(offer, "https://example.com/plan")
            form = Attachment(saved.id)
            self.assertEqual(form.link_auto_title, "https://example.com/plan")
            form.link = "https://example.com/plan-2"
            form.on_change_link()
            self.assertEqual(form.name, "https://example.com/plan-2")
            titled = add_link(offer, "https://example.com/a", name="Plan A")
            form = Attachment(titled.id)
            form.link = "https://example.com/b"
            form.on_change_link()
            self.assertEqual(form.name, "Plan A")

    @with_transaction()
    def test_edit_saved_link_title(self):
        "The title of a saved link can be changed, as the client saves it"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Offer = pool.get('buero365.offer')
        with offer_company() as offer:
            link = add_link(offer, "https://example.com/route")
            visible = add_link(offer, "https://example.com/plan",
                name="Plan", customer_visible=True)
            # The offer form saves its Links tab through the offer, with
            # the context of the tab.
            with Transaction().set_context(media_kind='link'):
                Offer.write([offer], {'web_links': [
                            ('write', [link.id], {'name': "Anfahrt"}),
                            ('write', [visible.id], {
                                    'name': "Lageplan",
                                    'description': "Zufahrt über den Hof"}),
                            ]})
            # The attachment dialog of the client writes it directly.
            Attachment.write([link], {'name': "Anfahrt zum Lager"})
            # A client that sends the whole record.
            Attachment.write([visible], {
                    'name': "Lageplan (neu)", 'type': 'link',
                    'link': "https://example.com/plan", 'data': None,
                    'media_kind': 'link'})
            self.assertEqual(
                [(a.name, a.type, a.media_kind, a.link)
                    for a in Attachment.browse([link.id, visible.id])],
                [("Anfahrt zum Lager", 'link', 'link',
                        "https://example.com/route"),
                    ("Lageplan (neu)", 'link', 'link',
                        "https://example.com/plan")])

            # Hidden from the customer, it can change on a closed offer.
            Offer.reject([offer])
            Attachment.write([link], {'name': "Anfahrt (alt)"})
            self.assertEqual(Attachment(link.id).name, "Anfahrt (alt)")

    @with_transaction()
    def test_sizes_read_as_people_read_them(self):
        "File sizes read 2.4 MB, in the reader's language"
        with offer_company() as offer:
            document = add(offer, "Plan.pdf", samples.pdf("Plan " * 500))
            size = len(document.data)
            self.assertEqual(document.size, f"{size / 1024:.1f} KB")
            with Transaction().set_context(language='de'):
                self.assertEqual(
                    reread(document).size,
                    f"{size / 1024:.1f} KB".replace('.', ','))
            self.assertIsNone(add_link(offer, "https://example.com").size)
        for value, english, german in [
                (512, "512 B", "512 B"),
                (2048, "2.0 KB", "2,0 KB"),
                (int(2.4 * 1024 * 1024), "2.4 MB", "2,4 MB"),
                (3 * 1024 ** 3, "3.0 GB", "3,0 GB"),
                ]:
            with self.subTest(value=value):
                self.assertEqual(format_size(value), english)
                with Transaction().set_context(language='de'):
                    self.assertEqual(format_size(value), german)

    @with_transaction()
    def test_link_and_file_kinds_do_not_mix(self):
        "A file cannot be a link and a link cannot be an image"
        with offer_company() as offer:
            self.assertRefused(
                ["Foto.png", "Links"], add, offer, "Foto.png",
                samples.png(), 'link')
            self.assertRefused(
                ["Plan", "Images"], add_link, offer, "https://example.com",
                name="Plan", media_kind='image')

    @with_transaction()
    def test_size_limits(self):
        "Files above the size limit of their kind are refused"
        with offer_company() as offer:
            set_limits(image_max_size=1, attachment_max_size=1)
            big = samples.noise_png(1.2)
            self.assertGreater(len(big), 1024 * 1024)
            self.assertRefused(
                ["Gross.png", "1.2 MB", "1.0 MB", "Images"],
                add, offer, "Gross.png", big)
            pdf = samples.pdf().replace(
                b'%PDF-1.4\n', b'%PDF-1.4\n%' + b'x' * (1024 * 1024) + b'\n')
            self.assertRefused(
                ["Gross.pdf", "Attachments"], add, offer, "Gross.pdf", pdf)
            # videos keep their own limit
            add(offer, "Film.mp4", samples.mp4())
            set_limits(image_max_size=2)
            add(offer, "Gross.png", big)
            self.assertEqual(offer.media_count, 2)

    @with_transaction()
    def test_count_limits(self):
        "Each kind holds at most its configured number per offer"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        with offer_company() as offer:
            set_limits(image_max_count=2, video_max_count=1)
            add(offer, "1.png", samples.png())
            add(offer, "2.png", samples.png())
            self.assertRefused(
                ["3.png", offer.rec_name, "2", "Images"],
                add, offer, "3.png", samples.png())
            # several at once: the first one beyond the limit is named
            set_limits(image_max_count=3)
            self.assertRefused(
                ["5.png"], Attachment.create, [
                    {'resource': str(offer), 'name': f'{i}.png',
                        'data': samples.png()} for i in [4, 5]])
            add(offer, "Film.mp4", samples.mp4())
            self.assertRefused(
                ["Film2.mp4", "Videos"], add, offer, "Film2.mp4",
                samples.mp4())
            # links and other offers are not counted
            add_link(offer, "https://example.com")
            other = offer.__class__(party=offer.party, title="Reinigung")
            other.save()
            add(other, "1.png", samples.png())

    @with_transaction()
    def test_count_limit_lowered_zero(self):
        "A limit of zero closes a kind"
        with offer_company() as offer:
            set_limits(video_max_count=0)
            self.assertRefused(
                ["Film.mp4", "0"], add, offer, "Film.mp4", samples.mp4())

    @with_transaction()
    def test_replace_and_remove(self):
        "A wrong file is replaced (checked again) or removed (step 7)"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Offer = pool.get('buero365.offer')
        with offer_company() as offer:
            set_limits(image_max_count=2)
            first = add(offer, "Falsch.png", samples.png(color=(255, 0, 0)))
            second = add(offer, "Flur.png", samples.png())
            old_thumbnail = first.thumbnail
            # replacing keeps the place: the limit is not hit
            Attachment.write([first], {
                    'name': "Küche.jpg", 'data': samples.jpeg()})
            first = Attachment(first.id)
            self.assertEqual(first.media_type, 'image/jpeg')
            self.assertNotEqual(first.thumbnail, old_thumbnail)
            self.assertRefused(
                ["Küche.png", "does not match"], Attachment.write, [first],
                {'name': "Küche.png"})
            self.assertRefused(
                ["Küche.jpg", "incomplete"], Attachment.write, [first],
                {'data': samples.jpeg()[:3000]})
            # through the offer form
            Offer.write([offer], {'images': [('delete', [second.id])]})
            self.assertEqual(Offer(offer.id).images, (first,))
            Offer.write([offer], {'images': [('create', [{
                                'name': "Bad.webp", 'data': samples.webp(),
                                'media_kind': 'image'}])]})
            self.assertEqual(len(Offer(offer.id).images), 2)
            self.assertRefused(
                ["Bad.png", "empty"], Offer.write, [offer],
                {'images': [('create', [{'name': "Bad.png", 'data': b'',
                                    'media_kind': 'image'}])]})

    @with_transaction()
    def test_nothing_stored_on_refusal(self):
        "A refused upload leaves neither a record nor a file"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        with offer_company() as offer:
            set_limits(image_max_count=1)
            add(offer, "1.png", samples.png())
            files = stored_files()
            count = Attachment.search([], count=True)
            for name, data in [
                    ("2.png", samples.png()),
                    ("kaputt.png", samples.png()[:100]),
                    ("Bombe.docx", samples.zip_bomb(5)),
                    ]:
                with self.assertRaises(ValidationError):
                    add(offer, name, data)
            self.assertEqual(stored_files(), files)
            self.assertEqual(Attachment.search([], count=True), count)

    @with_transaction()
    def test_customer_visibility(self):
        "Items can be hidden from the customer; links are hidden by default"
        with offer_company() as offer:
            image = add(offer, "Foto.png", samples.png())
            hidden = add(offer, "Intern.pdf", samples.pdf(),
                customer_visible=False)
            link = add_link(offer, "https://example.com/intern")
            shown = add_link(offer, "https://example.com/plan",
                customer_visible=True)
            media = offer.customer_media()
            self.assertEqual(media['image'], [image])
            self.assertEqual(media['attachment'], [])
            self.assertEqual(media['link'], [shown])
            self.assertNotIn(hidden, sum(media.values(), []))
            self.assertNotIn(link, sum(media.values(), []))

    @with_transaction()
    def test_closed_offer_keeps_what_customer_saw(self):
        "On a closed offer only what the customer does not see can change"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Attachment = pool.get('ir.attachment')
        with offer_company() as offer:
            image = add(offer, "Foto.png", samples.png())
            Offer.accept([offer])
            with self.assertRaises(AccessError):
                add(offer, "Neu.png", samples.png())
            with self.assertRaises(AccessError):
                Attachment.delete([image])
            with self.assertRaises(AccessError):
                Attachment.write([image], {'customer_visible': False})
            internal = add(offer, "Rechnung.pdf", samples.pdf(),
                customer_visible=False)
            Attachment.delete([internal])
            add_link(offer, "https://example.com/intern")
            Offer.write([offer], {'web_links': [('create', [{
                                'type': 'link', 'name': "Route",
                                'link': "https://example.com/route",
                                'media_kind': 'link'}])]})

    @with_transaction()
    def test_visible_change_makes_new_revision(self):
        "Adding what the customer sees to a sent offer makes a new revision"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with offer_company() as offer:
            Offer.write([offer], {'sent_revision': 1})
            add_link(offer, "https://example.com/intern")
            self.assertEqual(Offer(offer.id).revision, 1)
            add(offer, "Foto.png", samples.png())
            self.assertEqual(Offer(offer.id).revision, 2)

    @with_transaction()
    def test_offer_copy_starts_without_media_and_notes(self):
        "As in Tryton, a copied offer has neither the media nor the notes"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Note = pool.get('buero365.offer.note')
        with offer_company() as offer:
            add(offer, "Foto.png", samples.png())
            add_link(offer, "https://example.com")
            Note.create([{'offer': offer.id, 'title': "Intern"}])
            copy, = Offer.copy([offer])
            self.assertEqual(
                (copy.images, copy.web_links, copy.notes), ((), (), ()))
            self.assertEqual((copy.media_count, copy.note_count), (0, 0))
            self.assertEqual(Offer(offer.id).media_count, 2)

    @with_transaction()
    def test_list_sorts_and_filters_by_media_and_notes(self):
        """The list's Media and Notes columns sort and filter (counted in
        the statement that reads the offers)"""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Note = pool.get('buero365.offer.note')
        with offer_company() as offer:
            other, = Offer.copy([offer])
            bare, = Offer.copy([offer])
            add(offer, "Foto.png", samples.png())
            add_link(offer, "https://example.com")
            add_link(other, "https://example.com/plan")
            Note.create([{'offer': other.id, 'title': "Anruf"},
                    {'offer': other.id, 'title': "Besuch"}])
            ids = [offer.id, other.id, bare.id]
            self.assertEqual(
                sorted((r['id'], r['media_count'], r['note_count'])
                    for r in Offer.read(ids, ['media_count', 'note_count'])),
                [(offer.id, 2, 0), (other.id, 1, 2), (bare.id, 0, 0)])
            mine = [('id', 'in', ids)]
            self.assertEqual(Offer.search(mine,
                    order=[('media_count', 'DESC'), ('id', 'ASC')]),
                [offer, other, bare])
            self.assertEqual(Offer.search(mine,
                    order=[('note_count', 'DESC'), ('id', 'ASC')]),
                [other, offer, bare])
            self.assertEqual(
                Offer.search(mine + [('media_count', '>', 0)],
                    order=[('id', 'ASC')]), [offer, other])
            self.assertEqual(
                Offer.search(mine + [('note_count', '=', 0)],
                    order=[('id', 'ASC')]), [offer, bare])

    @with_transaction()
    def test_media_response_headers(self):
        "Files are served with their detected type, never sniffed"
        with offer_company() as offer:
            image = add(offer, "Küche 1.png", samples.png())
            video = add(offer, "Film.webm", samples.webm())
            document = add(offer, "Angebot.pdf", samples.pdf())
            avi = add(offer, "Alt.avi", samples.avi())
            link = add_link(offer, "https://example.com")

            response = media_response(image)
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.mimetype, 'image/png')
            self.assertEqual(
                response.headers['X-Content-Type-Options'], 'nosniff')
            self.assertEqual(
                response.headers['Content-Disposition'],
                "inline; filename=\"Kuche 1.png\"; "
                "filename*=UTF-8''K%C3%BCche%201.png")
            self.assertEqual(b''.join(response.response), samples.png())

            self.assertTrue(media_response(video).headers[
                    'Content-Disposition'].startswith('inline;'))
            for attachment in [document, avi]:
                response = media_response(attachment)
                self.assertTrue(response.headers[
                        'Content-Disposition'].startswith('attachment;'))
                self.assertEqual(
                    response.headers['X-Content-Type-Options'], 'nosniff')
            self.assertEqual(
                media_response(document).mimetype, 'application/pdf')

            # seeking in a video asks for a range
            environ = EnvironBuilder(
                headers={'Range': 'bytes=0-9'}).get_environ()
            response = media_response(video, Request(environ))
            self.assertEqual(response.status_code, 206)
            self.assertEqual(b''.join(response.response), samples.webm()[:10])
            # a browser that has the file already gets no second copy
            environ = EnvironBuilder(headers={
                    'If-None-Match': media_response(video).headers['ETag'],
                    }).get_environ()
            response = media_response(video, Request(environ))
            self.assertEqual(response.status_code, 304)
            self.assertEqual(b''.join(response.get_app_iter(environ)), b'')
            self.assertEqual(
                response.headers['Cache-Control'], 'private, max-age=3600')

            self.assertIsNone(media_response(link))


class NoteTestCase(ModuleDatabaseTestCase):
    "Internal notes of offers"

    @with_transaction()
    def test_author_date_newest_first(self):
        "Author and date come from the record; the newest note comes first"
        pool = Pool()
        Note = pool.get('buero365.offer.note')
        User = pool.get('res.user')
        Offer = pool.get('buero365.offer')
        with offer_company() as offer:
            first, = Note.create([{
                        'offer': offer.id, 'title': "Anruf",
                        'type': 'call'}])
            second, = Note.create([{
                        'offer': offer.id, 'title': "Besichtigung",
                        'type': 'visit'}])
            self.assertEqual(first.author, User(Transaction().user))
            self.assertEqual(first.date, first.create_date)
            self.assertEqual(Offer(offer.id).notes, (second, first))
            self.assertEqual(Offer(offer.id).note_count, 2)
            self.assertEqual(
                Note.search([('type', '=', 'visit')]), [second])
            self.assertEqual(
                Note.search([('date', '>=', second.create_date)]),
                [second] if second.create_date > first.create_date
                else [second, first])
            self.assertEqual(
                Note.search([('author', '=', Transaction().user)]),
                [second, first])
            self.assertEqual(
                Note.search([], order=[('date', 'ASC'), ('id', 'ASC')]),
                [first, second])

    @with_transaction()
    def test_text_sanitised_links_kept(self):
        "Notes keep formatting, links and images, never scripts"
        pool = Pool()
        Note = pool.get('buero365.offer.note')
        with offer_company() as offer:
            image = base64.b64encode(samples.png(size=(32, 32))).decode()
            note, = Note.create([{
                        'offer': offer.id, 'title': "Besichtigung",
                        'text': (
                            '<p><b>Klavier</b> im 3. OG, Plan: '
                            'https://example.com/plan.pdf.</p>'
                            '<p><a href="javascript:alert(1)">x</a>'
                            '<a href="https://maps.example.com">Karte</a>'
                            '<img src="x" onerror="alert(1)">'
                            f'<img src="data:image/png;base64,{image}">'
                            '<script>alert(1)</script>'
                            '<span style="color:red" onclick="x()">y</span>'
                            '</p>'),
                        }])
            text = note.text
            self.assertIn('<b>Klavier</b>', text)
            self.assertIn(
                '<a href="https://example.com/plan.pdf" '
                'rel="noopener noreferrer">https://example.com/plan.pdf</a>.',
                text)
            self.assertIn('href="https://maps.example.com"', text)
            self.assertIn(f'src="data:image/png;base64,{image}"', text)
            for bad in ['javascript', 'onerror', 'script', 'onclick',
                    'style', 'src="x"']:
                self.assertNotIn(bad, text)

    @with_transaction()
    def test_embedded_images_checked(self):
        "Images embedded in a note are real images within the size limit"
        pool = Pool()
        Note = pool.get('buero365.offer.note')
        with offer_company() as offer:
            truncated = base64.b64encode(samples.png()[:200]).decode()
            with self.assertRaises(ValidationError) as context:
                Note.create([{
                            'offer': offer.id, 'title': "Fotos",
                            'text': (
                                '<img src="data:image/png;base64,'
                                f'{truncated}">')}])
            self.assertIn("Fotos", context.exception.message)
            self.assertIn("incomplete", context.exception.message)
            pdf = base64.b64encode(samples.pdf()).decode()
            with self.assertRaises(ValidationError) as context:
                Note.create([{
                            'offer': offer.id, 'title': "Scan",
                            'text': f'<img src="data:image/png;base64,{pdf}">',
                            }])
            self.assertIn("PDF", context.exception.message)

    @with_transaction()
    def test_notes_on_closed_offers(self):
        "Notes are internal: they can be added to a closed offer"
        pool = Pool()
        Offer = pool.get('buero365.offer')
        with offer_company() as offer:
            Offer.accept([offer])
            Offer.write([offer], {'notes': [('create', [{
                                'title': "Nachbesprechung",
                                'text': "Kunde zufrieden"}])]})
            self.assertEqual(len(Offer(offer.id).notes), 1)
            self.assertEqual(Offer(offer.id).state, 'accepted')

    @with_transaction()
    def test_notes_access(self):
        "Only offer users read notes"
        pool = Pool()
        Note = pool.get('buero365.offer.note')
        User = pool.get('res.user')
        with offer_company() as offer:
            Note.create([{'offer': offer.id, 'title': "Intern"}])
            user, = User.create([{'login': 'kunde', 'name': "Kunde"}])
            with Transaction().set_user(user.id), \
                    Transaction().set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Note.search([])


@unittest.skipIf(
    backend.name == 'sqlite',
    "SQLite lets one writer at a time: two uploads cannot race there")
class MediaRaceTestCase(unittest.TestCase):
    "Two uploads race for the last image slot of an offer (PostgreSQL)"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module([MODULE])
        # committed, so that the racing transactions see it
        def setup():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            company, _, _ = setup_offer_company()
            with set_company(company):
                set_limits(image_max_count=2)
                offer = Offer(party=create_customer(), title="Umzug")
                offer.save()
                add(offer, "1.png", samples.png())
            return company.id, offer.id
        cls.company_id, cls.offer_id = run_committed(setup)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def setUp(self):
        super().setUp()
        self.addCleanup(self.remove_added)

    def remove_added(self):
        def remove():
            pool = Pool()
            Attachment = pool.get('ir.attachment')
            Attachment.delete(Attachment.search([
                        ('resource', '=', f'buero365.offer,{self.offer_id}'),
                        ('name', '!=', "1.png"),
                        ]))
        run_committed(remove)

    def upload(self, name, results, before=None, hold=None):
        """Add an image in a transaction of its own, retried like trytond's
        dispatcher does on a serialisation failure."""
        def upload():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            offer = Offer(self.offer_id)
            offer.number  # reading takes the snapshot
            if before:
                before()
            add(offer, name, samples.png())
            if hold:
                hold()

        for attempt in range(5):
            try:
                run_committed(upload, context={'company': self.company_id})
                results[name] = 'added'
                return
            except ValidationError as exception:
                results[name] = exception.message
                return
            except backend.DatabaseOperationalError:
                results.setdefault('retries', []).append(name)
                time.sleep(0.05 * (attempt + 1))
        results[name] = 'gave up'

    def count(self):
        with Transaction().start(DB_NAME, 1, readonly=True):
            pool = Pool()
            Attachment = pool.get('ir.attachment')
            return Attachment.search([
                    ('resource', '=', f'buero365.offer,{self.offer_id}'),
                    ('media_kind', '=', 'image'),
                    ], count=True)

    def test_last_slot_while_first_holds_it(self):
        "The second upload waits for the first, then finds no slot left"
        results = {}
        first_added = threading.Event()
        second_started = threading.Event()

        def hold():
            first_added.set()
            second_started.wait(10)
            time.sleep(0.5)  # the second one is now blocked on the lock

        first = threading.Thread(
            target=self.upload, args=("2.png", results), kwargs={
                'hold': hold})
        second = threading.Thread(
            target=self.upload, args=("3.png", results), kwargs={
                'before': lambda: (first_added.wait(10),
                    second_started.set())})
        first.start()
        second.start()
        first.join(30)
        second.join(30)

        self.assertEqual(results["2.png"], 'added')
        self.assertIn("3.png", results["3.png"])
        self.assertIn("maximum of 2", results["3.png"])
        self.assertEqual(self.count(), 2)

    def test_last_slot_with_older_snapshot(self):
        "An upload that started before the other's commit does not miss it"
        results = {}
        second_read = threading.Event()
        first_done = threading.Event()

        def before_second():
            if not first_done.is_set():
                second_read.set()
                first_done.wait(10)

        second = threading.Thread(
            target=self.upload, args=("3.png", results), kwargs={
                'before': before_second})
        second.start()
        second_read.wait(10)
        self.upload("2.png", results)
        first_done.set()
        second.join(30)

        self.assertEqual(results["2.png"], 'added')
        self.assertIn("maximum of 2", results["3.png"])
        self.assertIn("3.png", results.get('retries', []))
        self.assertEqual(self.count(), 2)
