# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The customer page in a real browser: Debian's Chromium driven by
Playwright against a real trytond server started on a free local port.

It opens the page at phone size, draws a signature with the mouse on the
canvas, ticks the terms, submits, and checks the offer is accepted."""
import io
import time
import unittest

from pypdf import PdfReader

from .sao import browser_missing, draw_signature, phone_page, sign_and_accept
from .server import LiveServerTestCase
from .tools import new_choice_offer, new_offer


@unittest.skipIf(browser_missing(), browser_missing() or '')
class BrowserTestCase(LiveServerTestCase):
    "Test the customer page in Chromium"

    @classmethod
    def createData(cls):
        cls.offer_id, cls.path = new_offer()
        cls.plain_offer_id, cls.plain_path = new_offer()
        cls.choice_offer_id, cls.choice_path = new_choice_offer()
        cls.kept_choice_id, cls.kept_choice_path = new_choice_offer()

    def confirmation(self, offer_id, timeout=10):
        "The confirmation email of the offer, once the server sent it."
        email = self.offer_state(offer_id, 'email')[1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.inbox.messages
                if "Confirmation" in m['Subject'] and email in m['To']]
            if found:
                return found[0]
            time.sleep(0.2)
        self.fail(f"no confirmation to {email}: {self.server_log()}")

    def test_without_javascript(self):
        "Without JavaScript the page says so, and rejecting works"
        with phone_page(java_script_enabled=False) as page:
            page.goto(self.url(self.plain_path))
            self.assertIn(
                "Drawing the signature needs JavaScript",
                page.inner_text('#accept'))
            page.select_option('#reject-reason', 'not_fitting')
            page.fill('#reject-comment', "Wir brauchen nur Kartons.")
            with page.expect_navigation():
                page.click('button.reject')
            self.assertIn(
                "You declined this offer", page.inner_text('main'))
        self.assertEqual(
            self.offer_state(self.plain_offer_id, 'rejection_reason'),
            ('rejected', 'not_fitting'), self.server_log())

    def test_sign_and_accept_on_a_phone(self):
        "On a phone: draw the signature, tick the terms, accept"
        url = self.url(self.path)
        problems = []
        with phone_page() as page:
            page.on('console', lambda message: message.type in {
                    'error', 'warning'} and problems.append(
                    message.text))
            page.on('pageerror', lambda error: problems.append(
                    str(error)))
            response = page.goto(url)
            self.assertEqual(response.status, 200, self.server_log())
            self.assertIn("Umzug Köln → Bonn", page.content())
            # Readable on the phone: nothing wider than the screen.
            self.assertTrue(page.evaluate(
                    'document.documentElement.scrollWidth'
                    ' <= window.innerWidth'))
            # The style sheet applies (no CSP refusal).
            self.assertEqual(page.evaluate(
                    'getComputedStyle(document.body).margin'), '0px')

            page.fill('#signer-name', "Erika Mustermann")
            page.check('input[name="terms"]')
            # Without a drawing the page asks for one and stays.
            page.click('button.accept')
            self.assertTrue(page.is_visible('#signature-message'),
                (problems, page.url))
            self.assertEqual(page.url, url)

            box = draw_signature(page)
            self.assertGreater(box['width'], 300)
            self.assertFalse(page.is_visible('#signature-message'))

            with page.expect_navigation():
                page.click('button.accept')
            self.assertTrue(page.url.endswith('#answer'), page.url)
            text = page.inner_text('main')
            self.assertIn("You accepted this offer", text)
            self.assertIn("Erika Mustermann", text)
            self.assertTrue(page.is_visible('img.signature'))
        self.assertEqual(
            self.offer_state(self.offer_id), ('accepted', "Erika Mustermann"),
            self.server_log())
        self.assertFalse(
            [p for p in problems if 'Content Security Policy' in p
                or 'Refused' in p or 'Uncaught' in p], problems)
        # The confirmation email with the signed PDF went out.
        message = self.confirmation(self.offer_id)
        self.assertTrue([part for part in message.iter_attachments()
                if part.get_content_type() == 'application/pdf'])

    def test_expired_form_keeps_the_choice(self):
        "A form left open too long comes back as the customer filled it"
        with phone_page() as page:
            page.goto(self.url(self.kept_choice_path))
            options = page.locator('#choices label')
            options.filter(has_text="Verpackungsmaterial").click()
            options.filter(has_text="LKW 12 t").click()
            # As if the page had stayed open past the form's validity.
            page.evaluate("document.querySelector("
                "'#accept-form input[name=csrf]').value = 'expired'")
            page.fill('#signer-name', "Erika Mustermann")
            draw_signature(page)
            page.check('input[name="terms"]')
            with page.expect_navigation():
                page.click('button.accept')
            self.assertIn("no longer valid", page.inner_text('#accept'))
            # Their name and their choice, with its total, are still there.
            self.assertEqual(
                page.input_value('#signer-name'), "Erika Mustermann")
            for label, ticked in [("Verpackungsmaterial", True),
                    ("LKW 12 t", True), ("LKW 7,5 t", False)]:
                self.assertEqual(options.filter(has_text=label).locator(
                        'input').is_checked(), ticked, label)
            self.assertIn("428.40", page.inner_text('#choice-total'))
            text = sign_and_accept(page, "Erika Mustermann")
            self.assertIn("You accepted this offer", text)
            self.assertIn("LKW 12 t", text)
        self.assertEqual(
            self.offer_state(self.kept_choice_id, 'total_amount')[0],
            'accepted', self.server_log())

    def test_choose_an_option_on_a_phone(self):
        "On a phone: tick an option, take the other truck, see the total"
        url = self.url(self.choice_path)
        problems = []
        with phone_page() as page:
            page.on('pageerror', lambda error: problems.append(
                    str(error)))
            page.goto(url)
            total = page.locator('#choice-total')
            # 90 + 90 + LKW 7,5 t 100 net, 19 % VAT
            self.assertIn("333.20", total.inner_text())
            page.locator('#choices label').filter(
                has_text="Verpackungsmaterial").click()
            self.assertIn("368.90", total.inner_text())
            page.locator('#choices label').filter(
                has_text="LKW 12 t").click()
            self.assertIn("428.40", total.inner_text())
            self.assertTrue(page.evaluate(
                    'document.documentElement.scrollWidth'
                    ' <= window.innerWidth'))
            text = sign_and_accept(page, "Erika Mustermann")
            self.assertIn("You accepted this offer", text, problems)
            self.assertIn("LKW 12 t", text)
            self.assertIn("428.40", text)
        self.assertEqual(problems, [])
        self.assertEqual(
            self.offer_state(self.choice_offer_id, 'total_amount')[0],
            'accepted', self.server_log())
        # The signed PDF the customer is sent holds the chosen set.
        message = self.confirmation(self.choice_offer_id)
        pdf, = [part for part in message.iter_attachments()
            if part.get_content_type() == 'application/pdf']
        text = '\n'.join(p.extract_text() for p in PdfReader(
                io.BytesIO(pdf.get_content())).pages)
        self.assertIn("LKW 12 t", text)
        self.assertIn("Alternative (LKW) · not chosen", text)
        self.assertIn("428.40", text)
