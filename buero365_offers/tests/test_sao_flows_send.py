# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The manual's staff flows around sending, walked in the real sao web
client in German (doc/user.md: Sending and editing, Changing the status,
Another date proposed, Customer portal).

Each step checks what the user sees in sao or in the customer's browser,
and what arrives at the test's SMTP server (tests/smtp.py, a real one):
send by email with an edited message and two recipients; accept, reject
and expire with the confirmation and the follow-up email; edit a sent
offer and send it again; confirm and decline proposed dates; invite the
customer to the portal.  The main screens are saved to doc/screenshots/
for the user guide."""
import datetime as dt
import re
import time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import polib

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .sao import PlaywrightError, SaoTestCase
from .tools import (
    html_part,
    load_language,
    send_by_email,
    setup_admin_company,
    text_part,
)

LOCALE = Path(__file__).resolve().parents[1] / 'locale'


@lru_cache(maxsize=None)
def _catalog(language):
    catalog = {}
    for entry in polib.pofile(str(LOCALE / f'{language}.po')):
        if entry.msgstr and 'fuzzy' not in entry.flags:
            catalog.setdefault(entry.msgid, entry.msgstr)
    return catalog


def tr(text, language='de'):
    """text as the module shows it in language: its translation in the
    module's .po file, else the English text (as trytond shows an
    untranslated string)."""
    if language == 'en':
        return text
    return _catalog(language).get(text, text)


def subject(template, language='de', **values):
    "An email template's subject in language with the record's values."
    text = tr(template, language)
    for name, value in values.items():
        text = text.replace(f'${{record.{name}}}', value)
    return text


def create_offer(party, title, **values):
    "An open offer of party with one service line (as the admin)."
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Tax = pool.get('account.tax')
    tax19, = Tax.search([('rate', '=', Decimal('0.19'))])
    email = party.email
    offer, = Offer.create([{
                'party': party.id,
                'email': email,
                'title': title,
                'content': "<p>Wir ziehen Ihren Haushalt sicher um.</p>",
                'lines': [('create', [{
                                'description': "Umzugshelfer",
                                'quantity': 3,
                                'unit_price': Decimal('45'),
                                'taxes': [('add', [tax19.id])],
                                }])],
                **values,
                }])
    return offer


class SendFlowsTestCase(SaoTestCase):
    "Send, status, resend, date requests and portal in sao"
    viewport = {'width': 1280, 'height': 800}

    @classmethod
    def setUpDatabase(cls):
        setup_admin_company()
        # Customers read German, French or English, the staff German.
        load_language('fr')

    @classmethod
    def setUpData(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Lang = pool.get('ir.lang')
        Offer = pool.get('buero365.offer')
        DateRequest = pool.get('buero365.offer.date_request')
        langs = {l.code: l for l in Lang.search([
                    ('code', 'in', ['de', 'fr', 'en'])])}

        def customer(name, email, lang='de'):
            party, = Party.create([{
                        'name': name,
                        'lang': langs[lang].id,
                        'contact_mechanisms': [('create', [{
                                        'type': 'email', 'value': email,
                                        }])],
                        }])
            return party

        def offer(key, name, email, title, lang='de', send=False):
            record = create_offer(customer(name, email, lang), title)
            if send:
                send_by_email(record)
            record = Offer(record.id)
            cls.offers[key] = {
                'id': record.id, 'number': record.number, 'email': email,
                'title': title, 'path': urlsplit(
                    record.customer_url).path if send else None,
                }

        cls.offers = {}
        offer('send', "Erika Mustermann", 'erika@example.de',
            "Umzug Köln → Bonn")
        offer('accept', "Jonas Becker", 'jonas.becker@example.de',
            "Umzug Aachen → Düren")
        offer('reject', "Lea Schmidt", 'lea.schmidt@example.de',
            "Umzug Essen → Bochum")
        offer('expire', "Paul Wagner", 'paul.wagner@example.de',
            "Umzug Mainz → Wiesbaden")
        offer('resend', "Mia Hoffmann", 'mia.hoffmann@example.de',
            "Umzug Bonn → Siegburg", send=True)
        offer('date_confirm', "Camille Martin", 'camille.martin@example.fr',
            "Déménagement Trier → Metz", lang='fr', send=True)
        offer('date_decline', "Oliver Smith", 'oliver.smith@example.com',
            "Move Düsseldorf → Neuss", lang='en', send=True)
        offer('portal', "Hanna Weber", 'hanna.weber@example.de',
            "Umzug Kassel → Fulda", send=True)
        # Oliver proposed a date on the page (recorded as the page does).
        declined = Offer(cls.offers['date_decline']['id'])
        start = (dt.datetime.now() + dt.timedelta(days=45)).replace(
            hour=7, minute=0, second=0, microsecond=0)
        DateRequest.create([{
                    'offer': declined.id, 'revision': declined.revision,
                    'start': start, 'end': start + dt.timedelta(hours=8),
                    'comment': "Could you come a week later?",
                    'requested_at': dt.datetime.now(),
                    'ip_address': '192.0.2.44', 'user_agent': 'Mozilla/5.0',
                    }])
        Transaction().commit()

    def tearDown(self):
        # What the browser showed at the end, for a person (SAO_FAILURES).
        self.save_failure(self.id().rsplit('.', 1)[-1])
        super().tearDown()

    # --- helpers: what the user sees and does -------------------------

    def url(self, path):
        """The server's address of a path of the test database (a
        customer page...)."""
        return self.base + path.replace(
            f'/{DB_NAME}/', f'/{self.database}/', 1)

    def button(self, name, scope=None):
        "The button of a form (its name attribute) in scope."
        return (scope or self.tab()).locator(
            f'button[name="{name}"]:visible').first

    def wizard(self):
        "sao's open wizard dialog."
        return self.page.locator('.modal.in.wizard-dialog').last

    def wizard_title(self):
        "The title of the open wizard (empty without one)."
        header = self.wizard().locator('.modal-header')
        return header.inner_text().strip() if header.count() else ''

    def shot(self, name, locator=None):
        """A screenshot for the user guide (doc/screenshots/NAME.png), with
        sao's menu folded away to give the form the whole width."""
        # As the menu button does (it is behind an open dialog's backdrop).
        toggle = "() => jQuery('#menu').toggleClass('hidden')"
        hide = not locator and self.page.locator('#menu').is_visible()
        if hide:
            self.page.evaluate(toggle)
        try:
            return self.screenshot(name, locator)
        finally:
            if hide:
                self.page.evaluate(toggle)

    def wizard_button(self, label):
        """A button of the open wizard's footer by its label (German, or
        English while untranslated)."""
        names = '|'.join(re.escape(n) for n in {tr(label), label})
        return self.wizard().locator('.modal-footer button').filter(
            has_text=re.compile(rf'^\s*({names})\s*$', re.I)).last

    def confirmation(self):
        "sao's open confirmation dialog (a button's confirm text)."
        return self.page.locator('.modal.in.confirmation-dialog').last

    def click_button(self, name, scope=None, screenshot=None):
        """Click a form button; answer its confirmation with OK and
        return the confirmation's text (None without one)."""
        self.button(name, scope).click()
        self.wait_idle()
        dialog = self.confirmation()
        try:
            dialog.wait_for(timeout=3000)
        except PlaywrightError:
            return None
        text = dialog.locator('.alert').inner_text().strip()
        if screenshot:
            self.shot(screenshot)
        dialog.locator('.modal-footer .btn-primary').click()
        self.wait_idle()
        return text

    def field(self, name, scope=None):
        "The input (or select, textarea) of the field name in scope."
        return (scope or self.tab()).locator(
            f'[name="{name}"]:is(input, select, textarea)').first

    def value(self, name, scope=None):
        "What a form field shows: a selection's label, an input's text."
        return self.field(name, scope).evaluate('''e => (
            e.tagName == 'SELECT' ? (e.selectedIndex >= 0 ?
                e.options[e.selectedIndex].text : '') : e.value)''').strip()

    def open_page(self, label, scope=None):
        """Click the notebook page labelled label: its German text, or its
        English one while it has no translation yet."""
        names = '|'.join(re.escape(n) for n in {tr(label), label})
        (scope or self.tab()).locator('.nav-tabs li a:visible').filter(
            has_text=re.compile(rf'^\s*({names})\s*$')).first.click()
        self.wait_idle()

    def one2many(self, title, scope=None):
        "The One2Many (or Many2Many) list titled title in scope."
        scope = scope or self.tab()
        return scope.locator(':is(.form-one2many, .form-many2many)').filter(
            has=self.page.locator(
                ':is(.form-one2many-string, .form-many2many-string)',
                has_text=re.compile(rf'^\s*{re.escape(title)}\s*$'))).last

    def rows_text(self, scope):
        """The rows of the list in scope, each as one line of text (a list
        inside a form first shows "More" only: it is clicked)."""
        self.show_all_rows(scope)
        return [' | '.join(t.split('\t')) for t in self.list_rows(
                scope).all_inner_texts() if t.strip()]

    def open_row(self, scope, index=0):
        "Open a row of a list in a form by a double click on a cell."
        # A visible cell: the parent's column is hidden.
        self.list_rows(scope).nth(index).locator('td:visible .cell').filter(
            has_text=re.compile(r'\S')).first.dblclick()
        self.wait_idle()

    def reload_form(self):
        "Reload the record shown (toolbar Reload)."
        self.tab().locator('button#reload').click()
        self.wait_idle()

    def until(self, check, message, timeout=20, reload=False, fail=True):
        """Wait until check() is true (reloading the form between tries
        when reload); fail with message (return None when not fail)."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                if not fail:
                    return None
                self.fail(f"{message}\n{self.server_log(1500)}")
            if reload:
                self.reload_form()
            else:
                time.sleep(0.2)

    def mails_to(self, address, count=1):
        """Wait for count messages to address at the test's SMTP server
        (those of setUpData went elsewhere) and return all of them."""
        def arrived():
            found = [m for m in self.inbox.messages
                if address in (m.get('To') or '')]
            return found if len(found) >= count else None
        if not count:
            return arrived()
        return self.until(arrived, f"no mail to {address} arrived")

    def open_offer(self, key):
        "Open the offer from the menu Offers / Offers, by its number."
        self.open_menu(tr("Offers"), tr("Offers"))
        self.open_domain_tab(tr("All"))
        self.open_record(self.offers[key]['number'])
        self.assertEqual(self.value('number'), self.offers[key]['number'])

    def customer_page(self, path):
        "Open a customer page in a browser tab of its own."
        page = self.context.new_page()
        page.on('pageerror', lambda error: self.problems.append(
                f"customer page: {error}"))
        response = page.goto(self.url(path))
        self.assertEqual(response.status, 200, self.server_log())
        return page

    # --- 1. Send by Email -----------------------------------------------

    def test_send_by_email(self):
        "Send by Email: preview, edited message, two recipients, PDF"
        offer = self.offers['send']
        self.open_offer('send')
        self.assertEqual(self.value('email_state'), tr("Pending"))
        self.button('send').click()
        self.wait_idle()
        wizard = self.wizard()
        self.assertIn(tr("Send by Email"), self.wizard_title())
        self.assertEqual(self.value('recipients', wizard), offer['email'])
        self.assertIn(offer['number'], self.value('subject', wizard))
        self.assertTrue(self.field('attach_pdf', wizard).is_checked())

        # A second recipient, and the message edited in sao's rich-text
        # editor.
        second = 'buchhaltung@mustermann.example'
        recipients = f"{offer['email']}, {second}"
        self.field('recipients', wizard).fill(recipients)
        self.field('recipients', wizard).press('Tab')
        self.wait_idle()
        editor = wizard.locator('[contenteditable="true"]').first
        editor.click()
        self.wait_idle()
        self.page.keyboard.press('Control+Home')
        sentence = "wie am Telefon besprochen: zwei Helfer mehr am Samstag."
        self.page.keyboard.type(sentence)
        self.page.keyboard.press('Enter')
        self.wait_idle()
        self.field('subject', wizard).click()
        self.wait_idle()
        self.assertEqual(self.value('recipients', wizard), recipients)
        self.shot('send-message')

        # The preview, a step of its own: the email as the customer will
        # receive it, with the PDF attached.
        self.wizard_button("Preview").click()
        self.wait_idle()
        wizard = self.wizard()
        self.assertEqual(self.value('recipients', wizard), recipients)
        self.assertEqual(self.value('files', wizard),
            f"{offer['number']}.pdf")
        preview = wizard.frame_locator('iframe').first.locator('body')
        self.until(lambda: sentence in preview.inner_text(),
            "the preview does not show the edited message")
        self.assertIn(offer['title'], preview.inner_text())
        self.shot('send-preview')

        self.send_wizard(wizard)

        message, = self.mails_to(second)
        self.assertIn(offer['email'], message['To'])
        self.assertIn(second, message['To'])
        self.assertIn(sentence, text_part(message))
        self.assertIn(sentence, html_part(message))
        pdf, = [p for p in message.iter_attachments()
            if p.get_filename() == f"{offer['number']}.pdf"]
        self.assertTrue(pdf.get_content().startswith(b'%PDF'))

        self.until(lambda: self.value('email_state') == tr("Sent"),
            "Email Status does not say Sent", reload=True)
        self.open_page("Mail Tracker")
        events = self.rows_text(self.one2many(tr("Mail Tracker")))
        self.assertTrue(any(tr("Email sent") in e for e in events), events)
        self.assertTrue(any(tr("Email queued") in e for e in events),
            events)
        mails = self.rows_text(self.one2many(tr("Emails")))
        self.assertEqual(len(mails), 1, mails)
        self.assertIn(second, mails[0])
        self.assertIn(tr("Sent"), mails[0])
        self.shot('send-tracker')

    # --- 2. Status change -----------------------------------------------

    def change_status(self, key, button, question, screenshot=None):
        "Click a status button, confirm, and return the follow-up wizard."
        self.open_offer(key)
        text = self.click_button(button, screenshot=screenshot)
        self.assertEqual(text, tr(question))
        self.until(lambda: tr("Send by Email") in self.wizard_title(),
            f"no follow-up email after {button}")
        return self.wizard()

    def send_wizard(self, wizard):
        "Click the wizard's Send; it closes."
        self.wizard_button("Send").click()
        self.wait_idle()
        # The window closes after sao has read the answer: on a busy
        # machine that can be after the client looks idle.
        if not self.until(
                lambda: not self.page.locator('.modal.in').count(),
                None, fail=False):
            self.fail("the wizard did not close; on screen:\n"
                + '\n---\n'.join(d.inner_text()
                    for d in self.page.locator('.modal.in').all())
                + f"\n{self.server_log(1500)}")

    def assert_history(self, to_state):
        self.open_page("Status")
        history = self.rows_text(self.one2many(tr("Status History")))
        self.assertTrue(history, "no status history")
        self.assertIn(tr("Open"), history[0])
        self.assertIn(tr(to_state), history[0])
        return history

    def test_status_change(self):
        "Accept, reject with reason, expire: confirmation and follow-up"
        # Accept: the order confirmation with the PDF goes out.
        offer = self.offers['accept']
        wizard = self.change_status('accept', 'accept',
            "Mark this offer as accepted by the customer?",
            screenshot='status-confirm')
        self.until(lambda: self.value('purpose', wizard) == tr(
                "Acceptance Confirmation"), "not an acceptance confirmation")
        self.assertTrue(self.field('attach_pdf', wizard).is_checked())
        self.shot('status-follow-up')
        self.send_wizard(wizard)
        message, = self.mails_to(offer['email'])
        self.assertIn(offer['number'], message['Subject'])
        self.assertTrue([p for p in message.iter_attachments()
                if p.get_filename() == f"{offer['number']}.pdf"])
        self.assertEqual(self.value('state'), tr("Accepted"))
        self.assert_history("Accepted")
        self.shot('status-history')
        self.assertFalse(self.button('accept').count())
        self.close_all_tabs()

        # Reject, with the reason and comment filled on the Status tab.
        offer = self.offers['reject']
        self.open_offer('reject')
        self.open_page("Status")
        self.field('rejection_reason').select_option(
            label=tr("Too expensive"))
        self.field('rejection_reason').press('Tab')
        self.field('rejection_comment').fill("Zu teuer für drei Zimmer.")
        self.field('rejection_comment').press('Tab')
        self.page.keyboard.press('Control+s')
        self.wait_idle()
        self.assertEqual(self.rpc('model.buero365.offer.read',
                [offer['id']], ['lead_source'])[0]['lead_source'], None)
        text = self.click_button('reject')
        self.assertEqual(text, tr(
                "Mark this offer as rejected by the customer?"))
        self.until(lambda: tr("Send by Email") in self.wizard_title(),
            "no follow-up email after reject")
        wizard = self.wizard()
        # The wizard's values are drawn after its window opens.
        self.until(lambda: self.value('purpose', wizard) == tr(
                "Rejection Follow-up"), "not a rejection follow-up")
        self.send_wizard(wizard)
        message, = self.mails_to(offer['email'])
        self.assertIn(offer['number'], message['Subject'])
        self.assertEqual(self.value('state'), tr("Rejected"))
        self.assertEqual(self.value('rejection_reason'),
            tr("Too expensive"))
        self.assert_history("Rejected")
        self.close_all_tabs()

        # Expire, and close the follow-up: nothing is sent.
        offer = self.offers['expire']
        wizard = self.change_status('expire', 'expire',
            "Mark this offer as expired? The customer can no longer "
            "accept it.")
        self.until(lambda: self.value('purpose', wizard) == tr(
                "Expiry Follow-up"), "not an expiry follow-up")
        self.wizard_button("Cancel").click()
        self.wait_idle()
        self.assertEqual(self.value('state'), tr("Expired"))
        self.assert_history("Expired")
        # Nothing queued (a mail is queued in the request that sends it).
        self.assertEqual(self.rpc('model.buero365.offer.mail.search_count',
                [('offer', '=', offer['id'])], 0, None), 0)
        self.assertFalse([m for m in self.inbox.messages
                if offer['email'] in (m.get('To') or '')])

    # --- 3. Edit after sending and resend -----------------------------

    def test_edit_after_sending_and_resend(self):
        "A sent offer changed: the customer sees the sent one until resent"
        offer = self.offers['resend']
        unsent = tr("The customer has not yet received the latest changes: "
            "send the offer again.")
        self.open_offer('resend')
        self.assertEqual(self.value('email_state'), tr("Sent"))
        notice = self.tab().get_by_text(unsent)
        self.assertFalse(notice.is_visible())
        new_title = "Umzug Bonn → Troisdorf"
        self.field('title').fill(new_title)
        self.page.keyboard.press('Control+s')
        self.wait_idle()
        self.assertEqual(self.value('title'), new_title)
        self.until(notice.is_visible, "no notice that the customer has "
            "not received the changes")
        self.shot('resend-unsent')

        # The customer's link still shows the offer as sent.
        page = self.customer_page(offer['path'])
        text = page.locator('main').inner_text()
        self.assertIn(tr("An updated version is being prepared"), text)
        self.assertIn(offer['title'], text)
        self.assertNotIn(new_title, text)
        self.assertFalse(page.locator('#accept-form').count())
        self.shot('resend-customer-page', page)
        page.close()

        before = len(self.mails_to(offer['email'], 0))
        self.button('send').click()
        self.wait_idle()
        wizard = self.wizard()
        self.assertTrue(wizard.get_by_text(tr(
                    "The customer has not yet received the latest changes "
                    "of this offer.")).is_visible())
        self.send_wizard(wizard)
        message = self.mails_to(offer['email'], before + 1)[-1]
        self.assertEqual(message['Subject'], subject(
                "Your updated offer ${record.number}: ${record.title}",
                number=offer['number'], title=new_title))
        self.until(lambda: not notice.is_visible(),
            "the notice stays after sending", reload=True)

        # The old link leads to the new revision, which can be signed.
        page = self.customer_page(offer['path'])
        current = page.locator('#answer a.button')
        current.click()
        page.wait_for_load_state()
        text = page.locator('main').inner_text()
        self.assertIn(new_title, text)
        self.assertTrue(page.locator('#accept-form').count())
        page.close()

    # --- 4. Date requests -----------------------------------------------

    def test_date_requests(self):
        "Confirm one proposed date, decline another: emails in their language"
        confirmed = self.offers['date_confirm']
        declined = self.offers['date_decline']
        # Camille proposes another date on the offer's page.
        page = self.customer_page(confirmed['path'])
        start = (dt.date.today() + dt.timedelta(days=60)).isoformat()
        page.fill('#date-start', f'{start}T08:00')
        page.fill('#date-comment', "Plutôt un mardi, s'il vous plaît.")
        with page.expect_navigation():
            page.locator('#date-start').evaluate(
                'e => e.form.requestSubmit()')
        self.assertTrue(page.locator('#answer h2').is_visible())
        page.close()

        self.open_menu(tr("Offers"), tr("Date Requests"))
        rows = self.rows_text(self.tab())
        self.assertEqual(len(rows), 2, rows)
        row = self.list_rows().filter(has_text=confirmed['number'])
        self.assertIn("Plutôt un mardi", row.inner_text())
        self.shot('dates-list')
        # sao runs a list's button on the selected row: select it first.
        row.locator('td').first.click()
        self.wait_idle()
        row.locator('button').filter(has_text=tr("Confirm")).click()
        self.wait_idle()
        dialog = self.confirmation()
        self.assertEqual(dialog.locator('.alert').inner_text().strip(), tr(
                "Move the offer to this date and send the customer the "
                "updated offer?"))
        dialog.locator('.modal-footer .btn-primary').click()
        self.wait_idle()
        message, = self.mails_to(confirmed['email'])
        self.assertEqual(message['Subject'], subject(
                "Your offer ${record.number} with the new date",
                'fr', number=confirmed['number']))
        self.assertEqual(message['Content-Language'], 'fr')
        self.close_all_tabs()

        # Oliver's date: declined with a message, in the request's form.
        self.open_menu(tr("Offers"), tr("Date Requests"))
        self.open_record("Could you come a week later?")
        self.field('answer').fill(
            "Leider sind wir in dieser Woche ausgebucht.")
        self.field('answer').press('Tab')
        self.wait_idle()
        self.shot('dates-decline')
        text = self.click_button('decline')
        self.assertEqual(text, tr(
                "Decline this date and email your message to the customer?"))
        message, = self.mails_to(declined['email'])
        self.assertEqual(message['Subject'], subject(
                "About the date you proposed for offer ${record.number}",
                'en', number=declined['number']))
        self.assertEqual(message['Content-Language'], 'en')
        self.assertIn("ausgebucht", text_part(message))
        self.assertEqual(self.value('state'), tr("Declined"))
        self.close_all_tabs()

        # The offer's form lists the answered request.
        self.open_offer('date_decline')
        self.open_page("Customer Answer")
        rows = self.rows_text(self.one2many(tr("Date Requests")))
        self.assertEqual(len(rows), 1, rows)
        self.assertIn("Could you come a week later?", rows[0])
        self.assertIn(tr("Declined"), rows[0])
        self.shot('dates-offer')

    # --- 5. Portal ------------------------------------------------------

    def test_invite_to_portal(self):
        "Invite to Portal: the customer gets the invitation email"
        offer = self.offers['portal']
        self.open_offer('portal')
        before = len(self.mails_to(offer['email'], 0))
        text = self.click_button('invite_portal',
            screenshot='portal-invite')
        self.assertEqual(text, tr("Email the customer an invitation to the "
                "portal, with a link to set their password?"))
        message = self.mails_to(offer['email'], before + 1)[-1]
        self.assertEqual(message['Subject'],
            tr("Invitation to the Offer Portal"))
        links = re.findall(r'href="([^"]+)"', html_part(message))
        link, = [l for l in links if '/portal/password' in l]
        page = self.context.new_page()
        page.goto(link.replace('&amp;', '&'))
        self.assertTrue(page.locator('input[type="password"]').count())
        page.close()
