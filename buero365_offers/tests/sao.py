# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The real web clients of the tests: Debian's Chromium driven by
Playwright (CHROMIUM, browser_missing(), for every browser test; the
customer pages at phone size: phone_page(), draw_signature()), sao as
`make sao` installs it (sao_root(): var/sao/package or $SAO_ROOT) with
TinyMCE beside it (html_config(), tinymce_src(), tinymce_missing()), and
a base class for browser tests that drive sao against a real trytond
server.

    from .sao import SaoTestCase

    class OfferFlowTestCase(SaoTestCase):

        @classmethod
        def setUpData(cls):
            # committed records the server will see (runs as admin)
            ...

        def test_open_offers(self):
            self.open_menu("Angebote", "Angebote")
            self.open_record("AN-2026-00001")
            self.assertIn("Angebot", self.tab_title())
            self.screenshot('offer-form')
            self.assertClientOk()

For the whole class (one browser, one login, in setUpClass):

- a fresh test database with the demo's modules (``modules``: the offers
  and sale_opportunity) and the German translations loaded; the admin
  user has the password ``PASSWORD`` and the language ``language`` ('de');
  with ``demo = True`` also the demo's set-up as `make demo` loads it
  (without its bulk offers; ``cls.demo_info``: company, products, lead
  sources...).  It is a copy of a base kept in DB_CACHE per modules,
  language and demo (``base_name()``), made once;
- ``setUpDatabase()`` and ``setUpData()`` run before the server starts, in
  committed transactions as the admin (override them);
- a trytond server on a free 127.0.0.1 port serving sao from ``SAO_ROOT``
  (the Makefile exports it; else the worktree's var/sao/package) and
  TinyMCE as `make sao` installs it beside (var/sao/html.conf), with an
  SMTP server of its own (``cls.inbox`` collects what it sends);
  on SQLite it works on a copy of the test database in a file, so read
  what the browser did through ``rpc()``, not through the ORM;
- Chromium logged in as admin through sao's login dialog.

Every request to a host other than 127.0.0.1 is refused and recorded;
page errors, console errors and sao's error dialogs are recorded too.
``assertClientOk()`` fails on any of them (and on a "Processing" message
left on screen); ``tearDown`` checks it after every test.

``wait_idle()`` returns once sao has no request running and no short
timer pending (sao's work between two requests) for a moment (``QUIET``,
0.15 s; ``SAO_QUIET=0.5`` waits longer, to tell whether a failure is a
test acting too soon).  To see how a test fares on a busy machine,
``SAO_CPU_THROTTLE=6`` runs the browser six times slower (e.g.
``SAO_CPU_THROTTLE=6 make test-sqlite``).
"""
import base64
import configparser
import datetime as dt
import hashlib
import json
import logging
import os
import re
import time
import unittest
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from trytond.pool import Pool
from trytond.protocols.jsonrpc import JSONDecoder, JSONEncoder
from trytond.tests.test_tryton import (
    activate_module,
    backup_db_cache,
    drop_db,
    restore_db_cache,
)
from trytond.transaction import Transaction

from .server import TrytondServer, server_database
from .tools import SCRIPTS, load_language, load_script, run_committed

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = expect = None
    PlaywrightError = Exception

logger = logging.getLogger(__name__)

__all__ = ['SaoTestCase', 'sao_root', 'server_database', 'skip_reason',
    'browser_missing', 'tinymce_missing', 'tinymce_src', 'html_config',
    'CHROMIUM', 'CHROMIUM_ARGS', 'SCREENSHOTS', 'expect']

#: Debian's Chromium, driven through Playwright by every browser test
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run',
    ]
SOURCES = Path(__file__).resolve().parents[2]
#: a request that leaves the machine: to the network (not data:, blob: or
#: the browser's own pages, e.g. chrome-extension: of its PDF viewer) and
#: to another host than the test server's 127.0.0.1; the browser tests
#: refuse them (nothing from a CDN or a third-party host at run time)
FOREIGN_URL = re.compile(r'^(https?|wss?)://(?!127\.0\.0\.1(:\d+)?([/?#]|$))')
#: where screenshot() writes: doc/screenshots (the user manual's figures)
#: only when asked for with SAO_SCREENSHOTS (make screenshots), so that a
#: test run leaves the tracked figures alone
SCREENSHOTS = Path(os.environ.get('SAO_SCREENSHOTS')
    or SOURCES / 'var' / 'screenshots')
PASSWORD = 'sao-Test-Passwort-365'
#: seconds without a request, a pending short timer or a change of the
#: page for sao to be idle (wait_idle; the first one after an action
#: waits at least this long); 0.3 before the short timers were tracked
QUIET = float(os.environ.get('SAO_QUIET') or 0.15)
# When the page last did something (window.__saoActivity, ms): an input
# event, a request sent or answered, a change of the page's elements.
# And the short timers still to run (window.__saoTimers): sao goes on
# after an answer in jQuery Deferred callbacks, each a setTimeout of its
# own, and waits on timers (debounced input, the dialogs' fade): between
# two of them no request runs and nothing changes on a slow machine, yet
# the client is not done (a click then falls into a wizard that is still
# processing and is lost).
# In sao's page only (run after each load): as an init script it would run
# in the sandboxed frames of the previews, which refuse scripts.
TRACK_ACTIVITY = '''() => {
    if (window.__saoActivity !== undefined) { return; }
    const touch = () => { window.__saoActivity = performance.now(); };
    touch();
    const timers = new Set();
    window.__saoTimers = timers;
    const setTimeout = window.setTimeout, clearTimeout = window.clearTimeout;
    window.setTimeout = function (callback, delay, ...args) {
        // Only a function soon: not the bus's long poll, nor the
        // "Processing" message's own delay.
        if (typeof callback !== 'function' || Number(delay) > 500) {
            return setTimeout.call(window, callback, delay, ...args);
        }
        const id = setTimeout.call(window, function () {
            timers.delete(id);
            return callback.apply(this, args);
        }, delay);
        timers.add(id);
        return id;
    };
    window.clearTimeout = function (id) {
        timers.delete(id);
        return clearTimeout.call(window, id);
    };
    for (const type of ['mousedown', 'mouseup', 'click', 'dblclick',
            'keydown', 'keyup', 'input', 'change', 'focusin']) {
        window.addEventListener(type, touch, true);
    }
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function () {
        touch();
        this.addEventListener('loadend', touch);
        return send.apply(this, arguments);
    };
    new MutationObserver(touch).observe(document, {
        subtree: true, childList: true, attributes: true,
        characterData: true});
}'''
#: the scripts of the demo's data (SaoTestCase.demo) and its public URL
DEMO_SCRIPTS = ('demo_data', 'demo_setup')
DEMO_URL = 'http://127.0.0.1:8000'


def sao_root():
    """The folder of sao's index.html: $SAO_ROOT (set by `make test`), else
    var/sao/package of the source tree (`make sao`); None if missing."""
    root = os.environ.get('SAO_ROOT')
    root = Path(root) if root else SOURCES / 'var' / 'sao' / 'package'
    return root if (root / 'index.html').is_file() else None


# A phone: 390 × 844 CSS pixels at 3 device pixels each.
PHONE = {
    'viewport': {'width': 390, 'height': 844},
    'device_scale_factor': 3,
    'is_mobile': True,
    'has_touch': True,
    }


@contextmanager
def phone_page(**options):
    "Yield a page of a new headless Chromium at phone size."
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_context(**PHONE, **options).new_page()
        finally:
            browser.close()


def draw_signature(page):
    "Draw a signature with the mouse on the canvas of page."
    canvas = page.locator('#signature-canvas')
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box['x'], box['y'] + box['height'] / 2
    page.mouse.move(x + 20, y)
    page.mouse.down()
    for step in range(1, 40):
        page.mouse.move(
            x + 20 + step * 7,
            y + (25 if step % 8 < 4 else -25), steps=2)
    page.mouse.up()
    return box


def sign_and_accept(page, name):
    """On a customer page: type name, draw the signature, tick the terms
    and accept; return the text of the page that answers."""
    page.fill('#signer-name', name)
    draw_signature(page)
    page.check('input[name="terms"]')
    with page.expect_navigation():
        page.click('button.accept')
    return page.inner_text('main')


def refuse_foreign(context, refused):
    """Refuse the requests of the Playwright browser context that leave the
    machine (FOREIGN_URL) and append their URLs to the list refused.  The
    regex is matched in the browser: the requests to the test server never
    pass through Python (a round trip through Playwright's driver each)."""
    def refuse(route):
        refused.append(route.request.url)
        route.abort('blockedbyclient')
    context.route(FOREIGN_URL, refuse)


def browser_missing():
    """Why no browser test can run here (no Playwright, no Chromium, or
    BROWSER_TESTS=0: `make test` runs them in one backend's run, see the
    Makefile's BROWSER_BACKENDS), or None."""
    if os.environ.get('BROWSER_TESTS', '1') == '0':
        return ("the browser tests run with the other backend "
            "(BROWSER_TESTS=0, see BROWSER_BACKENDS in the Makefile)")
    if sync_playwright is None:
        return "Playwright is not installed (pip install playwright)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def skip_reason():
    "Why the sao tests cannot run here, or None."
    if browser_missing():
        return browser_missing()
    if os.environ.get('SAO_ROOT'):
        # `make test` asked for sao: its absence is an error, not a skip.
        return None
    if sao_root() is None:
        return "sao is missing (make sao)"
    return None


def html_config(root=None):
    """The [html] section `make sao` wrote beside sao (var/sao/html.conf:
    `src = /tinymce/tinymce.min.js`, TinyMCE served from sao's folder), so
    that the rich-text editor of trytond's /<db>/ir/html/... route never
    loads from a CDN; nothing if it is missing.  root: sao's folder, by
    default sao_root()."""
    root = root or sao_root()
    conf = Path(root).parent / 'html.conf' if root else None
    if conf and conf.is_file():
        return conf.read_text(encoding='utf-8').splitlines()
    return []


def tinymce_src(root=None):
    "The [html] src of the servers: TinyMCE's path under sao's folder"
    config = configparser.ConfigParser()
    config.read_string('\n'.join(html_config(root)))
    return config.get('html', 'src', fallback=None)


def tinymce_missing():
    "Why sao with its TinyMCE cannot be served here (None when it can)"
    root = sao_root()
    if root is None:
        return "sao is not installed (make sao)"
    src = tinymce_src(root)
    if not src or not (root / src.lstrip('/')).is_file():
        return f"TinyMCE is not installed under {root} (make sao)"
    return None


@unittest.skipIf(skip_reason(), skip_reason() or '')
class SaoTestCase(unittest.TestCase):
    "Drive the real sao web client as the admin user (see module docstring)"

    #: modules activated in the test database (the demo's set)
    modules = ['buero365_offers', 'sale_opportunity']
    #: the admin's language: sao shows what German staff see
    language = 'de'
    #: Chromium window size in CSS pixels
    viewport = {'width': 1440, 'height': 900}
    #: seconds to wait for sao before a step fails
    timeout = 30
    #: extra lines for the server's trytond.conf, e.g. ['[html]', 'src = …']
    server_config = []
    #: JavaScript functions run once sao is logged in (and after a reload)
    init_scripts = []
    #: the demo's data in the database, as `make demo` loads it
    #: (scripts/demo_data.py's set-up without the bulk offers, then
    #: scripts/demo_setup.py, public URL DEMO_URL); setUpData finds
    #: demo_data.setup()'s records (company, products, lead_sources...)
    #: in cls.demo_info.  One base for every demo class: what a class
    #: needs more (demo_data.generate_offers...) its setUpData adds.
    demo = False

    # --- class set-up ---------------------------------------------------

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.problems = []
        cls.foreign_requests = []
        cls._closers = []
        try:
            steps = [time.monotonic()]
            cls._restore_base()
            steps.append(time.monotonic())
            run_committed(cls._set_up_database)
            run_committed(cls._set_up_data, user=0)
            steps.append(time.monotonic())
            cls._start_server()
            steps.append(time.monotonic())
            cls._start_browser()
            cls.login()
            steps.append(time.monotonic())
            logger.info("%s set up: base %.1f s, data %.1f s, server %.1f s,"
                " browser and login %.1f s", cls.__name__,
                *(b - a for a, b in zip(steps, steps[1:])))
        except BaseException:
            cls.save_failure('setUpClass')
            cls.tearDownClass()
            raise

    @classmethod
    def base_name(cls):
        """The name of the class's base database in trytond's DB_CACHE:
        the modules, the language and, with demo, the demo's offers, the
        day (the demo's dates are around today) and a digest of the demo
        scripts (a changed script, a new base)."""
        name = '-'.join(cls.modules) + f'--sao-{cls.language}'
        if cls.demo:
            digest = hashlib.sha1(b''.join(
                    (SCRIPTS / f'{n}.py').read_bytes()
                    for n in DEMO_SCRIPTS)).hexdigest()[:12]
            name += (f'-demo-{dt.date.today()}'
                f'-{digest}')
        return name

    @classmethod
    def _restore_base(cls):
        """The base database of the class: a copy of the one kept in
        DB_CACHE for the same base_name() (as trytond's activate_module
        keeps the activated modules), else made and kept: the modules,
        the translations of the language, the admin's password and
        language, the set-up wizards done and with demo the demo's data.
        Loading the translations alone takes longer than the copy."""
        drop_db()
        name = cls.base_name()
        if restore_db_cache(name):
            return
        activate_module(list(cls.modules))
        run_committed(cls._set_up_base)
        if cls.demo:
            run_committed(lambda: cls._as_admin(cls._load_demo), user=0)
        backup_db_cache(name)

    @classmethod
    def _set_up_base(cls):
        pool = Pool()
        User = pool.get('res.user')
        lang = load_language(cls.language)
        admin, = User.search([('login', '=', 'admin')])
        User.write([admin], {'password': PASSWORD, 'language': lang.id})
        # The set-up wizards of a first login: done, as in the demo.
        Item = pool.get('ir.module.config_wizard.item')
        Item.write(Item.search([]), {'state': 'done'})

    @classmethod
    def _load_demo(cls):
        "What `make demo` loads: demo_data.py's set-up, demo_setup.py"
        load_script('demo_data').setup()
        load_script('demo_setup').setup(Pool(), DEMO_URL)

    @classmethod
    def _set_up_database(cls):
        cls.setUpDatabase()

    @classmethod
    def _set_up_data(cls):
        if cls.demo:
            # What the demo made (it exists: only read again).
            cls.demo_info = cls._as_admin(load_script('demo_data').setup)
        cls._as_admin(cls.setUpData)

    @staticmethod
    def _as_admin(func):
        "Run func as the admin user with the admin's preferences."
        pool = Pool()
        User = pool.get('res.user')
        admin, = User.search([('login', '=', 'admin')])
        transaction = Transaction()
        with transaction.set_user(admin.id):
            context = User.get_preferences(context_only=True)
        with transaction.set_user(admin.id), transaction.set_context(context):
            return func()

    @classmethod
    def setUpDatabase(cls):
        """Override: set up the database (committed, as user 1 without
        a context) before setUpData, e.g. configuration."""

    @classmethod
    def setUpData(cls):
        """Override: create the records the tests need (committed, as the
        admin user with the admin's preferences as context)."""

    @classmethod
    def _start_server(cls):
        root = sao_root()
        if root is None:
            raise RuntimeError(
                f"sao is missing at {os.environ.get('SAO_ROOT')}: make sao")
        server = TrytondServer('sao', web_root=root,
            config=[*html_config(root), '', *cls.server_config])
        cls._closers.append(server.stop)
        server.start()
        cls.server = server
        cls.directory, cls.inbox = server.directory, server.inbox
        cls.database, cls.port, cls.base = (
            server.database, server.port, server.base)

    @classmethod
    def _start_browser(cls):
        playwright = sync_playwright().start()
        cls._closers.append(playwright.stop)
        cls.playwright = playwright
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, '--lang=de-DE'],
            headless=True)
        cls._closers.append(browser.close)
        cls.browser = browser
        cls.context = browser.new_context(
            viewport=cls.viewport, locale='de-DE',
            timezone_id='Europe/Berlin', accept_downloads=True)
        cls.context.set_default_timeout(cls.timeout * 1000)
        refuse_foreign(cls.context, cls.foreign_requests)
        page = cls.context.new_page()
        page.on('pageerror', lambda error: cls.problems.append(
                f"pageerror: {error}\n{getattr(error, 'stack', '')}"))
        page.on('console', cls._console)
        page.on('dialog', cls._dialog)
        # SAO_CPU_THROTTLE=N runs the client N times slower (Chromium's
        # CPU throttling), as on a busy CI machine: to reproduce a test
        # that acts before sao has finished.
        throttle = float(os.environ.get('SAO_CPU_THROTTLE') or 1)
        if throttle > 1:
            cls.context.new_cdp_session(page).send(
                'Emulation.setCPUThrottlingRate', {'rate': throttle})
        cls.page = page

    @classmethod
    def _dialog(cls, dialog):
        if dialog.type == 'beforeunload':
            # sao asks before leaving a tab with changes: a reload leaves.
            dialog.accept()
        else:
            cls.problems.append(f"browser {dialog.type}: {dialog.message}")
            dialog.dismiss()

    @classmethod
    def _console(cls, message):
        if message.type == 'error':
            text = message.text
            # The refused foreign requests are reported on their own; sao
            # saves the list state while the harness reloads the page.
            if ('ERR_BLOCKED_BY_CLIENT' in text
                    or 'Synchronous XHR in page dismissal' in text):
                return
            # sao looks for optional files at start: custom.js, custom.css
            # and the locale of the country (de_DE.json, then de.json).
            url = (message.location or {}).get('url', '')
            if 'Failed to load resource' in text and re.search(
                    r'/(custom\.(js|css)|locale/\w+\.json)$', url):
                return
            cls.problems.append(f"console: {text} {message.location}")

    @classmethod
    def tearDownClass(cls):
        for close in reversed(getattr(cls, '_closers', [])):
            try:
                close()
            except Exception:
                pass
        cls._closers = []
        drop_db()
        super().tearDownClass()

    @classmethod
    def save_failure(cls, name):
        """Keep a screenshot and the page's HTML of a failure in
        $SAO_FAILURES (if set) for a person to look at."""
        folder = os.environ.get('SAO_FAILURES')
        page = getattr(cls, 'page', None)
        if not folder or page is None:
            return
        os.makedirs(folder, exist_ok=True)
        try:
            page.screenshot(path=os.path.join(folder, f'{name}.png'))
            with open(os.path.join(folder, f'{name}.html'), 'w') as file:
                file.write(page.content())
            with open(os.path.join(folder, f'{name}.log'), 'w') as file:
                file.write(cls.server_log(100000))
        except Exception:
            pass

    @classmethod
    def server_log(cls, size=4000):
        "The end of the server's log (for failure messages)."
        server = getattr(cls, 'server', None)
        return server.log(size) if server else ''

    # --- per test ---------------------------------------------------------

    def setUp(self):
        super().setUp()
        self.problems.clear()
        self.foreign_requests.clear()

    def tearDown(self):
        try:
            self.assertClientOk()
        finally:
            self.close_all_tabs()
            self.problems.clear()
            self.foreign_requests.clear()
        super().tearDown()

    # --- logging in -----------------------------------------------------

    @classmethod
    def login(cls, login='admin', password=PASSWORD):
        """Log in through sao's login dialog and wait until the menu is
        there."""
        page = cls.page
        page.goto(f'{cls.base}/#{cls.database}')
        page.evaluate(TRACK_ACTIVITY)
        dialog = page.locator('.login-dialog')
        # sao reads the database from its field, filled only when the
        # database list has come back: Enter before that does nothing.
        page.wait_for_function('''() => Array.from(
            document.querySelectorAll('.login-dialog [name="database"]'))
            .some(field => field.offsetParent !== null && field.value)''')
        dialog.locator('#login').fill(login)
        dialog.locator('#login').press('Enter')
        password_input = page.locator(
            '.modal.in input[type="password"]')
        password_input.fill(password)
        password_input.press('Enter')
        page.locator('#menu tbody tr').first.wait_for()
        cls.wait_idle_cls()
        for script in cls.init_scripts:
            page.evaluate(script)

    # --- waiting and checking -----------------------------------------

    @classmethod
    def wait_idle_cls(cls, timeout=None):
        """Wait until sao has no request running and shows no
        "Processing" message; fail (with what went wrong) if it stays
        busy longer than timeout seconds."""
        page = cls.page
        timeout = cls.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        quiet_since = None
        while True:
            busy, still = page.evaluate('''() => [
                (window.jQuery ? jQuery.active : 0)
                + ((window.Sao && Sao.common.processing) ?
                    Sao.common.processing.queries : 0)
                + (window.jQuery ? jQuery('#processing:visible').length : 0)
                + (window.__saoTimers ? window.__saoTimers.size : 0),
                window.__saoActivity === undefined ? 0
                : (performance.now() - window.__saoActivity) / 1000]''')
            now = time.monotonic()
            if not busy:
                quiet_since = quiet_since or now
                # Some views start a second request after the first:
                # quiet for QUIET seconds, here or in the page (no input,
                # no request, no change of the page since: a second
                # wait_idle after one costs nothing).
                if now - quiet_since >= QUIET or still >= QUIET:
                    return
            else:
                quiet_since = None
            if now > deadline:
                raise AssertionError(
                    f"sao still busy (Processing) after {timeout} s; "
                    f"problems: {list(cls.problems)}\n{cls.server_log()}")
            time.sleep(0.05)

    def page_of(self, name):
        "Click the page name of the offer form's notebook."
        self.tab().locator('.form-notebook > .nav-tabs a').filter(
            has_text=re.compile(rf'^\s*{name}\s*$')).first.click()
        self.wait_idle()

    def one2many(self, title=None):
        "The visible One2Many list of the form (with that title)."
        lists = self.tab().locator('.form-one2many:visible')
        if title:
            lists = lists.filter(has_text=title)
        return lists.first

    def show_all_rows(self, scope):
        """Click the "More" row of the list in scope until sao lists all
        its records (a list inside a form may first show "More" only)."""
        more = scope.locator('.treeview tr.more-row button:visible')
        for _ in range(20):
            if not more.count():
                break
            try:
                more.first.click(timeout=2000)
            except PlaywrightError:
                pass  # sao drew the list again meanwhile
            self.wait_idle()

    def wait_idle(self, timeout=None):
        "Wait until sao is idle (see wait_idle_cls)."
        self.wait_idle_cls(timeout)

    def error_dialogs(self, close=True):
        """The texts of sao's open error and warning dialogs
        (.error-dialog.in, a UserError shown as a message); recorded as
        problems and closed when close."""
        texts = []
        # sao shows a UserError or a ValidationError as a warning dialog,
        # a UserWarning as a question (closed with its first button, No).
        for dialog in self.page.locator(
                '.modal.in.error-dialog, .modal.in.warning-dialog, '
                '.modal.in.user-warning-dialog').all():
            texts.append(dialog.inner_text())
            if close:
                buttons = dialog.locator('.modal-footer button')
                button = (buttons.first if 'user-warning-dialog' in (
                        dialog.get_attribute('class') or '')
                    else buttons.last)
                if button.count():
                    button.click()
        return texts

    def client_problems(self):
        """Everything that went wrong in the browser since the last check:
        page errors, console errors, error dialogs, refused foreign
        requests, a "Processing" message on screen.  Clears the record."""
        problems = list(self.problems)
        problems += [f"error dialog: {t}" for t in self.error_dialogs()]
        problems += [f"request leaving 127.0.0.1: {u}"
            for u in self.foreign_requests]
        if self.page.locator('#processing:visible').count():
            problems.append("'Processing' still shown")
        self.problems.clear()
        self.foreign_requests.clear()
        return problems

    def assertClientOk(self, msg=''):
        "Fail on any client problem since the last check (see above)."
        problems = self.client_problems()
        if problems:
            self.fail('\n'.join(
                    ([msg] if msg else []) + problems
                    + ['--- server log:', self.server_log(1500)]))

    # --- navigating -------------------------------------------------------

    def open_menu(self, *path):
        """Open the menu entry at path (its translated names, e.g.
        "Angebote", "Einstellungen", "Lead-Quellen") as a user does:
        expand each folder, then click the entry; wait until idle."""
        page = self.page
        rows = page.locator('#menu tbody tr')
        index = -1
        for depth, name in enumerate(path):
            last = depth == len(path) - 1
            # A folder's children follow it: the first row after the
            # parent's with the name is the child.
            deadline = time.monotonic() + self.timeout
            while True:
                index = page.evaluate('''([after, name]) => {
                    const rows = document.querySelectorAll(
                        '#menu tbody tr');
                    for (let i = after + 1; i < rows.length; i++) {
                        const cell = rows[i].querySelector('.column-char');
                        if (cell && cell.textContent.trim() == name
                                && rows[i].offsetParent !== null) {
                            return i;
                        }
                    }
                    return -1; }''', [index, name])
                if index >= 0:
                    break
                if time.monotonic() > deadline:
                    self.fail(f"no menu {' / '.join(path[:depth + 1])}; "
                        f"menu: {rows.all_inner_texts()}")
                time.sleep(0.1)
            row = rows.nth(index)
            if not last:
                expander = row.locator('.expander img')
                if not self._menu_expanded(index):
                    expander.click()
                    self.wait_idle()
            else:
                row.locator('.column-char').click()
        self.wait_idle()

    def _menu_expanded(self, index):
        "Whether the menu row at index is followed by its children."
        return self.page.evaluate('''(i) => {
            const rows = document.querySelectorAll('#menu tbody tr');
            const margin = r => parseFloat(
                (r.querySelector('.expander img') || {style: {}})
                .style.marginLeft || '0');
            return (i + 1 < rows.length
                && rows[i + 1].offsetParent !== null
                && margin(rows[i + 1]) > margin(rows[i])); }''', index)

    def run_js(self, script, *args):
        "Evaluate a JavaScript function in the page, wait until idle."
        result = self.page.evaluate(script, *args)
        self.wait_idle()
        return result

    def open_action(self, action_id, data=None):
        """Run the action (any ir.action id) as sao does from a menu or a
        toolbar, e.g. with data={'model': m, 'id': i, 'ids': [i]}."""
        return self.run_js('''([id, data]) => { Sao.Action.execute(
                id, data || {}, Sao.Session.current_session.context); }''',
            [action_id, data])

    def open_view(self, model, view_id, view_type, res_id=None,
            name=None, context=None, domain=None):
        """Open one view in a tab of its own: a list, graph, calendar or
        form view, the form on res_id or on a new record."""
        return self.run_js('''([a]) => { Sao.Tab.create(a); }''', [{
                    'model': model, 'view_ids': [view_id],
                    'mode': [view_type], 'res_id': res_id,
                    'name': name or model, 'context': context or {},
                    'domain': domain or [],
                    }])

    def labels_apart(self, scope=None):
        """The visible form labels of scope (the active tab) that are not
        beside their value: their field is on another row, or left of
        them.  A German form reads label, then value, on one line."""
        scope = scope or self.tab()
        return scope.evaluate('''(root) => {
            const visible = e => e && e.offsetParent !== null;
            const apart = [];
            for (const label of root.querySelectorAll('label.form-label')) {
                const field = label.htmlFor
                    && document.getElementById(label.htmlFor);
                if (!visible(label) || !visible(field)) { continue; }
                const l = label.getBoundingClientRect();
                const f = field.getBoundingClientRect();
                const middle = (l.top + l.bottom) / 2;
                if (middle < f.top - 4 || middle > f.bottom + 4
                        || l.left > f.left) {
                    apart.push(label.textContent.trim());
                }
            }
            return apart; }''')

    def tab(self):
        "The locator of the active tab's content."
        return self.page.locator('#tabcontent > .tab-pane.active')

    def tab_title(self):
        "The title of the active tab."
        return self.page.locator('#tablist li.active a').inner_text()

    def dialog(self):
        "The topmost open modal dialog (a wizard, a One2Many form...)."
        return self.page.locator('.modal.in').last

    def domain_tabs(self):
        "The names of the active list's domain tabs (Open, All...)."
        return [t.strip() for t in self.tab().locator(
                '.nav-tabs li a').all_inner_texts()]

    def open_domain_tab(self, name):
        "Click a domain tab of the active list by its label."
        self.tab().locator('.nav-tabs li a').filter(
            has_text=name).first.click()
        self.wait_idle()

    def list_rows(self, scope=None):
        "The data rows of the list shown in scope (the active tab)."
        scope = scope or self.tab()
        return scope.locator('.treeview tbody tr:not(.more-row)').filter(
            has=self.page.locator('td'))

    def open_record(self, text, scope=None):
        """Open the record of the list whose cell shows text, by a double
        click on the cell's text (as a user does); wait until idle."""
        scope = scope or self.tab()
        cell = scope.locator('.treeview tbody td').filter(
            has_text=text).first
        cell.get_by_text(text).first.dblclick()
        self.wait_idle()

    def open_first_record(self, scope=None):
        "Open the first record of the list in scope by a double click."
        scope = scope or self.tab()
        cell = scope.locator('.treeview tbody tr').first.locator(
            'td:visible .cell:not(:has(a))').filter(has_text=_NON_EMPTY).first
        cell.dblclick()
        self.wait_idle()

    def toolbar(self, name):
        """Click a button of the active tab's toolbar by its id (sao's
        names: 'switch_', 'previous', 'next', 'new_', 'save', 'reload',
        'copy', 'delete_', 'attach', 'note', 'action', 'relate', 'print',
        'email') or its title; wait until idle."""
        tab = self.tab()
        button = tab.locator(
            f'.toolbar button#{name}, .toolbar button[title="{name}"]'
            ).locator('visible=true').first
        button.click()
        self.wait_idle()

    def close_tab(self):
        "Close the active tab (answering No to a save question)."
        close = self.page.locator('#tablist li.active .close')
        if close.count():
            tabs = self._tab_count()
            close.click()
            self._answer_unsaved(tabs)
            self.wait_idle()

    def close_all_tabs(self):
        """Close every tab and dialog, discarding changes; reload sao if
        it does not answer (after a broken step)."""
        try:
            for _ in range(50):
                self.close_dialogs()
                close = self.page.locator('#tablist li .close')
                if not close.count():
                    break
                tabs = self._tab_count()
                close.first.click(timeout=5000)
                self._answer_unsaved(tabs)
                self.wait_idle(10)
        except (AssertionError, PlaywrightError):
            self.reload_client()

    def close_dialogs(self):
        """Close the open dialogs as a user would, without saving: No /
        Discard, else Close, else Cancel, else Back (a wizard), else
        Escape."""
        for _ in range(5):
            modal = self.page.locator('.modal.in').last
            if not modal.count():
                return
            buttons = modal.locator('.modal-footer button')
            for words in [r'Nein|verwerfen|No|Discard', r'Schließen|Close',
                    r'Abbrechen|Cancel', r'Zurück|Back']:
                button = buttons.filter(has_text=re.compile(
                        rf'\b({words})\b', re.I))
                if button.count():
                    button.first.click(timeout=5000)
                    break
            else:
                self.page.keyboard.press('Escape')
            self.wait_idle(10)

    def reload_client(self):
        """Reload sao (the session stays), e.g. after a step that left it
        broken; the init_scripts run again."""
        logger.info("reloading sao")
        known = len(self.problems)
        self.page.reload(wait_until='domcontentloaded')
        self.page.evaluate(TRACK_ACTIVITY)
        self.page.locator('#menu tbody tr').first.wait_for()
        self.wait_idle()
        # What sao logs while it is unloaded and loaded again.
        del self.problems[known:]
        for script in self.init_scripts:
            self.page.evaluate(script)

    def _answer_unsaved(self, tabs):
        """Answer sao's question whether to save the changes with No:
        wait until the tab is gone (fewer than tabs) or sao asks (at most
        2 s, no fixed sleep), then close the dialogs."""
        try:
            self.page.wait_for_function('''(tabs) => (
                document.querySelectorAll('#tablist li').length < tabs
                || document.querySelector('.modal.in'))''',
                arg=tabs, timeout=2000)
        except PlaywrightError:
            pass
        self.close_dialogs()

    def _tab_count(self):
        "How many tabs sao shows."
        return self.page.locator('#tablist li').count()

    # --- filling in forms -------------------------------------------------

    def wait_until(self, script, arg=None, timeout=None):
        """Wait until the JavaScript function script(arg) returns a true
        value, then until sao is idle; fail with what the client shows
        (an error or warning dialog) when it does not come."""
        try:
            self.page.wait_for_function(
                script, arg=arg, timeout=(timeout or self.timeout) * 1000)
        except PlaywrightError as error:
            self.fail(f"{error}\n" + '\n'.join(self.client_problems()))
        self.wait_idle()

    def new_record(self):
        """Click New in the active tab's toolbar and wait for the form of
        the new record (sao asks the server for its defaults after the
        view is drawn)."""
        self.tab().locator('button#new_').click()
        self.wait_until('''() => {
            const tab = Sao.Tab.tabs.get_current();
            const record = tab && tab.screen && tab.screen.current_record;
            return (record && record.id < 0
                && tab.screen.current_view.view_type == 'form'); }''')

    def save_record(self):
        """Click Save in the active tab's toolbar and wait until the
        record is stored; fail with sao's message if it is refused."""
        self.tab().locator('button#save').click()
        self.wait_until('''() => {
            const record = Sao.Tab.tabs.get_current().screen.current_record;
            return ((record && record.id >= 0 && !record.modified)
                || jQuery('.modal.in.warning-dialog').length); }''')
        self.assertClientOk("saving the record")

    def set_number(self, scope, name, value):
        """Type value ('3', '95.5') into the numeric field name in scope
        as a user does: sao shows a formatted text input and swaps in a
        number input when it gets the focus."""
        scope.locator(
            f'input[name="{name}"][type="text"]:visible').first.click()
        number = scope.locator(
            f'input[name="{name}"][type="number"]:visible').first
        number.fill(str(value))
        number.press('Tab')
        self.wait_idle()

    def set_many2one(self, scope, name, text, create=False):
        """Type text into the Many2One field name in scope and choose the
        first match of the completion, or with create its "Create..."
        entry (which opens the new record's form in a dialog)."""
        entry = scope.locator(f'input[name="{name}"]:visible').first
        entry.fill('')
        entry.press_sequentially(text, delay=20)
        menu = self.page.locator('.dropdown-completion:visible')
        choice = (menu.locator('.action-create a') if create
            else menu.locator('li.completion a'))
        choice.first.click()
        self.wait_idle()

    def list_column(self, field):
        """The texts of the column of field (a field name, so independent
        of the translation) in the active tab's list, one per row; None
        when the column is not shown."""
        return self.page.evaluate('''(field) => {
            const view = Sao.Tab.tabs.get_current().screen.current_view;
            const column = view.columns.find(
                c => c.attributes.name == field);
            if (!column || !column.header
                    || !column.header.is(':visible')) {
                return null;
            }
            const index = column.header[0].cellIndex;
            return Array.from(view.tbody[0].rows)
                .filter(r => r.cells.length > index
                    && !r.classList.contains('more-row'))
                .map(r => r.cells[index].innerText.trim()); }''', field)

    def sort_by(self, field):
        """Click the header of the active list's column for field, as a
        user does to sort (again: the other way round)."""
        header = self.page.evaluate_handle('''(field) => {
            const view = Sao.Tab.tabs.get_current().screen.current_view;
            return view.columns.find(c => c.attributes.name == field)
                .header.find('label')[0]; }''', field)
        header.as_element().click()
        self.wait_idle()

    def open_popup(self, click):
        """Run click() (e.g. a link's click) and return the browser tab it
        opens, loaded, with its page errors recorded as the client's."""
        with self.context.expect_page() as info:
            click()
        popup = info.value
        popup.on('pageerror', lambda error: self.problems.append(
                f"pageerror in {popup.url}: {error}"))
        popup.on('console', self._console)
        popup.wait_for_load_state()
        return popup

    # --- evidence ---------------------------------------------------------

    def screenshot(self, name, locator=None):
        """Save the window (or the locator's element) as
        SCREENSHOTS/NAME.png (doc/screenshots for the user manual with
        make screenshots); return the path."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f'{name}.png'
        (locator or self.page).screenshot(path=str(path))
        return path

    # --- the server's data ----------------------------------------------

    @classmethod
    def rpc(cls, method, *params, context=None):
        """Call the server's JSON-RPC as admin, e.g.
        rpc('model.buero365.offer.search_read', [('state', '=', 'open')],
        0, None, None, ['number'])"""
        session = getattr(cls, '_rpc_session', None)
        if session is None:
            login = cls._post('common.db.login',
                ['admin', {'password': PASSWORD}, cls.language], None)
            user_id, key = login[0], login[1]
            cls._rpc_session = session = base64.b64encode(
                f'admin:{user_id}:{key}'.encode()).decode()
            cls._rpc_context = cls._post(
                'model.res.user.get_preferences', [True, {}], session)
        ctx = dict(cls._rpc_context)
        ctx.update(context or {})
        return cls._post(method, [*params, ctx], session)

    @classmethod
    def _post(cls, method, params, session):
        request = urllib.request.Request(
            f'{cls.base}/{cls.database}/rpc/',
            data=json.dumps({'id': 1, 'method': method, 'params': params},
                cls=JSONEncoder).encode(),
            headers={'Content-Type': 'application/json'})
        if session:
            request.add_header('Authorization', f'Session {session}')
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(
                    response.read(), object_hook=JSONDecoder())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method}: HTTP {error.code} "
                f"{error.read()[:500]!r}") from error
        if answer.get('error'):
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer['result']


_NON_EMPTY = re.compile(r'\S')
