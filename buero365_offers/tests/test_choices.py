# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Optional and alternative services: the totals of the chosen set, the
customer's choice on the offer page when they sign, the evidence of it,
and that nobody changes it afterwards."""
import hashlib
import io
from decimal import Decimal
from urllib.parse import urlsplit

from pypdf import PdfReader
from werkzeug.datastructures import MultiDict

from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool

from .smtp import smtp_server
from .tools import (
    CustomerRouteTestCase,
    choice_form,
    data_url,
    hidden_fields,
    html_part,
    new_choice_offer,
    new_offer,
    offer_of,
    read,
    run_committed,
    signature_png,
)


def line_ids(offer_id):
    "{description: line id (text)} of the offer's services."
    return read(lambda: {l.description: str(l.id)
            for l in offer_of(offer_id).lines})


def pdf_text(data):
    return '\n'.join(
        page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


class ChoiceTestCase(CustomerRouteTestCase):
    "Test optional and alternative services"

    def sign(self, path, chosen=None, status=303, **values):
        "Accept the page of path with the services chosen (line ids)."
        action, fields = choice_form(self.page(path), chosen,
            name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()), **values)
        response = self.client().post(action, data=MultiDict(fields))
        self.assertEqual(response.status_code, status,
            response.get_data(as_text=True))
        return response

    def test_totals_of_the_chosen_set(self):
        "The totals count the included services and the chosen options"
        offer_id, path = new_choice_offer()

        def amounts():
            offer = offer_of(offer_id)
            return (offer.untaxed_amount, offer.tax_amount,
                offer.total_amount,
                [l.description for l in offer.chosen_lines()])
        # 90 (2 × 45) + 90 + LKW 7,5 t 100; not the packing material.
        self.assertEqual(read(amounts), (
                Decimal('280.00'), Decimal('53.20'), Decimal('333.20'),
                ["Umzugshelfer", "Umzugshelfer", "LKW 7,5 t"]))
        page = self.page(path)
        self.assertIn("Optional: Verpackungsmaterial", page)
        self.assertIn("Alternative (LKW)", page)
        self.assertIn("The totals include the options chosen in advance",
            page)

    def test_staff_rules(self):
        "One alternative per group, included services always count"
        offer_id, _ = new_choice_offer()

        def two_trucks():
            offer = offer_of(offer_id)
            truck = [l for l in offer.lines if l.description == "LKW 12 t"]
            Offer = Pool().get('buero365.offer')
            Offer.write([offer], {'lines': [
                        ('write', [truck[0].id], {'selected': True})]})
        with self.assertRaises(ValidationError) as error:
            run_committed(two_trucks)
        self.assertIn('alternative group "LKW"', error.exception.message)

        def included_left_out():
            Line = Pool().get('buero365.offer.line')
            line, = Line.search([
                    ('offer', '=', offer_id), ('choice', '=', '')],
                limit=1)
            Line.write([line], {'selected': False})
        with self.assertRaises(ValidationError):
            run_committed(included_left_out)

    def test_digest_changes_with_choice(self):
        "The fingerprint of the page covers choice, group and selection"
        offer_id, _ = new_choice_offer()

        def digests():
            Line = Pool().get('buero365.offer.line')
            offer = offer_of(offer_id)
            seen = [offer.content_digest()]
            line = [l for l in offer.lines
                if l.description == "Verpackungsmaterial"][0]
            for values in [{'selected': True}, {'choice': ''},
                    {'choice': 'alternative', 'alternative_group': "Pack"},
                    {'alternative_group': "Kartons"}]:
                Line.write([line], values)
                seen.append(offer_of(offer_id).content_digest())
            return seen
        seen = read(digests)
        self.assertEqual(len(set(seen)), len(seen))

    def test_choose_and_sign(self):
        "The customer ticks an option, takes the 12 t truck and signs"
        offer_id, path = new_choice_offer()
        ids = line_ids(offer_id)
        sent = read(lambda: (offer_of(offer_id).links[0].pdf_sha256))
        chosen = [ids["Verpackungsmaterial"], ids["LKW 12 t"]]
        with smtp_server() as inbox:
            self.sign(path, chosen)
        page = self.page(path)
        self.assertIn("You accepted this offer", page)
        self.assertIn("Total of your choice: <strong>EUR428.40", page)

        selection = read(
            lambda: self.check_signed_choice(offer_id, sent))

        def forge_evidence():
            Offer = Pool().get('buero365.offer')
            offer = offer_of(offer_id)
            Offer.write([offer], {'signed_selection': selection.replace(
                        "LKW 12 t", "LKW 7,5 t")})
            return offer_of(offer_id).evidence_matches()
        self.assertFalse(read(forge_evidence))

        # The confirmation states the chosen set and its total; its PDF
        # (the accepted offer, with the signature) shows the choice.
        message, = inbox.messages
        body = html_part(message)
        self.assertIn("Your choice", body)
        self.assertIn("LKW 12 t", body)
        self.assertIn("EUR428.40", body)
        chosen_part, not_chosen = body.split("Not chosen")
        self.assertNotIn("LKW 7,5 t", chosen_part)
        self.assertIn("LKW 7,5 t", not_chosen)
        pdf, = [p for p in message.iter_attachments()
            if p.get_content_type() == 'application/pdf']
        self.assertIn("not chosen", pdf_text(pdf.get_content()))

    def check_signed_choice(self, offer_id, sent):
        "The offer accepted with the choice of test_choose_and_sign."
        offer = offer_of(offer_id)
        self.assertEqual(offer.state, 'accepted')
        self.assertEqual(offer.revision, 1)
        # 90 + 90 + 30 + 150 net, 19 % VAT
        self.assertEqual(
            (offer.untaxed_amount, offer.total_amount),
            (Decimal('360.00'), Decimal('428.40')))
        self.assertEqual(
            [l.description for l in offer.chosen_lines()],
            ["Umzugshelfer", "Umzugshelfer", "Verpackungsmaterial",
                "LKW 12 t"])
        self.assertIn("LKW 12 t", offer.signed_selection)
        self.assertNotIn("LKW 7,5 t", offer.signed_selection)
        document = bytes(offer.signed_document)
        self.assertEqual(offer.signed_document_sha256,
            hashlib.sha256(document).hexdigest())
        # Not the PDF sent (of the choice made in advance).
        self.assertNotEqual(offer.signed_document_sha256, sent)
        self.assertTrue(offer.evidence_matches())
        text = pdf_text(document)
        self.assertIn("428.40", text)
        self.assertIn("LKW 7,5 t", text)
        self.assertIn("not chosen", text)
        self.assertIn("The totals are of the services chosen", text)
        return offer.signed_selection

    def test_keep_the_choice_made_in_advance(self):
        "Signing the form as served signs the PDF sent"
        offer_id, path = new_choice_offer()
        self.sign(path)

        def check():
            offer = offer_of(offer_id)
            self.assertEqual(offer.total_amount, Decimal('333.20'))
            self.assertEqual(
                offer.signed_document_sha256, offer.links[0].pdf_sha256)
            self.assertTrue(offer.evidence_matches())
        read(check)

    def test_choice_frozen_after_acceptance(self):
        "Nobody changes the chosen set of an accepted offer"
        offer_id, path = new_choice_offer()
        self.sign(path)

        def change(values):
            def write():
                Line = Pool().get('buero365.offer.line')
                line, = Line.search([
                        ('offer', '=', offer_id),
                        ('description', '=', "LKW 12 t")])
                Line.write([line], values)
            return write
        for values in [{'selected': True}, {'choice': ''},
                {'alternative_group': "Transporter"}]:
            with self.assertRaises(AccessError):
                run_committed(change(values))

    def test_forged_choices_refused(self):
        "Forged form values are refused and change nothing"
        offer_id, path = new_choice_offer()
        other_id, _ = new_offer()
        ids = line_ids(offer_id)
        other = read(lambda: str(offer_of(other_id).lines[0].id))
        included = [v for k, v in ids.items() if k == "Umzugshelfer"]
        served = read(lambda: [str(l.id) for l in offer_of(offer_id).lines
                if not l.choice])
        for chosen, message in [
                (served + [ids["LKW 12 t"], other], "not part of this offer"),
                (served + ['abc', ids["LKW 12 t"]], "not part of this offer"),
                (served + [ids["LKW 12 t"], ids["LKW 7,5 t"]],
                    'exactly one of the alternatives "LKW"'),
                (served, 'exactly one of the alternatives "LKW"'),
                ([i for i in served if i not in included[:1]]
                    + [ids["LKW 12 t"]], "cannot be left out"),
                ]:
            action, fields = choice_form(self.page(path), chosen,
                name="Erika Mustermann", terms='1',
                signature=data_url(signature_png()))
            # As a forger would: every value put in "chosen".
            fields = [(k, v) for k, v in fields
                if k != 'chosen' and not k.startswith('group-')]
            fields.extend(('chosen', value) for value in chosen)
            response = self.client().post(action, data=MultiDict(fields))
            self.assertEqual(response.status_code, 400)
            self.assertIn(message, response.get_data(as_text=True))

        def unchanged():
            offer = offer_of(offer_id)
            return (offer.state, offer.total_amount,
                [l.description for l in offer.chosen_lines()])
        self.assertEqual(read(unchanged), (
                'open', Decimal('333.20'),
                ["Umzugshelfer", "Umzugshelfer", "LKW 7,5 t"]))

    def test_form_without_choices(self):
        "An offer without choices signs as before: no choice on the page"
        offer_id, path = new_offer()
        page = self.page(path)
        self.assertNotIn('id="choices"', page)
        self.sign(path)
        self.assertIsNone(read(
                lambda: offer_of(offer_id).signed_selection))

    def test_choose_from_the_portal(self):
        "From the portal: the offer's page, the choice, the total listed"
        offer_id, path = new_choice_offer()
        password = "Umzug-Portal-2026"

        def portal_user():
            WebUser = Pool().get('web.user')
            offer = offer_of(offer_id)
            WebUser.create([{'email': offer.email, 'password': password,
                        'party': offer.party.id}])
            return offer.email
        email = run_committed(portal_user)
        client = self.client()
        base = path.split('/offers/')[0] + '/portal'
        action, fields = hidden_fields(
            client.get(f'{base}/login').get_data(as_text=True))
        fields.update(email=email, password=password)
        self.assertEqual(client.post(action, data=fields).status_code, 303)
        listed = client.get(f'{base}/offers').get_data(as_text=True)
        self.assertIn("EUR333.20", listed)

        response = client.get(f'{base}/offers/{offer_id}')
        page_path = urlsplit(response.headers['Location']).path
        self.assertEqual(page_path, path)
        ids = line_ids(offer_id)
        self.sign(page_path, [ids["Verpackungsmaterial"], ids["LKW 12 t"]])
        listed = client.get(f'{base}/offers').get_data(as_text=True)
        self.assertIn("EUR428.40", listed)
        self.assertNotIn("EUR333.20", listed)

    def test_refused_accept_keeps_the_choice(self):
        "A signature forgotten: the form comes back as the customer ticked it"
        offer_id, path = new_choice_offer()
        ids = line_ids(offer_id)
        chosen = [ids["Verpackungsmaterial"], ids["LKW 12 t"]]
        action, fields = choice_form(self.page(path), chosen,
            name="Erika Mustermann", terms='1', signature='')
        response = self.client().post(action, data=MultiDict(fields))
        self.assertEqual(response.status_code, 400)
        page = response.get_data(as_text=True)
        # What the browser shows ticked on the page that comes back.
        _, again = choice_form(page)
        ticked = {v for k, v in again
            if k == 'chosen' or k.startswith('group-')}
        self.assertIn(ids["Verpackungsmaterial"], ticked)
        self.assertIn(ids["LKW 12 t"], ticked)
        self.assertNotIn(ids["LKW 7,5 t"], ticked)
        self.assertEqual(read(lambda: offer_of(offer_id).state), 'open')
        # Signed from that page as it came back: the choice is theirs.
        action, fields = choice_form(page, None, name="Erika Mustermann",
            terms='1', signature=data_url(signature_png()))
        with smtp_server():
            response = self.client().post(action, data=MultiDict(fields))
        self.assertEqual(response.status_code, 303)
        self.assertEqual(read(lambda: [
                    l.description for l in offer_of(offer_id).chosen_lines()]),
            ["Umzugshelfer", "Umzugshelfer", "Verpackungsmaterial",
                "LKW 12 t"])
