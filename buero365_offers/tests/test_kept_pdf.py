# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The offer PDF is rendered once per revision and kept: downloads, emails,
the acceptance evidence and the staff print serve the kept file."""
import hashlib
import io
from contextlib import contextmanager
from unittest.mock import patch

from pypdf import PdfReader

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME

from .smtp import smtp_server
from .tools import (
    CustomerRouteTestCase,
    new_offer,
    offer_of,
    read,
    run_committed,
    run_queue,
    run_send_wizard,
    send_by_email,
)


@contextmanager
def counted_renders():
    "Count the PDFs WeasyPrint makes of offers (OfferReport.convert)."
    Report = Pool(DB_NAME).get('buero365.offer', type='report')
    original = Report.convert
    renders = []

    def convert(report, data, **kwargs):
        renders.append(report.report_name)
        return original(report, data, **kwargs)
    with patch.object(Report, 'convert', convert):
        yield renders


def pdf_text(data):
    return ''.join(p.extract_text() for p in PdfReader(
            io.BytesIO(data)).pages)


def current_link(offer_id):
    pool = Pool()
    Link = pool.get('buero365.offer.link')
    return Link.find_current(offer_of(offer_id))


def give_address(offer_id):
    """Give the offer a new postal address of its customer, Alte Gasse 1 in
    Berlin; return the ids of the address and of the customer."""
    pool = Pool()
    Address = pool.get('party.address')
    Offer = pool.get('buero365.offer')
    offer = offer_of(offer_id)
    address, = Address.create([{
                'party': offer.party.id,
                'street': "Alte Gasse 1",
                'postal_code': "10115",
                'city': "Berlin",
                }])
    Offer.write([offer], {'customer_address': address.id})
    return address.id, offer.party.id


class KeptPdfTestCase(CustomerRouteTestCase):
    "Test that the offer PDF is rendered once per revision and kept"

    def download(self, path):
        response = self.get(path + '/pdf')
        self.assertEqual(response.status_code, 200)
        return response.get_data()

    def test_download_twice_renders_once(self):
        "Two downloads give the same file, rendered once"
        _, path = new_offer(send=False)
        with counted_renders() as renders:
            first = self.download(path)
            second = self.download(path)
        self.assertEqual(first, second)
        self.assertEqual(len(renders), 1)

    def test_evidence_is_the_kept_file(self):
        """An offer never sent, downloaded then accepted: the evidence is
        the file downloaded; the signed copy is rendered once"""
        offer_id, path = new_offer(send=False)
        downloaded = self.download(path)
        with counted_renders() as renders, smtp_server() as inbox:
            self.accept(path)
            signed = self.download(path)
            self.assertEqual(signed, self.download(path))
        self.assertEqual(len(renders), 1)  # the signed copy only
        self.assertIn("Erika Mustermann", pdf_text(signed))
        message, = inbox.messages
        attached, = [p.get_content() for p in message.iter_attachments()
            if p.get_content_type() == 'application/pdf']
        self.assertEqual(attached, signed)

        def check():
            offer = offer_of(offer_id)
            link = current_link(offer_id)
            digest = hashlib.sha256(downloaded).hexdigest()
            self.assertEqual(offer.signed_document_sha256, digest)
            self.assertEqual(link.pdf_sha256, digest)
            self.assertEqual(bytes(link.sent_document), downloaded)
            self.assertEqual(bytes(offer.signed_document), downloaded)
        read(check)

    def test_resend_keeps_the_file(self):
        "Sending a revision again sends the same file, hash unchanged"
        offer_id, path = new_offer()
        digest = read(lambda: current_link(offer_id).pdf_sha256)
        with counted_renders() as renders:
            run_committed(lambda: send_by_email(offer_of(offer_id)))
        self.assertEqual(renders, [])

        def attached_pdfs():
            Attachment = Pool().get('ir.attachment')
            return [bytes(a.data) for m in offer_of(offer_id).mails
                for a in Attachment.search([
                        ('resource', '=', str(m.email))])]
        pdfs = read(attached_pdfs)
        self.assertEqual(len(pdfs), 2)
        self.assertEqual(pdfs[0], pdfs[1])
        attached = pdfs[0]
        self.assertEqual(hashlib.sha256(attached).hexdigest(), digest)
        self.assertEqual(read(lambda: current_link(offer_id).pdf_sha256),
            digest)
        self.assertEqual(self.download(path), attached)

    def test_new_revision_new_file(self):
        "An edited offer gets a new PDF; before sending, after each edit"
        offer_id, path = new_offer()

        def edit(title):
            def write():
                Offer = Pool().get('buero365.offer')
                Offer.write([offer_of(offer_id)], {'title': title})
            run_committed(write)
        first = read(lambda: current_link(offer_id).pdf_sha256)
        edit("Umzug Köln → Berlin")
        run_committed(lambda: send_by_email(offer_of(offer_id)))

        def revisions():
            links = offer_of(offer_id).links
            return {l.revision: (l.pdf_sha256, bytes(l.sent_document))
                for l in links}
        links = read(revisions)
        self.assertEqual(sorted(links), [1, 2])
        self.assertEqual(links[1][0], first)
        self.assertNotEqual(links[2][0], first)
        self.assertIn("Berlin", pdf_text(links[2][1]))
        self.assertNotIn("Berlin", pdf_text(links[1][1]))

        # Not sent yet: a download, an edit, a download of the edit.
        offer_id, path = new_offer(send=False)
        self.assertNotIn("Berlin", pdf_text(self.download(path)))
        edit("Umzug Köln → Berlin")
        self.assertIn("Berlin", pdf_text(self.download(path)))

    def test_staff_print_is_the_kept_file(self):
        "The staff print serves the kept PDF of the current revision"
        offer_id, path = new_offer()

        def print_offer():
            Report = Pool().get('buero365.offer', type='report')
            return Report.execute([offer_id], {})
        with counted_renders() as renders:
            kind, content, _, name = run_committed(print_offer)
            again = run_committed(print_offer)[1]
        self.assertEqual(renders, [])
        self.assertEqual(kind, 'pdf')
        self.assertEqual(bytes(content), bytes(again))
        self.assertEqual(bytes(content), self.download(path))
        self.assertIn(read(lambda: offer_of(offer_id).number), name)

    def test_first_sending_prints_the_offer_as_it_is_now(self):
        "A print before the first sending does not send an old address"
        offer_id, _ = new_offer(send=False)

        run_committed(lambda: give_address(offer_id))

        def print_offer():
            Report = Pool().get('buero365.offer', type='report')
            return bytes(Report.execute([offer_id], {})[1])
        self.assertIn("Alte Gasse 1", pdf_text(run_committed(print_offer)))

        # The address is corrected in the customer's record, not on the
        # offer, then the offer is sent.
        def move():
            Address = Pool().get('party.address')
            Address.write([offer_of(offer_id).customer_address],
                {'street': "Neue Straße 5"})
        run_committed(move)
        def send():
            run_send_wizard(offer_of(offer_id))
            run_queue()
        with smtp_server() as smtp:
            run_committed(send)
        sent = read(lambda: bytes(current_link(offer_id).sent_document))
        self.assertIn("Neue Straße 5", pdf_text(sent))
        self.assertNotIn("Alte Gasse 1", pdf_text(sent))
        attached, = [part.get_payload(decode=True)
            for message in smtp.messages
            for part in message.walk()
            if part.get_content_type() == 'application/pdf']
        self.assertEqual(attached, sent)
        # Sent: the customer's file is kept from now on.
        self.assertEqual(run_committed(print_offer), sent)

    def test_print_follows_the_customers_record(self):
        "Before sending, a print shows the customer's and company's data now"
        offer_id, _ = new_offer(send=False)

        def print_offer():
            Report = Pool().get('buero365.offer', type='report')
            return pdf_text(bytes(Report.execute([offer_id], {})[1]))

        address_id, party_id = run_committed(lambda: give_address(offer_id))
        self.assertIn("Alte Gasse 1", run_committed(print_offer))

        def move(street):
            Address = Pool().get('party.address')
            Address.write([Address(address_id)], {'street': street})

        def rename(name):
            Party = Pool().get('party.party')
            Party.write([Party(party_id)], {'name': name})
        run_committed(lambda: move("Neue Straße 5"))
        self.assertIn("Neue Straße 5", run_committed(print_offer))
        run_committed(lambda: rename("Erika Musterfrau"))
        self.assertIn("Erika Musterfrau", run_committed(print_offer))

        def letterhead(header):
            Company = Pool().get('company.company')
            Company.write([offer_of(offer_id).company], {'header': header})
        run_committed(lambda: letterhead("Filiale Potsdam"))
        self.assertIn("Filiale Potsdam", run_committed(print_offer))
        # Once sent, the customer's file stays what was sent.
        run_committed(lambda: send_by_email(offer_of(offer_id)))
        sent = run_committed(print_offer)
        run_committed(lambda: move("Dritte Allee 9"))
        run_committed(lambda: rename("Erika M."))
        run_committed(lambda: letterhead("Filiale Teltow"))
        self.assertEqual(run_committed(print_offer), sent)
        run_committed(lambda: letterhead(None))
