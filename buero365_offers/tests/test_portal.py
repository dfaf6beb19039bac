# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The customer portal over HTTP: login, logout, password reset, the
invitation by the staff, and who may see what (the access matrix)."""
import base64
import re
import statistics
import time
from decimal import Decimal
from urllib.parse import urlsplit

import lxml.html

import trytond.config as config
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction
from trytond.worker import run_task

from .smtp import smtp_server
from .tools import (
    PUBLIC_URL,
    CustomerRouteTestCase,
    company,
    data_url,
    form_fields,
    hidden_fields,
    new_offer,
    run_committed,
    run_queue,
    send_by_email,
    signature_png,
)

PASSWORD = "Umzugskarton-2025!"


def offer_numbers(page):
    return set(re.findall(r'AN-\d{4}-\d+', page))


class PortalTestCase(CustomerRouteTestCase):
    "Test the customer portal"

    @classmethod
    def setUpData(cls):
        cls.offers = {}
        for name, kwargs in [
                ('open', {}),
                ('accepted', {}),
                ('rejected', {}),
                ('expired', {'valid_days': -2}),
                ('draft', {'send': False}),
                ('other', {'email': 'other@example.de'}),
                ('secondary', {}),
                ]:
            cls.offers[name] = new_offer(**kwargs)

        def prepare():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            WebUser = pool.get('web.user')
            Session = pool.get('ir.session')
            User = pool.get('res.user')
            offers = {k: Offer(v[0]) for k, v in cls.offers.items()}
            owner = offers['open'].party
            # One customer: these offers are all theirs.
            Offer.write([offers[n] for n in [
                        'accepted', 'rejected', 'expired', 'draft']],
                {'party': owner.id})
            Offer.accept([offers['accepted']])
            Offer.reject([offers['rejected']])
            Offer.expire_due()
            WebUser.create([{
                        'email': 'owner@example.de',
                        'password': PASSWORD,
                        'party': owner.id,
                        'secondary_parties': [
                            ('add', [offers['secondary'].party.id])],
                        }, {
                        'email': 'other@example.de',
                        'password': PASSWORD,
                        'party': offers['other'].party.id,
                        }])
            admin, = User.search([('login', '=', 'admin')])
            key = Session.new()
            return {k: (o.id, o.number, o.customer_url)
                for k, o in offers.items()}, (admin.login, admin.id, key)
        cls.data, cls.staff = run_committed(prepare)

    def id_(self, name):
        return self.data[name][0]

    def number(self, name):
        return self.data[name][1]

    def path(self, name):
        return urlsplit(self.data[name][2]).path

    @property
    def base(self):
        return f'/{DB_NAME}/portal'

    def login(self, client, email='owner@example.de', password=PASSWORD,
            status=303):
        page = client.get(f'{self.base}/login').get_data(as_text=True)
        action, fields = hidden_fields(page)
        fields.update(email=email, password=password)
        response = client.post(action, data=fields)
        self.assertEqual(
            response.status_code, status, response.get_data(as_text=True))
        return response

    def owners_offer(self):
        """A new offer of the portal user's party, sent to them; return its
        id, number and customer page path."""
        offer_id, _ = new_offer(send=False, email='owner@example.de')

        def give_to_owner():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Offer.write([Offer(offer_id)], {
                    'party': Offer(self.id_('open')).party.id})
            offer = Offer(offer_id)
            return offer.number, send_by_email(offer)
        return (offer_id, *run_committed(give_to_owner))

    def staff_headers(self):
        login, user_id, key = self.staff
        token = base64.b64encode(
            f'{login}:{user_id}:{key}'.encode()).decode()
        return {'Authorization': f'Session {token}'}

    def test_login_list_logout(self):
        "The customer logs in, sees their offers with status, logs out"
        client = self.client()
        response = client.get(f'{self.base}/offers')
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers['Location'].endswith('/login'))
        response = self.login(client)
        cookie = [h for h in response.headers.getlist('Set-Cookie')
            if h.startswith('buero365_portal=')][0]
        self.assertIn('HttpOnly', cookie)
        self.assertIn('SameSite=Lax', cookie)
        self.assertIn(f'Path=/{DB_NAME}/portal', cookie)

        response = client.get(f'{self.base}/offers')
        self.assertEqual(response.status_code, 200)
        page = response.get_data(as_text=True)
        self.assertEqual(response.headers['Referrer-Policy'], 'same-origin')
        shown = offer_numbers(page)
        for name in ['open', 'accepted', 'rejected', 'expired',
                'secondary']:
            self.assertIn(self.number(name), shown, name)
        self.assertNotIn(self.number('draft'), shown)
        self.assertNotIn(self.number('other'), shown)
        document = lxml.html.fromstring(page)
        badges = {
            re.search(r'AN-\d{4}-\d+', li.text_content()).group(0):
            li.xpath('.//span[contains(@class, "badge")]')[0].get(
                'class').split()[-1]
            for li in document.xpath('//ul[@class="offers"]/li')}
        self.assertEqual(badges[self.number('open')], 'open')
        self.assertEqual(badges[self.number('accepted')], 'accepted')
        self.assertEqual(badges[self.number('rejected')], 'rejected')
        self.assertEqual(badges[self.number('expired')], 'expired')

        # Opening an offer leads to its current customer page.
        response = client.get(f'{self.base}/offers/{self.id_("open")}')
        self.assertEqual(response.status_code, 303)
        self.assertEqual(
            urlsplit(response.headers['Location']).path, self.path('open'))

        action, fields = hidden_fields(page)
        self.assertTrue(action.endswith('/logout'))
        response = client.post(action, data={'csrf': 'forged'})
        self.assertEqual(response.status_code, 403)
        response = client.post(action, data=fields)
        self.assertEqual(response.status_code, 303)
        response = client.get(f'{self.base}/offers')
        self.assertEqual(response.status_code, 303)

    def test_status_follows_answers(self):
        "An offer accepted on its page shows accepted in the portal"
        offer_id, number, path = self.owners_offer()
        client = self.client()
        self.login(client)
        action, fields = form_fields(
            self.client().get(path).get_data(as_text=True), 'accept-form')
        fields.update(name="Erika Mustermann", terms='1',
            signature=data_url(signature_png()))
        page = client.get(f'{self.base}/offers').get_data(as_text=True)
        self.assertIn(number, page)
        self.assertEqual(
            self.client().post(action, data=fields).status_code, 303)
        page = client.get(f'{self.base}/offers').get_data(as_text=True)
        item = [li for li in lxml.html.fromstring(page).xpath(
                '//ul[@class="offers"]/li') if number in li.text_content()]
        self.assertIn("Accepted", item[0].text_content())

    def test_shows_sent_revision(self):
        "Staff edit a sent offer: the portal shows what the customer has"
        offer_id, number, sent = self.owners_offer()

        def edit():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            offer = Offer(offer_id)
            # As the form saves it.
            Offer.write([offer], {
                    'title': "Umzug Köln → Berlin",
                    'lines': [('write', [offer.lines[0].id], {
                                'unit_price': Decimal('60')})],
                    })
        run_committed(edit)
        client = self.client()
        self.login(client)

        def item():
            page = client.get(f'{self.base}/offers').get_data(as_text=True)
            item, = [li for li in lxml.html.fromstring(page).xpath(
                    '//ul[@class="offers"]/li')
                if number in li.text_content()]
            return item.text_content()
        text = item()
        self.assertIn("Umzug Köln → Bonn", text)
        # The gross total of the sent revision (net 90.00 + 19 % VAT).
        self.assertIn("107.10", text)
        self.assertNotIn("Berlin", text)
        self.assertNotIn("142.80", text)
        self.assertIn("Update being prepared", text)
        # Opening it leads to the page of the revision the customer has.
        response = client.get(f'{self.base}/offers/{offer_id}')
        self.assertEqual(urlsplit(response.headers['Location']).path, sent)

        current = run_committed(
            lambda: send_by_email(Pool().get('buero365.offer')(offer_id)))
        text = item()
        self.assertIn("Umzug Köln → Berlin", text)
        self.assertIn("142.80", text)
        self.assertIn("Open", text)
        response = client.get(f'{self.base}/offers/{offer_id}')
        self.assertEqual(
            urlsplit(response.headers['Location']).path, current)

    def many_offers(self, count=45):
        """A customer of their own with count sent offers and a portal
        account (many@example.de); return their numbers, newest first."""
        def prepare():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Party = pool.get('party.party')
            WebUser = pool.get('web.user')
            with set_company(company()):
                party, = Party.create([{'name': "Familie Vielhaber"}])
                copies = Offer.copy(
                    [Offer(self.id_('open'))] * count,
                    default={'party': party.id})
                # Sent, as if staff had emailed each of them.
                table = Offer.__table__()
                Transaction().connection.cursor().execute(*table.update(
                        [table.sent_revision], [1],
                        where=table.id.in_([o.id for o in copies])))
                WebUser.create([{
                            'email': 'many@example.de',
                            'password': PASSWORD,
                            'party': party.id,
                            }])
                return [o.number for o in sorted(
                        Offer.browse(copies), key=lambda o: o.id,
                        reverse=True)]
        return run_committed(prepare)

    def test_pages(self):
        "A customer with many offers pages through them, newest first"
        numbers = self.many_offers(45)
        client = self.client()
        self.login(client, 'many@example.de')

        def page(url, status=200):
            response = client.get(url)
            self.assertEqual(response.status_code, status, url)
            return response.get_data(as_text=True)

        def links(html):
            document = lxml.html.fromstring(html)
            return {a.get('rel'): a.get('href')
                for a in document.xpath('//nav[@class="pager"]/a')}

        first = page(f'{self.base}/offers')
        self.assertEqual(offer_numbers(first), set(numbers[:20]))
        self.assertEqual(re.findall(r'AN-\d{4}-\d+', first), numbers[:20])
        self.assertIn("Page 1", first)
        self.assertEqual(links(first), {'next': f'{self.base}/offers?page=2'})
        # The links work without JavaScript: plain GETs.
        second = page(links(first)['next'])
        self.assertEqual(offer_numbers(second), set(numbers[20:40]))
        self.assertEqual(links(second), {
                'prev': f'{self.base}/offers',
                'next': f'{self.base}/offers?page=3'})
        last = page(links(second)['next'])
        self.assertEqual(offer_numbers(last), set(numbers[40:]))
        self.assertEqual(links(last), {'prev': f'{self.base}/offers?page=2'})
        self.assertEqual(page(links(last)['prev']), second)
        # Nobody else's offers on any page, and theirs nowhere else.
        for html in [first, second, last]:
            for name in self.data:
                self.assertNotIn(self.number(name), html)
        owner = self.client()
        self.login(owner)
        self.assertFalse(offer_numbers(
                owner.get(f'{self.base}/offers').get_data(as_text=True))
            & set(numbers))
        self.assertEqual(owner.get(f'{self.base}/offers?page=2').status_code,
            404)
        # Odd page numbers: a clean "not found", never an error.
        for value in ['4', '0', '-1', 'abc', '2.5', '1e3', '', ' 2',
                '99999999999999999999', '\u0662', '%00']:
            with self.subTest(page=value):
                html = page(f'{self.base}/offers?page={value}', 404)
                self.assertNotIn("Traceback", html)
                self.assertNotIn(numbers[0], html)
        self.assertEqual(page(f'{self.base}/offers?page=1'), first)

    def test_wrong_login(self):
        "A wrong password or a forged form logs nobody in"
        client = self.client()
        response = self.login(client, password="wrong", status=400)
        self.assertIn("Wrong email address or password",
            response.get_data(as_text=True))
        self.assertFalse([h for h in response.headers.getlist('Set-Cookie')
                if h.startswith('buero365_portal=')])
        response = client.post(f'{self.base}/login', data={
                'email': 'owner@example.de', 'password': PASSWORD,
                'csrf': 'forged'})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            client.get(f'{self.base}/offers').status_code, 303)

    def test_password_reset(self):
        "A reset link by email sets a new password and logs in"
        client = self.client()
        page = client.get(f'{self.base}/reset').get_data(as_text=True)
        action, fields = hidden_fields(page)
        with smtp_server() as inbox:
            response = client.post(action, data=dict(
                    fields, email='nobody@example.de'))
            self.assertEqual(response.status_code, 200)
            unknown = response.get_data(as_text=True)
            response = client.post(action, data=dict(
                    fields, email='Other@Example.de'))
            known = response.get_data(as_text=True)
        self.assertIn("Check your inbox", unknown)
        self.assertEqual(
            re.sub(r'value="[^"]*"', '', unknown),
            re.sub(r'value="[^"]*"', '', known))
        message, = inbox.messages
        self.assertEqual(message['To'], 'other@example.de')
        html = message.get_body(preferencelist=('html',)).get_content()
        url = re.search(r'href="([^"]+/portal/password[^"]+)"', html).group(1)
        url = url.replace('&amp;', '&')
        parts = urlsplit(url)
        link = f'{parts.path}?{parts.query}'

        page = client.get(link).get_data(as_text=True)
        action, fields = hidden_fields(page)
        self.assertEqual(fields['email'], 'other@example.de')
        for password, password2, message in [
                ("Neu-Passwort-1", "Neu-Passwort-2", "not the same"),
                ("kurz", "kurz", "at least 8"),
                ]:
            response = client.post(action, data=dict(
                    fields, password=password, password2=password2))
            self.assertEqual(response.status_code, 400)
            self.assertIn(message, response.get_data(as_text=True))
        response = client.post(action, data=dict(
                fields, password="Neu-Passwort-1", password2="Neu-Passwort-1"))
        self.assertEqual(response.status_code, 303)
        self.assertEqual(client.get(f'{self.base}/offers').status_code, 200)
        # The link is used up.
        other = self.client()
        action, fields = hidden_fields(
            other.get(link).get_data(as_text=True))
        response = other.post(action, data=dict(
                fields, password="Noch-ein-Passwort", password2=(
                    "Noch-ein-Passwort")))
        self.assertEqual(response.status_code, 400)
        self.assertIn("invalid or has expired", response.get_data(
                as_text=True))
        self.login(self.client(), 'other@example.de', "Neu-Passwort-1")

    def test_reset_link_ignores_the_request_host(self):
        "A reset asked for with a forged Host links to the server, not there"
        from trytond.url import HOSTNAME

        def set_public_url(url):
            Configuration = Pool().get('buero365.offer.configuration')
            configuration = Configuration(1)
            configuration.public_url = url
            configuration.save()
        # Without a Public URL trytond would take the request's Host.
        run_committed(lambda: set_public_url(None))
        self.addCleanup(run_committed, lambda: set_public_url(PUBLIC_URL))
        client = self.client()
        # The attacker's own requests, all with their Host.
        forged = {'Host': 'angreifer.example'}
        page = client.get(f'{self.base}/reset', headers=forged).get_data(
            as_text=True)
        action, fields = hidden_fields(page)
        with smtp_server() as inbox:
            response = client.post(action, data=dict(
                    fields, email='Other@Example.de'), headers=forged)
            self.assertEqual(response.status_code, 200)
        message, = inbox.messages
        html = message.get_body(preferencelist=('html',)).get_content()
        url = re.search(r'href="([^"]+/portal/password[^"]+)"', html).group(1)
        self.assertNotIn('angreifer', url)
        self.assertEqual(urlsplit(url).hostname, HOSTNAME.lower())

    def test_invite_to_portal(self):
        "Staff invite a customer; the email's link opens their offers"
        offer_id, path = new_offer(email='neukunde@example.de')

        def invite():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            WebUser = pool.get('web.user')
            with set_company(company()), smtp_server() as inbox:
                Offer.invite_portal([Offer(offer_id)])
                run_queue()
                user, = WebUser.search([
                        ('email', '=', 'neukunde@example.de')])
                self.assertEqual(user.party, Offer(offer_id).party)
                Transaction().commit()
            message, = inbox.messages
            return message
        message = run_committed(invite)
        self.assertEqual(message['To'], 'neukunde@example.de')
        # Archived and tracked with the offer, like every customer email.
        mails = run_committed(lambda: [(m.purpose, m.state) for m in
                Pool().get('buero365.offer')(offer_id).mails])
        self.assertIn(('portal_invite', 'sent'), mails)
        html = message.get_body(preferencelist=('html',)).get_content()
        self.assertIn("Büro 365 Umzüge GmbH", html)
        url = re.search(r'href="([^"]+/portal/password[^"]+)"', html).group(1)
        parts = urlsplit(url.replace('&amp;', '&'))
        self.assertEqual(parts.netloc, 'angebote.example.de')
        client = self.client()
        page = client.get(f'{parts.path}?{parts.query}').get_data(
            as_text=True)
        action, fields = hidden_fields(page)
        response = client.post(action, data=dict(
                fields, password=PASSWORD, password2=PASSWORD))
        self.assertEqual(response.status_code, 303)
        page = client.get(f'{self.base}/offers').get_data(as_text=True)
        number = offer_numbers(page)
        self.assertEqual(len(number), 1)

    def test_access_matrix(self):
        "Anonymous, other customer, owner and staff over all routes"
        anonymous = self.client()
        other = self.client()
        self.login(other, 'other@example.de')
        owner = self.client()
        self.login(owner)
        staff = self.client()
        staff_headers = self.staff_headers()

        def status(client, method, url, **kwargs):
            if client is staff:
                kwargs['headers'] = staff_headers
            return getattr(client, method)(url, **kwargs).status_code

        open_page = self.path('open')
        token_base = open_page.rsplit('/', 1)[0]
        mine = self.id_('open')
        theirs = self.id_('other')
        draft = self.id_('draft')
        # (method, url, {role: expected status})
        matrix = [
            ('get', f'{self.base}/offers',
                {'anonymous': 303, 'other': 200, 'owner': 200,
                    'staff': 303}),
            ('get', f'{self.base}/offers/{mine}',
                {'anonymous': 303, 'other': 404, 'owner': 303,
                    'staff': 303}),
            ('get', f'{self.base}/offers/{theirs}',
                {'anonymous': 303, 'other': 303, 'owner': 404,
                    'staff': 303}),
            ('get', f'{self.base}/offers/{draft}',
                {'anonymous': 303, 'other': 404, 'owner': 404,
                    'staff': 303}),
            ('get', f'{self.base}/offers/999999',
                {'anonymous': 303, 'other': 404, 'owner': 404,
                    'staff': 303}),
            # The customer link is the capability: the same for everyone.
            ('get', open_page,
                {'anonymous': 200, 'other': 200, 'owner': 200,
                    'staff': 200}),
            ('get', f'{open_page}/pdf',
                {'anonymous': 200, 'other': 200, 'owner': 200,
                    'staff': 200}),
            ('get', f'{token_base}/{"A" * 43}',
                {'anonymous': 404, 'other': 404, 'owner': 404,
                    'staff': 404}),
            # Nobody answers without the form served by the page.
            ('post', f'{open_page}/accept',
                {'anonymous': 403, 'other': 403, 'owner': 403,
                    'staff': 403}),
            ('post', f'{open_page}/reject',
                {'anonymous': 403, 'other': 403, 'owner': 403,
                    'staff': 403}),
            ('post', f'{open_page}/date',
                {'anonymous': 403, 'other': 403, 'owner': 403,
                    'staff': 403}),
            ('post', f'{self.base}/logout',
                {'anonymous': 303, 'other': 403, 'owner': 403,
                    'staff': 303}),
            ]
        clients = {'anonymous': anonymous, 'other': other, 'owner': owner,
            'staff': staff}
        for method, url, expected in matrix:
            for role, code in expected.items():
                with self.subTest(url=url, role=role):
                    kwargs = {'data': {'name': "X"}} if method == 'post' \
                        else {}
                    self.assertEqual(
                        status(clients[role], method, url, **kwargs), code)
        # What each one sees in the list.
        page = owner.get(f'{self.base}/offers').get_data(as_text=True)
        self.assertNotIn(self.number('other'), page)
        page = other.get(f'{self.base}/offers').get_data(as_text=True)
        self.assertEqual(offer_numbers(page), {self.number('other')})
        # Staff sessions of the Tryton client give no portal access.
        response = staff.get(f'{self.base}/offers', headers=staff_headers)
        self.assertTrue(response.headers['Location'].endswith('/login'))
        response = self.client().post(f'/{DB_NAME}/rpc/', json={
                'method': 'model.res.user.get_preferences',
                'params': [True, {}]}, headers=staff_headers)
        self.assertEqual(response.status_code, 200)
        # (and the staff credentials are valid for the client's API)
        self.assertIn('groups', response.json)



def timed(request):
    "How long request takes, in seconds."
    started = time.perf_counter()
    request()
    return time.perf_counter() - started


class PortalAccountTestCase(CustomerRouteTestCase):
    """Nobody learns who has a portal account, nor locks a customer out"""
    TRIES = 20
    # Rounds of measures a timing test makes before it fails.
    ROUNDS = 3
    # Each failed login checks a password hash (0.1 to 0.5 s here).
    LOGIN_TRIES = 12

    @classmethod
    def setUpData(cls):
        def create():
            pool = Pool()
            WebUser = pool.get('web.user')
            WebUser.create([{'email': e, 'password': PASSWORD} for e in [
                        'timing@example.de', 'victim@example.de',
                        'neighbour@example.de']])
            # Accounts that never set a password, as after an invitation.
            WebUser.create([{'email': f'reset{i}@example.de'}
                    for i in range(cls.TRIES * cls.ROUNDS)])
        run_committed(create)

    @property
    def base(self):
        return f'/{DB_NAME}/portal'

    def form(self, client, page):
        return hidden_fields(
            client.get(f'{self.base}/{page}').get_data(as_text=True))

    def login(self, client, email, password, remote_addr, form=None):
        action, fields = form or self.form(client, 'login')
        return client.post(action, data=dict(
                fields, email=email, password=password),
            environ_base={'REMOTE_ADDR': remote_addr})

    @staticmethod
    def close(times):
        """Whether the medians of the tries are within 25 % (or 5 ms) of
        each other, and a message that gives them."""
        known, unknown = (statistics.median(times[k])
            for k in ['known', 'unknown'])
        return (abs(known - unknown) < max(0.25 * max(known, unknown), 0.005),
            f"known {known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms")

    def assertClose(self, times):
        self.assertTrue(*self.close(times))

    def test_reset_takes_the_same_time(self):
        "Asking for a password link: as fast whether or not the account exists"
        client = self.client()
        action, fields = self.form(client, 'reset')

        def measure(round_):
            times = {'known': [], 'unknown': []}
            for i in range(round_ * self.TRIES, (round_ + 1) * self.TRIES):
                for kind, email in [('known', f'reset{i}@example.de'),
                        ('unknown', f'nobody{i}@example.de')]:
                    times[kind].append(timed(lambda: self.assertEqual(
                                client.post(action, data=dict(
                                        fields, email=email)).status_code,
                                200)))
            return times
        # As in production ([queue] worker, doc/admin.md): the email goes
        # out after the answer.
        worker = config.get('queue', 'worker', default='False')
        config.set('queue', 'worker', 'True')
        try:
            # As for the login: a burst of load shows in one round only.
            for round_ in range(self.ROUNDS):
                times = measure(round_)
                if self.close(times)[0]:
                    break
        finally:
            config.set('queue', 'worker', worker)
        self.assertClose(times)
        asked = (round_ + 1) * self.TRIES
        # The worker sends the links; the unknown addresses get nothing.
        with smtp_server() as inbox:
            with Transaction().start(DB_NAME, 0):
                Queue = Pool().get('ir.queue')
                tasks = [t.id for t in Queue.search([
                            ('dequeued_at', '=', None)])]
            for task_id in tasks:
                run_task(DB_NAME, task_id)
        self.assertEqual(sorted(m['To'] for m in inbox.messages),
            sorted(f'reset{i}@example.de' for i in range(asked)))
        self.assertIn('/portal/password?',
            inbox.messages[0].get_body(('html',)).get_content())

    def test_login_takes_the_same_time(self):
        "A wrong password: as slow whether or not the account exists"
        client = self.client()
        form = self.form(client, 'login')

        def measure(round_):
            times = {'known': [], 'unknown': []}
            for i in range(round_ * self.LOGIN_TRIES,
                    (round_ + 1) * self.LOGIN_TRIES):
                for kind, email in [('known', 'timing@example.de'),
                        ('unknown', f'nobody{i}@example.de')]:
                    # Each from another address: none is slowed down as a
                    # repeated failure.
                    remote = f'198.51.100.{2 * i + (kind == "known")}'
                    times[kind].append(timed(lambda: self.assertEqual(
                                self.login(client, email, "falsch-falsch",
                                    remote, form).status_code, 400)))
            return times
        # A difference of the work shows in every round; a burst of load
        # on the machine (make test runs the other backend beside this
        # one) in one of them.
        for round_ in range(self.ROUNDS):
            times = measure(round_)
            if self.close(times)[0]:
                break
        self.assertClose(times)

    def test_others_cannot_lock_a_customer_out(self):
        "Failed logins elsewhere do not block the customer's own login"
        max_attempt = config.get('session', 'max_attempt', default='5')
        # Kept small: web_user waits 2^n - 1 s after the n-th failure.
        config.set('session', 'max_attempt', '1')
        try:
            customer = self.client()
            # An earlier login from the customer's own browser.
            self.assertEqual(self.login(customer, 'neighbour@example.de',
                    PASSWORD, '192.0.2.10').status_code, 303)
            # The session ends; the browser keeps its device cookie.
            customer.delete_cookie('buero365_portal', path=self.base)
            for email in ['victim@example.de', 'neighbour@example.de']:
                attacker = self.client()
                statuses = [self.login(attacker, email, "geraten-123",
                        '203.0.113.7').status_code for _ in range(3)]
                self.assertEqual(statuses, [400, 400, 429], email)
            # From the customer's own network: not blocked.
            self.assertEqual(self.login(self.client(), 'victim@example.de',
                    PASSWORD, '192.0.2.20').status_code, 303)
            # From the attacker's network (a shared office or NAT) only the
            # browser the customer logged in with before gets in.
            self.assertEqual(self.login(self.client(), 'neighbour@example.de',
                    PASSWORD, '203.0.113.7').status_code, 429)
            response = self.login(customer, 'neighbour@example.de', PASSWORD,
                '203.0.113.7')
            self.assertEqual(response.status_code, 303)
        finally:
            config.set('session', 'max_attempt', max_attempt)
