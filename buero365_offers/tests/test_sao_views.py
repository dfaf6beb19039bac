# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Every view of the module opens in the real sao web client, in German.

The views, actions, menus and wizards are read at run time from the
module's records (ir.model.data of buero365_offers), so a new view is
covered without touching this test.  Each step must leave no client error
(page error, console error, error dialog), no "Processing" and no request
leaving 127.0.0.1; at the end every view of the module must have been
drawn by sao at least once."""
import datetime as dt
import logging
import re
import time
import unittest

from lxml import etree

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module,
    drop_db,
    with_transaction,
)
from trytond.transaction import Transaction

from . import media_samples as samples
from .sao import PlaywrightError, SaoTestCase, sao_root
from .smtp import smtp_server
from .tools import SCRIPTS, load_script, run_queue, run_send_wizard

MODULE = 'buero365_offers'
# Each wizard is opened, then its default button pressed to draw the next
# state; a wizard whose first state needs a file gets this one (scripts/)
# in its first file field.  The test fails when a view of a wizard is
# never drawn.
WIZARD_FILES = {
    'buero365.lead.import': 'umzugsfuchs_sample.csv',
    }
logger = logging.getLogger(__name__)

# Records every view sao draws (Screen.add_view parses the view's XML and
# builds its widgets), by view id; kept in the session storage of the tab
# through reloads.
TRACK_VIEWS = '''() => {
    if (window.__saoViews) { return; }
    window.__saoViews = new Set(
        JSON.parse(sessionStorage.getItem('saoViews') || '[]'));
    const add_view = Sao.Screen.prototype.add_view;
    Sao.Screen.prototype.add_view = function(view) {
        const result = add_view.apply(this, arguments);
        window.__saoViews.add(view.view_id);
        sessionStorage.setItem(
            'saoViews', JSON.stringify([...window.__saoViews]));
        return result;
    };
}'''


def create_demo_records(info):
    """On one offer of the demo's everything its form can show: notes,
    media, a date request, sent emails with their events; another one
    accepted, with its sale."""
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Note = pool.get('buero365.offer.note')
    Attachment = pool.get('ir.attachment')
    DateRequest = pool.get('buero365.offer.date_request')
    company = info['company']
    with Transaction().set_context(company=company.id,
            companies=[company.id]):
        offer = Offer.search(
            [('state', '=', 'open')], order=[('id', 'ASC')], limit=1)[0]
        Note.create([{
                    'offer': offer.id, 'title': "Rückruf",
                    'text': "<p>Kundin ruft <b>Montag</b> zurück.</p>",
                    }, {
                    'offer': offer.id, 'title': "Parkplatz",
                    'text': "Halteverbotszone beantragen.",
                    }])
        Attachment.create([{
                    'resource': str(offer), 'name': 'wohnzimmer.png',
                    'data': samples.png(),
                    }, {
                    'resource': str(offer), 'name': 'umzugsplan.pdf',
                    'data': samples.pdf(),
                    }, {
                    'resource': str(offer), 'type': 'link',
                    'link': 'https://www.example.de/grundriss',
                    'name': "Grundriss",
                    }])
        with smtp_server():
            run_send_wizard(offer)
            run_queue()
        offer = Offer(offer.id)
        start = dt.datetime.now().replace(microsecond=0) + dt.timedelta(
            days=40)
        DateRequest.create([{
                    'offer': offer.id, 'revision': offer.revision,
                    'start': start, 'end': start + dt.timedelta(hours=6),
                    'comment': "Lieber eine Woche später.",
                    'requested_at': dt.datetime.now(),
                    'ip_address': '192.0.2.10',
                    'user_agent': 'Mozilla/5.0',
                    }])
        # The sale of an accepted offer (sale.py).
        Offer.create_sale(Offer.search(
                [('state', '=', 'accepted')], order=[('id', 'ASC')], limit=1))
    return offer.id


class SaoViewsTestCase(SaoTestCase):
    "Every view of the module opens in sao"
    init_scripts = [TRACK_VIEWS]
    timeout = 15
    demo = True

    @classmethod
    def setUpData(cls):
        # Offers in every state for the lists and reports, on the demo's
        # base that the other classes share.
        load_script('demo_data').generate_offers(12, seed=365, batch=50,
            commit=False, progress=None, info=cls.demo_info)
        cls.offer_id = create_demo_records(cls.demo_info)
        # What the module defines (ir.model.data is not readable by RPC).
        ModelData = Pool().get('ir.model.data')
        cls.module_records = {}
        for data in ModelData.search([('module', '=', MODULE)]):
            cls.module_records.setdefault(data.model, []).append(data.db_id)

    # --- what the module defines ------------------------------------------

    def module_ids(self, model):
        return sorted(self.module_records.get(model, []))

    def first_record(self, model, domain=()):
        "The id of a record of model, or None (also for a wizard model)."
        try:
            ids = self.rpc(f'model.{model}.search', list(domain), 0, 1, None)
        except RuntimeError:
            return None
        return ids[0] if ids else None

    def is_storage(self, model):
        try:
            self.rpc(f'model.{model}.search_count', [], 0, 1)
        except RuntimeError:
            return False
        return True

    # --- steps ----------------------------------------------------------

    def step(self, failures, label, func, *args):
        """Run one step; record what went wrong with label instead of
        stopping, so that one run lists every broken view."""
        logger.info("step: %s", label)
        started = time.monotonic()
        try:
            func(*args)
            self.wait_idle()
        except Exception as exception:
            self.problems.append(f"{type(exception).__name__}: {exception}")
            stuck = True
        else:
            stuck = False
        problems = self.client_problems()
        logger.info("  %.1f s, %s", time.monotonic() - started,
            str(problems)[:300] if problems else 'ok')
        if problems:
            failures.append(f"{label}:\n    " + '\n    '.join(
                    p.replace('\n', '\n    ')[:1500] for p in problems))
        if stuck or problems:
            self.save_failure(label.replace('/', '_').replace(' ', '_'))
            self.reload_client()
            self.problems.clear()
            self.foreign_requests.clear()

    def browse_tab(self, failures, label):
        """In the active tab: every domain tab, every view of the action
        (switch), and the first record of a list opened by double click."""
        for name in self.domain_tabs():
            self.step(failures, f"{label} / tab {name}",
                self.open_domain_tab, name)
        views = self.page.evaluate('''() => {
            const tab = Sao.Tab.tabs.get_current();
            return tab && tab.screen ? tab.screen.view_ids.length : 0; }''')
        for index in range(1, views):
            self.step(failures, f"{label} / view {index + 1}", self.run_js,
                '() => Sao.Tab.tabs.get_current().screen.switch_view()')
        # Back on the first view (a list) to open a record.
        for index in range(1, views):
            self.run_js(
                '() => Sao.Tab.tabs.get_current().screen.switch_view()')
        if self.list_rows().count():
            self.step(failures, f"{label} / open a record",
                self.open_first_record)
            self.browse_form(failures, f"{label} / record")

    def browse_form(self, failures, label):
        """In the active form: every notebook page, and in each visible
        One2Many list the first line opened (its form in a dialog)."""
        tab = self.tab()
        self.browsed.add(self.page.evaluate('''() => {
            const view = Sao.Tab.tabs.get_current().screen.current_view;
            return view ? view.view_id : null; }'''))
        apart = self.labels_apart()
        if apart:
            failures.append(
                f"{label}: labels not beside their values: {apart}")
        pages = tab.locator('.form-notebook > .nav-tabs > li > a')
        for index in range(pages.count()):
            page = pages.nth(index)
            if not page.is_visible():
                continue
            name = page.inner_text().strip()
            self.step(failures, f"{label} / page {name}", page.click)
            apart = self.labels_apart()
            if apart:
                failures.append(f"{label} / page {name}: labels not beside "
                    f"their values: {apart}")
            lists = tab.locator('.form-one2many:visible')
            for position in range(lists.count()):
                widget = lists.nth(position)
                rows = widget.locator('.treeview tbody tr:visible')
                if not rows.count() or not rows.first.locator(
                        'td:visible .cell:not(:has(a))').count():
                    continue
                title = widget.locator('.title').first.inner_text(
                    ).strip() if widget.locator('.title').count() else ''
                self.step(failures, f"{label} / page {name} / {title} line",
                    self.open_line, rows.first)

    def open_line(self, row):
        "Open the line of a One2Many list by a double click, then close."
        # Not a link's text (a Many2One): that opens the linked record.
        cell = row.locator('td:visible .cell:not(:has(a))').filter(
            has_text=self._text).first
        if not cell.count():
            return
        cell.dblclick()
        self.wait_idle()
        # The line's form opens in a dialog, not for an editable list (its
        # header marks the columns one can edit).
        editable = row.evaluate('''(row) => !!row.closest('.treeview')
            .querySelector('thead label.editable, thead label.required')''')
        if not editable:
            try:
                self.page.locator('.modal.in').last.wait_for(timeout=2000)
            except PlaywrightError:
                pass
        self.close_dialogs()

    _text = re.compile(r'\S')

    def wizard_next(self, path=None):
        "Give the open wizard the file at path, then press its default."
        dialog = self.dialog()
        if path:
            dialog.locator('input[type="file"]').first.set_input_files(
                str(path))
            self.wait_idle()
        dialog.locator('.modal-footer button.btn-primary').first.click()
        self.wait_idle()

    # --- the test -------------------------------------------------------

    def test_every_view_opens(self):
        "Every menu, action, view, One2Many and wizard of the module opens"
        failures = []
        # the form views browse_form went through on a record
        self.browsed = set()

        views = self.rpc('model.ir.ui.view.read',
            self.module_ids('ir.ui.view'),
            ['model', 'type', 'inherit', 'inherit.type', 'name'])
        for view in views:
            # An inherited view has the type of the view it extends.
            view['type'] = view['type'] or view['inherit.']['type']
        actions = self.rpc('model.ir.action.act_window.read',
            self.module_ids('ir.action.act_window'),
            ['name', 'res_model', 'action', 'context_model', 'domain'])
        wizards = self.rpc('model.ir.action.wizard.read',
            self.module_ids('ir.action.wizard'),
            ['name', 'wiz_name', 'action', 'model'])
        menus = self.rpc('model.ir.ui.menu.read',
            self.module_ids('ir.ui.menu'),
            ['complete_name', 'action', 'childs'])
        self.assertTrue(views and actions and wizards and menus)
        menu_actions = {m['action'] for m in menus if m['action']}

        # 1. Every menu of the module, as a user opens it.
        for menu in sorted(menus, key=lambda m: m['complete_name']):
            path = menu['complete_name'].split(' / ')
            label = f"menu {menu['complete_name']}"
            if not menu['action']:
                self.step(failures, label, self.open_menu, *path)
                continue
            self.step(failures, label, self.open_menu, *path)
            if menu['action'].startswith('ir.action.act_window,'):
                self.browse_tab(failures, label)
            self.close_dialogs()
            self.close_all_tabs()

        # 2. The actions without a menu (relates, tree_open), on a record.
        keywords = self.rpc('model.ir.action.keyword.search_read',
            [('action', 'in', [a['action'] for a in actions + wizards])],
            0, None, None, ['action', 'model', 'keyword'])
        bound = {}
        for keyword in keywords:
            # A menu entry's keyword: opened from the menu in step 1.
            if not keyword['model'].startswith('ir.ui.menu,'):
                bound.setdefault(keyword['action'], []).append(keyword)
        for action in actions:
            ref = f"ir.action.act_window,{action['id']}"
            if ref in menu_actions:
                continue
            for keyword in bound.get(action['action'], []):
                model = keyword['model'].split(',')[0]
                record = self.first_record(model)
                if record is None:
                    failures.append(f"action {action['name']}: no "
                        f"{model} record to open it on")
                    continue
                label = f"action {action['name']} on {model}"
                self.step(failures, label, self.open_action,
                    action['action'], {'model': model, 'id': record,
                        'ids': [record]})
                self.browse_tab(failures, label)
                self.close_all_tabs()

        # 3. Every form view on an existing record and on New, every list
        # and graph view on its own.  An inherited view is drawn in the
        # view it extends: each view sao draws is opened once, and a form
        # already browsed on a record (from its menu) is not browsed again.
        opened = set()
        for view in views:
            if not self.is_storage(view['model']):
                continue
            view_id = view['inherit'] or view['id']
            if view_id in opened:
                continue
            opened.add(view_id)
            label = f"view {view['name']} ({view['type']})"
            if view['type'] == 'form':
                record = self.first_record(view['model'])
                if view_id in self.browsed:
                    pass
                elif record is None:
                    failures.append(f"{label}: no {view['model']} record")
                else:
                    self.step(failures, f"{label} on a record",
                        self.open_view, view['model'], view_id, 'form',
                        record)
                    self.browse_form(failures, f"{label} on a record")
                    self.close_all_tabs()
                self.step(failures, f"{label} on New", self.open_view,
                    view['model'], view_id, 'form')
                self.close_all_tabs()
            elif view['type'] in {'tree', 'graph', 'calendar'}:
                self.step(failures, label, self.open_view,
                    view['model'], view_id, view['type'])
                self.close_all_tabs()

        # 4. Every wizard, on a record of its model (or from its menu).
        for wizard in wizards:
            ref = f"ir.action.wizard,{wizard['id']}"
            for keyword in bound.get(wizard['action'], []):
                model = keyword['model'].split(',')[0]
                record = self.first_record(model)
                label = f"wizard {wizard['name']} on {model}"
                if record is None:
                    failures.append(f"{label}: no record")
                    continue
                self.step(failures, label, self.open_action,
                    wizard['action'], {'model': model, 'id': record,
                        'ids': [record]})
                apart = self.dialog().count() and self.labels_apart(
                    self.dialog())
                if apart:
                    failures.append(f"{label}: labels not beside their "
                        f"values: {apart}")
                upload = WIZARD_FILES.get(wizard['wiz_name'])
                self.step(failures, f"{label} / next state",
                    self.wizard_next, upload and SCRIPTS / upload)
                self.close_dialogs()
                self.close_all_tabs()
            if not bound.get(wizard['action']) and ref not in menu_actions:
                failures.append(f"wizard {wizard['name']}: neither a menu "
                    "nor a keyword opens it")

        # 5. Every view was drawn at least once (inherited ones through
        # the view they extend).
        drawn = set(self.page.evaluate('() => [...window.__saoViews]'))
        for view in views:
            shown = view['inherit'] or view['id']
            if shown not in drawn:
                failures.append(f"view {view['name']} ({view['model']}, "
                    f"{view['type']}) was never drawn by sao")
        self.assertFalse(failures, '\n'.join(failures))


    def test_foreign_request_refused(self):
        "A request of the page to another host is refused and reported"
        local = self.page.evaluate('''(path) => fetch(path).then(
            r => r.status)''', f'/{self.database}/offers/static/offers.css')
        self.assertEqual(local, 200)
        outcome = self.page.evaluate('''() => fetch(
            'https://cdn.example.org/tinymce.min.js').then(
            () => 'loaded', () => 'refused')''')
        self.assertEqual(outcome, 'refused')
        self.assertEqual(self.client_problems(), ['request leaving '
                '127.0.0.1: https://cdn.example.org/tinymce.min.js'])

    def test_offer_list(self):
        "Full numbers and a visible status in every tab; filter by day"
        self.open_menu("Angebote", "Angebote")
        width = self.page.viewport_size['width']
        for name in self.domain_tabs():
            self.open_domain_tab(name)
            headers = self.tab().locator('.treeview thead th:visible')
            texts = [t.strip() for t in headers.all_inner_texts()]
            self.assertIn("Status", texts, name)
            box = headers.nth(texts.index("Status")).bounding_box()
            self.assertLessEqual(box['x'] + box['width'], width,
                f"{name}: the status is outside the window")
            # No number is cut off ("AN-2026-000…").
            cut = self.page.evaluate('''() => [...document.querySelectorAll(
                '.tab-pane.active .treeview tbody td[data-title^="Nummer"]'
                + ' .column-char')].filter(
                    e => e.scrollWidth > e.clientWidth).map(
                    e => e.textContent)''')
            self.assertEqual(cut, [], name)
        self.open_domain_tab("Alle")
        self.screenshot('offer-list')
        self.open_first_record()
        self.assertEqual(self.labels_apart(), [])
        self.screenshot('offer-form')
        self.close_all_tabs()
        self.open_menu("Angebote", "Angebote")
        self.open_domain_tab("Alle")

        # "Created" from the day of an offer to the same day finds it.
        offer, = self.rpc('model.buero365.offer.search_read', [], 0, 1,
            [('create_date', 'ASC')], ['number', 'create_day'])
        day = offer['create_day'].strftime('%d.%m.%Y')
        self.tab().locator("button").filter(has_text="Filter").first.click()
        entry = self.page.locator(
            '[id="filter-buero365.offer-create_day"]')
        entry.wait_for()
        modal = self.dialog()
        inputs = entry.locator('input[type="text"]')
        self.assertEqual(inputs.count(), 2)
        # Date pickers, not date-time entries.
        self.assertEqual(
            entry.locator('input[type="date"]').count(), 2)
        inputs.nth(0).fill(day)
        inputs.nth(1).fill(day)
        modal.locator('.modal-footer button[type="submit"]').click()
        self.wait_idle()
        search = self.tab().locator('input.form-control').first
        self.assertIn(day, search.input_value())
        self.assertIn(
            offer['number'], ' '.join(self.list_rows().all_inner_texts()))
        # Typed as "until that day", it is included too.
        label = self.rpc('model.buero365.offer.fields_get',
            ['create_day'])['create_day']['string']
        search.fill(f'"{label}": <={day}')
        search.press('Enter')
        self.wait_idle()
        numbers = ' '.join(self.list_rows().all_inner_texts())
        self.assertIn(offer['number'], numbers)


def sao_widgets(name):
    "The widget names of sao's Sao.View.<name>.WIDGETS (tryton-sao.js)."
    source = (sao_root() / 'dist' / 'tryton-sao.js').read_text()
    block = re.search(
        r'Sao\.View\.' + re.escape(name) + r'\.WIDGETS = \{(.*?)\};',
        source, re.S).group(1)
    return set(re.findall(r"'(\w+)':", block))


@unittest.skipIf(sao_root() is None, "sao is missing (make sao)")
class SaoWidgetTestCase(unittest.TestCase):
    "Every field of the module's views has a widget sao can draw"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(SaoViewsTestCase.modules)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    @with_transaction()
    def test_widgets(self):
        "Lists, editable lists and forms use only widgets sao has"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        View = pool.get('ir.ui.view')
        known = {
            'tree': sao_widgets('TreeXMLViewParser'),
            'editable': sao_widgets('EditableTree'),
            'form': sao_widgets('FormXMLViewParser'),
            }
        self.assertIn('date', known['tree'])
        views = View.browse([d.db_id for d in ModelData.search([
                        ('module', '=', MODULE),
                        ('model', '=', 'ir.ui.view')])])
        problems = []
        for view in views:
            base = view.inherit or view
            Model = pool.get(base.model)
            result = Model.fields_view_get(base.id, base.type)
            arch = etree.fromstring(result['arch'])
            editable = arch.get('editable')
            for element in arch.iter('field'):
                name = element.get('name')
                widget = element.get('widget') or result['fields'].get(
                    name, {}).get('type')
                kind = base.type
                if kind == 'tree' and editable:
                    # Editable lists draw both ways.
                    kinds = ['tree', 'editable']
                else:
                    kinds = [kind]
                for kind in kinds:
                    if kind in known and widget not in known[kind]:
                        problems.append(
                            f"{view.name} ({base.model}, {kind}): field "
                            f"{name} has widget {widget!r}, unknown to sao")
        self.assertFalse(problems, '\n'.join(problems))
