# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The rich-text editor of sao in a real browser, without internet.

sao's html widget opens trytond's route /<db>/ir/html/<model>/<id>/<field>
in a new tab; the page loads TinyMCE from [html] src.  Here TinyMCE is the
copy `make sao` installs under sao's folder, served by the same trytond:
a staff user logs in as sao does (session cookie), writes in the editor,
saves, and the test reads the offer back from the database, while every
request that would leave 127.0.0.1 is refused and counted."""
import json
import unittest
from urllib.parse import urlsplit

import lxml.html

from trytond.modules.company.tests import set_company
from trytond.pool import Pool

from .sao import (
    CHROMIUM,
    CHROMIUM_ARGS,
    browser_missing,
    html_config,
    refuse_foreign,
    sao_root,
    sync_playwright,
    tinymce_missing,
    tinymce_src,
)
from .server import LiveServerTestCase
from .tools import company, new_offer, run_committed

LOGIN = 'redaktion'
PASSWORD = 'Umzug-2026-Editor'


def german_staff_user():
    """A staff user (group Offers) of the company who works in German;
    return whether German was translatable before."""
    pool = Pool()
    User = pool.get('res.user')
    Lang = pool.get('ir.lang')
    ModelData = pool.get('ir.model.data')
    german, = Lang.search([('code', '=', 'de')])
    translatable = german.translatable
    if not translatable:
        Lang.write([german], {'translatable': True})
    the_company = company()
    User.create([{
                'login': LOGIN,
                'name': "Redaktion",
                'password': PASSWORD,
                'language': german.id,
                'groups': [('add', [ModelData.get_id(
                                'buero365_offers', 'group_offer')])],
                'companies': [('add', [the_company.id])],
                'company': the_company.id,
                }])
    return translatable


def set_german_translatable(value):
    Lang = Pool().get('ir.lang')
    Lang.write(Lang.search([('code', '=', 'de')]), {'translatable': value})


def accept(offer_id):
    Offer = Pool().get('buero365.offer')
    with set_company(company()):
        Offer.accept([Offer(offer_id)])


@unittest.skipIf(browser_missing() or tinymce_missing(),
    browser_missing() or tinymce_missing() or '')
class HtmlEditorTestCase(LiveServerTestCase):
    "Test the rich-text editor of the offers in Chromium"
    web_root = sao_root()

    @classmethod
    def createData(cls):
        cls.german_was_translatable = run_committed(german_staff_user)
        cls.offer_id, _ = new_offer(
            send=False, content='<p>Umzug von <b>Köln</b> nach Bonn.</p>')
        cls.closed_offer_id, _ = new_offer(
            send=False, content='<p>Angenommen wie gesendet.</p>')
        run_committed(lambda: accept(cls.closed_offer_id))

    @classmethod
    def server_config(cls):
        return html_config()

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, 'german_was_translatable'):
            run_committed(lambda: set_german_translatable(
                    cls.german_was_translatable))
        super().tearDownClass()

    def open_editor(self, playwright, offer_id, field='content'):
        """Log in as sao does (as a staff user), open the editor page of
        the field; return (browser, page, problems, foreign requests)."""
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context()
        foreign = []

        refuse_foreign(context, foreign)
        problems = []
        page = context.new_page()
        page.on('pageerror', lambda error: problems.append(str(error)))
        page.on('console', lambda message: message.type == 'error'
            and problems.append(message.text))
        page.on('requestfailed', lambda request: problems.append(
                f'failed: {request.url}'))
        response = context.request.post(
            f'{self.base}/{self.database}/session/login',
            data=json.dumps({'method': 'common.db.login',
                    'params': [LOGIN, {'password': PASSWORD}, 'de']}),
            headers={'Content-Type': 'application/json'})
        self.assertEqual(response.status, 200, self.server_log())
        path = (f'/{self.database}/ir/html/buero365.offer/{offer_id}/'
            f'{field}?language=de&title=Tryton')
        response = page.goto(self.base + path)
        self.assertEqual(response.status, 200, self.server_log())
        page.wait_for_selector('.tox-tinymce', timeout=15000)
        return browser, page, problems, foreign

    def test_write_and_save(self):
        "Write in the editor, save: the offer keeps the HTML"
        with sync_playwright() as playwright:
            browser, page, problems, foreign = self.open_editor(
                playwright, self.offer_id)
            try:
                # TinyMCE came from this server, in German.
                self.assertEqual(page.evaluate('tinymce.majorVersion'), '7')
                source = page.evaluate(
                    "document.querySelector('script[src*=tinymce]').src")
                self.assertEqual(urlsplit(source).path,
                    tinymce_src())
                self.assertTrue(page.get_by_role(
                        'button', name='Fett').is_visible())
                editor = page.frame_locator('.tox-edit-area iframe')
                body = editor.locator('body')
                self.assertIn("Umzug von Köln nach Bonn.", body.inner_text())
                body.click()
                page.keyboard.press('Control+End')
                page.keyboard.press('Enter')
                page.keyboard.type("Mit Einpackservice für ")
                page.keyboard.press('Control+b')
                page.keyboard.type("Geschirr")
                # Save: the first button of the toolbar (trytond gives it
                # a title that TinyMCE 7 does not show, so no label).
                with page.expect_navigation():
                    page.locator('.tox-toolbar__group').first.locator(
                        'button').first.click()
                page.wait_for_selector('.tox-tinymce', timeout=15000)
                self.assertIn("Mit Einpackservice für Geschirr",
                    page.frame_locator('.tox-edit-area iframe')
                    .locator('body').inner_text())
            finally:
                browser.close()
        self.assertFalse(foreign, "requests that left 127.0.0.1")
        self.assertFalse(problems)
        _, content = self.offer_state(self.offer_id, 'content')
        paragraphs = lxml.html.fragments_fromstring(content)
        self.assertEqual([p.text_content() for p in paragraphs], [
                "Umzug von Köln nach Bonn.",
                "Mit Einpackservice für Geschirr"])
        self.assertEqual(
            [b.text for b in paragraphs[1].iter('strong')], ["Geschirr"])

    def test_closed_offer_unchanged(self):
        "Saving from an editor left open on a closed offer changes nothing"
        with sync_playwright() as playwright:
            browser, page, problems, foreign = self.open_editor(
                playwright, self.closed_offer_id)
            try:
                body = page.frame_locator('.tox-edit-area iframe').locator(
                    'body')
                body.click()
                page.keyboard.type("Nachträglich geändert")
                with page.expect_navigation() as navigation:
                    page.locator('.tox-toolbar__group').first.locator(
                        'button').first.click()
                # The refusal of a closed offer, with its number.
                self.assertEqual(navigation.value.status, 400)
                self.assertRegex(page.inner_text('body'), r'AN-\d{4}-\d+')
            finally:
                browser.close()
        self.assertFalse(foreign, "requests that left 127.0.0.1")
        self.assertEqual(self.offer_state(self.closed_offer_id, 'content'),
            ('accepted', '<p>Angenommen wie gesendet.</p>'))
