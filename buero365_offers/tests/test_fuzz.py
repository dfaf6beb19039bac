# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The public routes under attack, on a real trytond server over HTTP.

Property-based fuzzing (Hypothesis, derandomized: the same requests every
run) of every route of web/routes.py — the offer page and its answers, the
PDF, media, tracking, static files, the portal — and of random paths under
them: any method, path, query, header, cookie, form field and body, with
non-ASCII text, control characters, U+FFFE, NUL and huge values, and with
the valid tokens of real offers often enough for the deep code to run.
Whatever is sent, the answer is never a 5xx, carries the security headers
of the pages and shows no exception text or model name.

The figures (requests and 5xx per route) are printed and written to
var/fuzz-routes-<backend>.json for doc/security.md.

Then one test for each hole this found, as an attacker would do it."""
import base64
import http.client
import json
import os
import re
import time
import unittest
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trytond import backend
from trytond.pool import Pool

from . import media_samples as samples
from .server import LiveServerTestCase
from .tools import (
    data_url,
    future,
    new_offer,
    run_committed,
    send_by_email,
    signature_png,
)

FIGURES = Path(__file__).resolve().parents[2] / 'var'
# Examples (requests) per route: the whole class stays well under a minute.
EXAMPLES = int(os.environ.get('FUZZ_EXAMPLES', 40))
# Below what the HTTP server itself refuses (lines over 64 KiB: 414, 431);
# form bodies go up to 3 MB, over trytond's 2 MiB limit.
MAX_TARGET = 16_000
MAX_HEADER = 16_000
PASSWORD = "Umzugskarton-2025!"
PORTAL_EMAIL = 'fuzz-kunde@example.de'
SECURITY_HEADERS = [
    'Content-Security-Policy', 'X-Content-Type-Options', 'X-Frame-Options',
    'Referrer-Policy', 'Cache-Control']
# What an error answer must never show: a traceback, an exception's text,
# the names of models (trytond's validation messages name them).
LEAKS = re.compile(
    r'Traceback|Exception|Error:|not supported|line \d+, column|'
    r'out of range|invalid char|for field|in record|Tracker Event|'
    r'\b(buero365\.offer|web\.user|ir\.[a-z]+|res\.user|party\.party)\b')

# Characters that broke pages or queries before, and their neighbours.
HOSTILE = [
    '\x00', '\x01', '\x08', '\t', '\n', '\r', '\r\n', '\x0b', '\x0c',
    '\x1b', '\x1f', '\x7f', '\x85', '\xa0', '\xad', 'ä', 'ß', '€', '\u2028',
    '\u202e', '\ufeff', '\ufffd', '\ufffe', '\uffff', '\ud800', '\udfff',
    '\U0001f600', '\U0010ffff', '\U0001fffe', '%', '%00', '%zz', '/', '..',
    '"', "'", '<', '>', '&', ';', ',', '=', ' ', '\\', '{', '}', '+',
    ]
pieces = st.one_of(
    st.sampled_from(HOSTILE), st.characters(exclude_categories=()))


BOOLEANS = st.booleans()


@lru_cache(maxsize=None)
def index(size):
    "The strategy of an index of a sequence of size (made once)."
    return st.integers(0, size - 1)


def pick(draw, options):
    "One of options (st.sampled_from without a new strategy each time)."
    return options[draw(index(len(options)))]


@lru_cache(maxsize=None)
def texts(min_size=0, max_size=30):
    return st.lists(pieces, min_size=min_size, max_size=max_size).map(
        ''.join)


@lru_cache(maxsize=None)
def hostile_text(max_size=30, huge=30_000):
    "Any text: hostile characters, some plain, now and then huge."
    small = texts(max_size=max_size)
    return st.one_of(
        small, small, small,
        st.builds(lambda text, count: text * count,
            texts(1, 3), st.integers(1_000, max(1_000, huge // 3))))


@lru_cache(maxsize=None)
def around(valid, max_size=3):
    "A valid value, or one with something before, after or cut off."
    affix = texts(max_size=max_size)
    return st.one_of(
        st.just(valid), st.just(valid), st.just(valid),
        st.builds(lambda a, b: a + valid + b, affix, affix),
        st.builds(lambda n, b: valid[:n] + b,
            st.integers(0, max(len(valid) - 1, 0)), affix),
        hostile_text())


def encode(text):
    "Text as bytes on the wire: UTF-8 (surrogates too) or Latin-1."
    return text.encode('utf-8', 'surrogatepass')


wire = st.one_of(
    st.builds(encode, hostile_text()),
    st.binary(max_size=20))

# The strategies of header values and other pieces, made once.
OTHER_COOKIES = st.lists(st.tuples(
        st.sampled_from(['tryton_session', 'x', 'buero365_portal', 'a b', '']),
        hostile_text(20)), max_size=2)
USER_AGENTS = st.one_of(
    st.just(b'Mozilla/5.0 (X11; Linux x86_64)'),
    st.builds(encode, hostile_text(60, 30_000)),
    st.binary(max_size=40))
LANGUAGES = st.one_of(
    st.sampled_from([b'de-DE,de;q=0.9', b'fr', b'en;q=0.1, *;q=0', b'de_DE',
            b'*', b'x;q=nan', b'de;q=2e9']),
    st.builds(encode, hostile_text(30)))
FOREIGN_ORIGINS = st.one_of(
    st.sampled_from(['null', 'https://evil.example', 'http://[',
            'http://[::1', 'http://ä.example', 'chrome-extension://abc',
            '://', '']),
    st.builds(encode, hostile_text(30)).map(lambda b: b'http://' + b))
AUTHORIZATIONS = st.one_of(
    st.builds(lambda b: b'Basic ' + base64.b64encode(b), wire),
    st.builds(lambda b: b'Session ' + base64.b64encode(b), wire),
    st.builds(lambda b: b'Bearer ' + b, wire))
RANGES = st.one_of(
    st.sampled_from([b'bytes=0-10', b'bytes=-5', b'bytes=5-', b'bytes=9-1',
            b'bytes=0-0,2-3', b'bytes=99999999-']),
    wire)
OTHER_HEADERS = st.lists(st.sampled_from([
            'Referer', 'X-Forwarded-For', 'X-Forwarded-Host', 'If-None-Match',
            'If-Modified-Since', 'Accept', 'Accept-Encoding',
            'Content-Encoding', 'X-Requested-With',
            'Access-Control-Request-Method', 'Sec-Fetch-Site', 'X-Fuzz']),
    max_size=3, unique=True)
OTHER_FIELDS = st.lists(st.tuples(hostile_text(10), hostile_text()),
    max_size=2)
BOUNDARIES = st.text('abc123', min_size=4, max_size=8)
RAW_TYPES = st.one_of(st.just(b'application/x-www-form-urlencoded'), wire)
RAW_BODIES = st.binary(max_size=200)
METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS',
    'TRACE', 'PROPFIND', 'FUZZ']
QUERY_PAIRS = st.lists(st.tuples(wire, wire), max_size=4)
DATES = st.one_of(
    st.sampled_from(['0001-01-01T00:30', '0001-01-01T00:00+14:00',
            '9999-12-31T23:59-05:00', '9999-12-31T23:59', '2026-02-30T10:00',
            '2026-13-01', '24:00', '2030-01-01T10:00Z', '2030-W01-1T10:00',
            '1e9', 'now']),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(
        lambda d: d.isoformat()))
SEGMENTS = st.lists(st.one_of(
        st.sampled_from(['t', 'static', 'media', 'pdf', 'offers', 'accept',
                '..', '.', '']),
        hostile_text(20, 10_000)), max_size=5)


@dataclass
class Request:
    method: str
    target: str
    headers: list = field(default_factory=list)
    body: bytes = b''
    route: str = ''

    def __repr__(self):
        return (f'{self.method} {self.target[:300]} '
            f'{[(n, v[:80]) for n, v in self.headers]} {self.body[:300]!r}')


@dataclass
class OfferValues:
    "A real offer of the server, with what its page and emails carry."
    id: int
    token: str
    csrf: str
    digest: str
    signed: str  # the tracking token of its email, None if never sent
    media: list


@dataclass
class Portal:
    "The portal's web user and the values its pages carry."
    email: str
    password: str
    keys: list
    key_tokens: dict
    nonce: str
    nonce_token: str
    reset_token: str
    offer_ids: list


def path(*segments):
    "The target of the path of segments (bytes or text), each quoted."
    return '/' + '/'.join(
        quote_from_bytes(s if isinstance(s, bytes) else encode(s), safe='')
        for s in segments)


def query_string(draw):
    "A query string: none, hostile pairs, or raw characters."
    kind = draw(index(5))
    if kind == 0:
        return ''
    if kind == 4:
        return '?' + quote_from_bytes(
            encode(draw(hostile_text(20))), safe='=&%')
    pairs = draw(QUERY_PAIRS)
    return '?' + '&'.join(
        f'{quote_from_bytes(k, safe="")}={quote_from_bytes(v, safe="")}'
        for k, v in pairs)


class Fuzzer:
    "The strategies of the requests to the server's public routes."

    def __init__(self, database, host, offers, answerable, portal):
        self.db = database
        self.host = host
        self.offers = offers
        self.answerable = answerable
        self.portal = portal

    # --- pieces -----------------------------------------------------------

    def value(self, draw, valid):
        "A form value: the valid one (often), near it, hostile or absent."
        kind = pick(draw, ['valid'] * 3 + ['near', 'missing'])
        if kind == 'missing':
            return None
        if kind == 'valid' and valid is not None:
            return valid
        return draw(around(valid) if valid is not None else hostile_text())

    def cookies(self, draw, honest):
        """The portal's cookies (session, nonce), valid or not, and
        others."""
        portal = self.portal
        pairs = []
        if honest or draw(BOOLEANS):
            key = pick(draw, portal.keys)
            pairs.append(('buero365_portal', draw(around(key))))
        if honest or draw(BOOLEANS):
            pairs.append(('buero365_portal_nonce', draw(around(portal.nonce))))
        pairs += draw(OTHER_COOKIES)
        if not pairs:
            return None
        text = '; '.join(f'{n}={v}' for n, v in pairs)
        if draw(BOOLEANS):
            # Quoted, with octal escapes, as werkzeug reads them.
            text = '; '.join(
                f'{n}="{v}"'.replace('\\', '\\\\') + '\\000' * (i % 2)
                for i, (n, v) in enumerate(pairs))
        return encode(text)

    def headers(self, draw, content_type=None, honest=False):
        """Headers as a browser sends them (honest) or anything; Host
        first, as http.client does not add it."""
        headers = []
        host = self.host
        if not honest and draw(index(4)) == 0:
            host = pick(draw, [
                        'evil.example', '127.0.0.1', '[::1]:1', 'a\x00b',
                        'ä.example', ''])
        headers.append(('Host', encode(host)))
        if draw(index(3)):
            headers.append(('User-Agent', draw(USER_AGENTS)))
        if draw(BOOLEANS):
            headers.append(('Accept-Language', draw(LANGUAGES)))
        cookie = self.cookies(draw, honest)
        if cookie is not None:
            headers.append(('Cookie', cookie))
        if honest:
            if draw(BOOLEANS):
                headers.append(('Origin', f'http://{self.host}'))
        elif draw(BOOLEANS):
            headers.append(('Origin', f'http://{self.host}'
                    if draw(index(4)) == 0 else draw(FOREIGN_ORIGINS)))
        if not honest and draw(index(3)) == 0:
            headers.append(('Authorization', draw(AUTHORIZATIONS)))
        if draw(index(5)) == 0:
            headers.append(('Range', draw(RANGES)))
        for name in draw(OTHER_HEADERS):
            headers.append((name, draw(wire)))
        if content_type is not None:
            headers.append(('Content-Type', content_type))
        # http.client refuses CR and LF that would start a new header; the
        # HTTP server itself refuses lines over 64 KiB (431).
        return [(n, re.sub(rb'[\r\n]', b'',
                    v if isinstance(v, bytes) else encode(v))[:MAX_HEADER])
            for n, v in headers]

    def body(self, draw, fields, honest=False):
        """A body for the form fields (name: value or None): URL-encoded,
        multipart (as browsers send forms), JSON, XML or raw bytes;
        returns (content type, body)."""
        items = [(n, v) for n, v in fields.items() if v is not None]
        items += draw(OTHER_FIELDS)
        if items and draw(index(6)) == 0:
            items.append(items[0])  # a field twice
        kinds = ['urlencoded'] * 2 + ['multipart']
        if not honest:
            kinds += ['json', 'xml', 'raw', 'none']
        kind = pick(draw, kinds)
        if kind == 'urlencoded':
            return (b'application/x-www-form-urlencoded', '&'.join(
                    f'{quote_from_bytes(encode(n), safe="")}='
                    f'{quote_from_bytes(encode(v), safe="")}'
                    for n, v in items).encode('ascii'))
        if kind == 'multipart':
            boundary = 'fuzz' + draw(BOUNDARIES)
            parts = []
            for name, value in items:
                filename = ''
                if draw(index(6)) == 0:
                    filename = f'; filename="{name}.png"'
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; '
                    f'name="{name}"{filename}\r\n\r\n'.encode(
                        'utf-8', 'surrogatepass')
                    + encode(value) + b'\r\n')
            body = b''.join(parts) + f'--{boundary}--\r\n'.encode()
            if draw(index(6)) == 0:
                body = body[:draw(index(len(body) + 1))]
            return (f'multipart/form-data; boundary={boundary}'.encode(),
                body)
        if kind == 'json':
            data = dict(items)
            if draw(BOOLEANS):
                data = {'id': 1, 'method': pick(draw, [
                            'common.db.list', 'model.buero365.offer.read',
                            '']), 'params': [dict(items)]}
            return (b'application/json', json.dumps(data).encode()
                if draw(index(4)) else draw(wire))
        if kind == 'xml':
            return (b'text/xml', b'<?xml version="1.0"?><methodCall>'
                + draw(wire) + b'</methodCall>')
        if kind == 'raw':
            return draw(RAW_TYPES), draw(RAW_BODIES)
        return None, b''

    def method(self, draw, method):
        "Mostly the route's method, sometimes another (known or not)."
        return method if draw(index(3)) else pick(draw, METHODS)

    def request(self, draw, method, segments, fields=None, route=''):
        """A request of route: one in three an honest envelope (the
        route's method and path, the headers and cookies a browser sends,
        a form body) around hostile values, for the deep code to run."""
        honest = pick(draw, [True, False, False])
        if not honest:
            method = self.method(draw, method)
        target = path(self.db, *segments)
        if not honest:
            target += query_string(draw)
            if draw(index(10)) == 0:
                target += pick(draw, ['/', '//', '/x', '/..', '%2F'])
        # The HTTP server refuses request lines over 64 KiB itself (414).
        target = target[:MAX_TARGET]
        content_type, body = None, b''
        if fields is not None or draw(index(6)) == 0:
            content_type, body = self.body(draw, fields or {}, honest)
        if not honest and draw(index(10)) == 0:
            body = body * (1 + draw(index(3_000_000 // (len(body) + 1))))
        return Request(method, target,
            self.headers(draw, content_type, honest), body, route)

    # --- the routes ---------------------------------------------------------

    def offer(self, draw):
        return pick(draw, self.offers)

    def sent_offer(self, draw):
        return pick(draw, [o for o in self.offers if o.signed])

    def routes(self):
        "{route name: strategy of its requests}"
        routes = {}

        def route(name):
            def decorator(func):
                routes[name] = st.composite(
                    lambda draw: func(draw))()
                return func
            return decorator

        @route('track_open')
        def _(draw):
            offer = self.sent_offer(draw)
            return self.request(draw, 'GET',
                ['offers', 't', draw(around(offer.signed)), 'open.gif'],
                route='track_open')

        @route('track_click')
        def _(draw):
            offer = self.sent_offer(draw)
            return self.request(draw, 'GET', ['offers', 't',
                    draw(around(offer.signed)),
                    draw(around(pick(draw, ['view', 'accept', 'reject'])))],
                route='track_click')

        @route('static')
        def _(draw):
            name = draw(around(pick(draw, [
                                'offers.css', 'offer_page.js',
                                'signature_pad.umd.min.js', 'README',
                                '..%2Ftryton.cfg'])))
            return self.request(
                draw, 'GET', ['offers', 'static', name], route='static')

        @route('offer_page')
        def _(draw):
            offer = self.offer(draw)
            return self.request(draw, 'GET',
                ['offers', draw(around(offer.token))], route='offer_page')

        @route('offer_pdf')
        def _(draw):
            offer = self.offer(draw)
            return self.request(draw, 'GET',
                ['offers', draw(around(offer.token)), 'pdf'],
                route='offer_pdf')

        @route('offer_media')
        def _(draw):
            offer = self.offer(draw)
            media = str(pick(draw, offer.media or [0]))
            return self.request(draw, 'GET', ['offers',
                    draw(around(offer.token)), 'media', draw(around(media))],
                route='offer_media')

        def answer(name, fields):
            @route(f'offer_{name}')
            def _(draw):
                offer = pick(draw, self.answerable[name])
                values = {
                    'csrf': self.value(draw, offer.csrf),
                    'digest': self.value(draw, offer.digest),
                    }
                for key, valid in fields(draw).items():
                    values[key] = self.value(draw, valid)
                return self.request(draw, 'POST',
                    ['offers', draw(around(offer.token)), name], values,
                    route=f'offer_{name}')

        answer('accept', lambda draw: {
                'name': "Erika Mustermann",
                'signature': pick(draw, [
                            SIGNATURE, 'data:image/png;base64,iVBORw0KGgo=',
                            'data:image/png;base64,' + 'A' * 10,
                            'data:text/html,<b>x</b>']),
                'terms': '1',
                # The customer's choice of services (choice.py): line ids
                # ticked and an alternative of a group, any bytes.
                'choices': '1',
                'chosen': None,
                'group-LKW': None,
                })
        answer('reject', lambda draw: {
                'reason': pick(draw,
                    ['too_expensive', 'other_provider', 'other', '']),
                'comment': "Zu teuer",
                })
        answer('date', lambda draw: {
                'start': (future(20).isoformat(timespec='minutes')
                    if draw(BOOLEANS) else draw(DATES)),
                'end': pick(draw,
                    [future(21).isoformat(timespec='minutes'), '']),
                'comment': "Lieber eine Woche später",
                })

        @route('portal_index')
        def _(draw):
            return self.request(draw, 'GET',
                ['portal'] + pick(draw, [[], ['']]),
                route='portal_index')

        def portal(name, method, fields=None):
            @route(f'portal_{name}_{method.lower()}')
            def _(draw):
                values = None
                if fields is not None:
                    values = {key: self.value(draw, valid)
                        for key, valid in fields(draw).items()}
                return self.request(draw, method, ['portal', name], values,
                    route=f'portal_{name}_{method.lower()}')

        def csrf(draw, session=False):
            "The form token of the nonce (before login) or of a session."
            portal = self.portal
            if session:
                return pick(draw, list(portal.key_tokens.values()))
            return portal.nonce_token

        portal('login', 'GET')
        portal('login', 'POST', lambda draw: {
                'csrf': csrf(draw),
                'email': pick(draw,
                    [PORTAL_EMAIL, PORTAL_EMAIL.upper(), 'x@example.de']),
                'password': pick(draw, [PASSWORD, 'falsch']),
                })
        portal('logout', 'POST', lambda draw: {'csrf': csrf(draw, True)})
        portal('reset', 'GET')
        portal('reset', 'POST', lambda draw: {
                'csrf': csrf(draw), 'email': PORTAL_EMAIL})
        portal('password', 'GET')
        portal('password', 'POST', lambda draw: {
                'csrf': csrf(draw), 'email': PORTAL_EMAIL,
                'token': self.portal.reset_token,
                'password': PASSWORD, 'password2': PASSWORD,
                })
        portal('offers', 'GET')

        @route('portal_offer')
        def _(draw):
            offer_id = str(pick(draw, self.portal.offer_ids))
            return self.request(draw, 'GET',
                ['portal', 'offers', draw(around(offer_id))],
                route='portal_offer')

        @route('other_paths')
        def _(draw):
            segments = [pick(draw, ['offers', 'portal'])]
            segments += draw(SEGMENTS)
            return self.request(draw, self.method(draw, 'GET'), segments,
                route='other_paths')
        return routes


SIGNATURE = data_url(signature_png())


def send(port, request, timeout=120):
    """Send request to the server as bytes on the wire; return (status,
    headers, body), status None when the server gave no answer."""
    connection = http.client.HTTPConnection('127.0.0.1', port,
        timeout=timeout)
    try:
        connection.putrequest(request.method, request.target,
            skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers:
            connection.putheader(name, value)
        if request.body or request.method in {'POST', 'PUT', 'PATCH'}:
            connection.putheader('Content-Length', str(len(request.body)))
        try:
            connection.endheaders(request.body or None)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered before reading all: read the answer
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    except (OSError, http.client.HTTPException) as error:
        return None, {}, repr(error).encode()
    finally:
        connection.close()


def problem(status, headers, body):
    "What is wrong with an answer of a public route, or None."
    if status is None:
        return f"no answer: {body[:200]!r}"
    if status >= 500:
        return f"HTTP {status}: {body[:300]!r}"
    missing = [h for h in SECURITY_HEADERS if h not in headers]
    if missing:
        return f"HTTP {status} without {missing}: {body[:200]!r}"
    if status >= 400:
        text = body.decode('utf-8', 'replace')
        leak = LEAKS.search(text)
        if leak:
            return f"HTTP {status} shows {leak.group(0)!r}: {text[:300]!r}"
    return None


def create_portal(offer_ids):
    """A web user who sees the offers (of its party and secondary
    parties), with sessions and the tokens of its forms; returns Portal."""
    from ..access import portal_form_token
    pool = Pool()
    Offer = pool.get('buero365.offer')
    WebUser = pool.get('web.user')
    parties = [Offer(i).party.id for i in offer_ids]
    user, = WebUser.create([{
                'email': PORTAL_EMAIL, 'password': PASSWORD,
                'party': parties[0],
                'secondary_parties': [('add', parties[1:])]}])
    keys = [user.new_session() for _ in range(3)]
    user.set_reset_password_token()
    user.save()
    nonce = 'fuzz-nonce-0123456789abcdef'
    return Portal(PORTAL_EMAIL, PASSWORD, keys,
        {k: portal_form_token(k) for k in keys}, nonce,
        portal_form_token(nonce), user.reset_password_token,
        list(offer_ids) + [0, 2 ** 31])


def describe_offer(offer_id):
    "The OfferValues of an offer, as its customer page and emails show it."
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Link = pool.get('buero365.offer.link')
    Mail = pool.get('buero365.offer.mail')
    offer = Offer(offer_id)
    link = Link.find_shown(offer)
    mails = Mail.search([('offer', '=', offer_id)], limit=1)
    return OfferValues(
        offer_id, link.token, link.form_token(),
        link.sent_digest or offer.content_digest(),
        mails[0].signed_token() if mails else None,
        sorted(link.customer_media_ids()))


def add_media(offer_id):
    pool = Pool()
    Attachment = pool.get('ir.attachment')
    Attachment.create([{
                'resource': f'buero365.offer,{offer_id}',
                'name': "Küche.png", 'data': samples.png(),
                'media_kind': 'image'}, {
                'resource': f'buero365.offer,{offer_id}',
                'name': "Angebot.pdf", 'data': samples.pdf(),
                'media_kind': 'attachment'}])


class RouteFuzzTestCase(LiveServerTestCase):
    "Fuzz every public route on a real server: never a 5xx"

    #: offers each answer route gets: a successful answer closes one, the
    #: fuzzing goes on with the others
    answer_offers = 2
    #: offers of their own for the tests of the findings
    finding_offers = ['nul', 'fffe', 'fffe_date', 'stored']

    @classmethod
    def createData(cls):
        started = time.monotonic()
        # Sent, with a medium: what the emails and the page carry.
        plain_id, _ = new_offer(send=False)
        run_committed(lambda: add_media(plain_id))
        run_committed(lambda: send_by_email(
                Pool().get('buero365.offer')(plain_id)))
        cls.plain = run_committed(lambda: describe_offer(plain_id))
        cls.answerable = {
            name: [cls.live_offer() for _ in range(cls.answer_offers)]
            for name in ['accept', 'reject', 'date']}
        cls.offers = [cls.plain] + [
            o for offers in cls.answerable.values() for o in offers]
        cls.portal = run_committed(
            lambda: create_portal([o.id for o in cls.offers]))
        cls.findings = {name: cls.live_offer() for name in cls.finding_offers}
        cls.figures = {}
        cls.set_up_seconds = time.monotonic() - started

    @classmethod
    def live_offer(cls):
        "A new offer (never sent: its page is live), its OfferValues."
        offer_id, _ = new_offer(send=False)
        return run_committed(lambda: describe_offer(offer_id))

    @classmethod
    def tearDownClass(cls):
        figures = getattr(cls, 'figures', None)
        if figures:
            cls.write_figures()
        super().tearDownClass()

    @classmethod
    def write_figures(cls):
        figures = cls.figures
        total = {
            'backend': backend.name,
            'examples_per_route': EXAMPLES,
            'requests': sum(f['requests'] for f in figures.values()),
            'server_errors': sum(f['server_errors'] for f in figures.values()),
            'problems': sum(f['problems'] for f in figures.values()),
            'seconds': round(sum(f['seconds'] for f in figures.values()), 1),
            'set_up_seconds': round(cls.set_up_seconds, 1),
            'routes': figures,
            }
        FIGURES.mkdir(parents=True, exist_ok=True)
        target = FIGURES / f'fuzz-routes-{backend.name}.json'
        target.write_text(json.dumps(total, indent=2, sort_keys=True) + '\n')
        # Shown with pytest -s; the file is what doc/security.md quotes.
        print(f"\n== Fuzzing on {backend.name}: {total['requests']} "
            f"requests to {len(figures)} routes, {total['server_errors']} "
            f"answers 5xx, {total['problems']} wrong answers in "
            f"{total['seconds']} s ({target.name})")
        for name, figure in sorted(figures.items()):
            print(f"  {name:24} {figure['requests']:4} requests "
                f"{figure['server_errors']:3} × 5xx {figure['problems']:3} "
                f"wrong {dict(sorted(figure['statuses'].items()))}")

    def fuzz(self, name):
        "Send EXAMPLES requests of route name; fail on any problem."
        fuzzer = Fuzzer(self.database, f'127.0.0.1:{self.server.port}',
            self.offers, self.answerable, self.portal)
        strategy = fuzzer.routes()[name]
        statuses = Counter()
        problems = []
        started = time.monotonic()
        waited = [0]

        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
            database=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck))
        @given(strategy)
        def run(request):
            sent = time.monotonic()
            status, headers, body = send(self.server.port, request)
            waited[0] += time.monotonic() - sent
            statuses[status] += 1
            found = problem(status, headers, body)
            if found:
                problems.append((found, request))
        run()
        self.figures[name] = {
            'requests': sum(statuses.values()),
            'server_errors': sum(n for s, n in statuses.items()
                if s is None or s >= 500),
            'problems': len(problems),
            'statuses': {str(s): n for s, n in statuses.items()},
            'seconds': round(time.monotonic() - started, 1),
            'server_seconds': round(waited[0], 1),
            }
        if problems:
            self.fail(f"{len(problems)} of {len(statuses)} answers wrong:\n"
                + '\n\n'.join(f'{p}\n  {r!r}' for p, r in problems[:5])
                + '\n' + self.server_errors())

    def server_errors(self):
        "The errors the server logged (tracebacks), or the end of its log."
        log = self.server.log(10_000_000)
        errors = re.findall(r'^.* ERROR .*\n(?:(?!\d+ \d+ \[).*\n)*', log,
            re.MULTILINE)
        return '\n'.join(errors)[-6000:] or log[-3000:]

    # What each fuzzing test sends: (rule, method) of the module's routes.
    FUZZED = {
        'track_open': [('/offers/t/<signed>/open.gif', 'GET')],
        'track_click': [('/offers/t/<signed>/<action>', 'GET')],
        'static': [('/offers/static/<name>', 'GET')],
        'offer_page': [('/offers/<token>', 'GET')],
        'offer_pdf': [('/offers/<token>/pdf', 'GET')],
        'offer_media': [
            ('/offers/<token>/media/<int:attachment_id>', 'GET')],
        'offer_accept': [('/offers/<token>/accept', 'POST')],
        'offer_reject': [('/offers/<token>/reject', 'POST')],
        'offer_date': [('/offers/<token>/date', 'POST')],
        'portal_index': [('/portal', 'GET'), ('/portal/', 'GET')],
        'portal_login_get': [('/portal/login', 'GET')],
        'portal_login_post': [('/portal/login', 'POST')],
        'portal_logout_post': [('/portal/logout', 'POST')],
        'portal_reset_get': [('/portal/reset', 'GET')],
        'portal_reset_post': [('/portal/reset', 'POST')],
        'portal_password_get': [('/portal/password', 'GET')],
        'portal_password_post': [('/portal/password', 'POST')],
        'portal_offers_get': [('/portal/offers', 'GET')],
        'portal_offer': [('/portal/offers/<int:offer_id>', 'GET')],
        }

    def test_every_route_is_fuzzed(self):
        "Each route of the module has its fuzzing test (a new one too)"
        from trytond.wsgi import app
        registered = set()
        for rule in app.url_map.iter_rules():
            path = rule.rule.removeprefix('/<database_name>')
            if path != rule.rule and path.startswith(('/offers', '/portal')):
                registered.update((path, m) for m in rule.methods
                    if m not in {'HEAD', 'OPTIONS'})
        fuzzed = {r for rules in self.FUZZED.values() for r in rules}
        self.assertTrue(registered)
        self.assertEqual(registered, fuzzed)
        for name in self.FUZZED:
            self.assertTrue(hasattr(self, f'test_{name}'), name)

    def test_track_open(self):
        self.fuzz('track_open')

    def test_track_click(self):
        self.fuzz('track_click')

    def test_static(self):
        self.fuzz('static')

    def test_offer_page(self):
        self.fuzz('offer_page')

    def test_offer_pdf(self):
        self.fuzz('offer_pdf')

    def test_offer_media(self):
        self.fuzz('offer_media')

    def test_offer_accept(self):
        self.fuzz('offer_accept')

    def test_offer_reject(self):
        self.fuzz('offer_reject')

    def test_offer_date(self):
        self.fuzz('offer_date')

    def test_portal_index(self):
        self.fuzz('portal_index')

    def test_portal_login_get(self):
        self.fuzz('portal_login_get')

    def test_portal_login_post(self):
        self.fuzz('portal_login_post')

    def test_portal_logout_post(self):
        self.fuzz('portal_logout_post')

    def test_portal_reset_get(self):
        self.fuzz('portal_reset_get')

    def test_portal_reset_post(self):
        self.fuzz('portal_reset_post')

    def test_portal_password_get(self):
        self.fuzz('portal_password_get')

    def test_portal_password_post(self):
        self.fuzz('portal_password_post')

    def test_portal_offers_get(self):
        self.fuzz('portal_offers_get')

    def test_portal_offer(self):
        self.fuzz('portal_offer')

    def test_other_paths(self):
        self.fuzz('other_paths')

    # --- one test for each hole the fuzzing found --------------------------

    def http(self, method, target, fields=None, headers=(), cookie=None):
        """Send a request as a browser of our page would (Host, a form
        body); return (status, headers, text)."""
        head = [('Host', f'127.0.0.1:{self.server.port}'.encode()),
            ('User-Agent', b'Mozilla/5.0 (X11; Linux x86_64)')]
        names = {n for n, _ in headers}
        head = [(n, v) for n, v in head if n not in names]
        head += [(n, v if isinstance(v, bytes) else encode(v))
            for n, v in headers]
        if cookie is not None:
            head.append(('Cookie', encode(cookie)))
        body = b''
        if fields is not None:
            head.append(
                ('Content-Type', b'application/x-www-form-urlencoded'))
            body = '&'.join(
                f'{quote_from_bytes(encode(n), safe="")}='
                f'{quote_from_bytes(encode(v), safe="")}'
                for n, v in fields.items()).encode('ascii')
        status, answer, data = send(self.server.port,
            Request(method, target, head, body))
        self.assertIsNotNone(status, data)
        return status, answer, data.decode('utf-8', 'replace')

    def page_of(self, offer, suffix=''):
        return f'/{self.database}/offers/{offer.token}{suffix}'

    def assertErrorPage(self, status, headers, text, expected):
        "An error answer as every one must be (see problem())."
        self.assertIsNone(problem(status, headers, text.encode()), text)
        self.assertEqual(status, expected, text[:500])

    def answer_fields(self, offer, **values):
        fields = {'csrf': offer.csrf, 'digest': offer.digest}
        fields.update(values)
        return fields

    def test_finding_non_ascii_tokens(self):
        "A token, form token or digest with non-ASCII text: 4xx, never 500"
        offer = self.plain
        base = f'/{self.database}'
        status, headers, text = self.http(
            'GET', f'{base}/offers/t/x.%C3%A4/view')
        self.assertErrorPage(status, headers, text, 404)
        self.assertIn("Offer not found", text)
        # The tracking image is the same for forged tokens.
        status, headers, _ = self.http(
            'GET', f'{base}/offers/t/x.%C3%A4/open.gif')
        self.assertEqual((status, headers['Content-Type']),
            (200, 'image/gif'))
        status, headers, _ = self.http(
            'GET', f'{base}/offers/t/{offer.signed}%C3%A4/view')
        self.assertEqual(status, 404)
        status, headers, text = self.http('POST', self.page_of(
                offer, '/accept'), self.answer_fields(offer, csrf='ä' * 20,
                name="Erika Mustermann", terms='1', signature=SIGNATURE))
        self.assertErrorPage(status, headers, text, 403)
        self.assertIn("This form is no longer valid", text)
        status, headers, text = self.http('POST', self.page_of(
                offer, '/reject'), self.answer_fields(offer,
                digest=offer.digest[:-1] + 'ä', reason='too_expensive'))
        self.assertErrorPage(status, headers, text, 409)
        self.assertIn("The offer was changed while you were reading", text)
        portal = self.portal
        status, headers, text = self.http('POST', f'{base}/portal/login',
            {'csrf': portal.nonce_token[:-1] + 'é', 'email': portal.email,
                'password': portal.password},
            cookie=f'buero365_portal_nonce={portal.nonce}')
        self.assertErrorPage(status, headers, text, 403)
        self.assertEqual(self.offer_state(offer.id, 'rejection_reason'),
            ('open', None))

    def test_finding_control_characters_shown_again(self):
        "Control characters and U+FFFE sent back in a page are left out"
        offer = self.plain
        status, headers, text = self.http('GET', f'/{self.database}/portal/'
            'password?email=%01kunde%EF%BF%BE%00@example.de&token=%0B1')
        self.assertEqual(status, 200, text[:500])
        self.assertIn('value="kunde@example.de"', text)
        self.assertIn('value="1"', text)
        # A refused answer shows the form again with what was typed.
        status, headers, text = self.http('POST', self.page_of(
                offer, '/accept'), self.answer_fields(offer,
                name="Erika\x01 Muster\ufffemann\x1b", terms='1',
                signature='data:image/png;base64,AAAA'))
        self.assertErrorPage(status, headers, text, 400)
        self.assertIn("The signature could not be read", text)
        self.assertIn('value="Erika Mustermann"', text)
        status, headers, text = self.http('POST', self.page_of(
                offer, '/reject'), self.answer_fields(offer,
                reason='\x00', comment="Zu\x0c teuer\uffff\x00"))
        self.assertErrorPage(status, headers, text, 400)
        self.assertIn("Please choose a reason", text)
        self.assertIn(">Zu teuer</textarea>", text)
        self.assertEqual(self.offer_state(offer.id), ('open', None))

    def test_finding_dates_out_of_range(self):
        "Dates that cannot be UTC are refused as unreadable, never a 500"
        offer = self.plain
        for start in ['0001-01-01T00:30', '9999-12-31T23:59-05:00']:
            with self.subTest(start=start):
                status, headers, text = self.http('POST', self.page_of(
                        offer, '/date'),
                    self.answer_fields(offer, start=start))
                self.assertErrorPage(status, headers, text, 400)
                self.assertIn("The date could not be read", text)
                self.assertIn(f'value="{start}"', text)
        self.assertEqual(self.offer_state(offer.id), ('open', None))

    def test_finding_nul_bytes(self):
        "NUL in a browser name, an email or a cookie (PostgreSQL refuses it)"
        offer = self.findings['nul']
        agent = b'Mozilla/5.0\x00 (X11; \x00Linux)'
        status, headers, text = self.http('GET', self.page_of(offer),
            headers=[('User-Agent', agent)])
        self.assertEqual(status, 200, text[:500])
        status, headers, text = self.http('POST', self.page_of(
                offer, '/accept'), self.answer_fields(offer,
                name="Erika\x00 Mustermann", terms='1', signature=SIGNATURE),
            headers=[('User-Agent', agent)])
        self.assertEqual(status, 303, text[:500])
        self.assertEqual(self.offer_state(offer.id),
            ('accepted', "Erika Mustermann"))
        self.assertEqual(
            self.offer_state(offer.id, 'signed_user_agent')[1],
            "Mozilla/5.0 (X11; Linux)")
        agents = {row[0] for row in self.server_sql(
                'SELECT user_agent FROM buero365_offer_event '
                'WHERE offer = %s AND user_agent IS NOT NULL', offer.id)}
        self.assertEqual(agents, {"Mozilla/5.0 (X11; Linux)"})
        base = f'/{self.database}/portal'
        portal = self.portal
        status, headers, text = self.http('POST', f'{base}/login',
            {'csrf': portal.nonce_token, 'email': 'kunde\x00@example.de',
                'password': 'x'},
            cookie=f'buero365_portal_nonce={portal.nonce}')
        self.assertErrorPage(status, headers, text, 400)
        self.assertIn("Wrong email address or password", text)
        status, headers, text = self.http('GET', f'{base}/offers',
            cookie='buero365_portal="ab\\000cd"; x=\x00')
        self.assertEqual(status, 303, text[:500])
        self.assertTrue(headers['Location'].endswith('/portal/login'))

    def test_finding_cross_site_post(self):
        "A form posted from another site: 403 from the module, not a 500"
        offer = self.plain
        for origin, status_ in [('https://evil.example', 403),
                ('null', 403), ('http://[', 400)]:
            with self.subTest(origin=origin):
                status, headers, text = self.http('POST', self.page_of(
                        offer, '/accept'), self.answer_fields(offer,
                        name="Erika Mustermann", terms='1',
                        signature=SIGNATURE),
                    headers=[('Origin', origin)])
                self.assertErrorPage(status, headers, text, status_)
                if status_ == 403:
                    self.assertIn("Anfrage abgelehnt", text)
                    self.assertIn("Request refused", text)
                    self.assertIn("Requête refusée", text)
        self.assertEqual(self.offer_state(offer.id), ('open', None))

    def test_finding_vertical_tab_user_agent(self):
        "A browser name with a vertical tab: the page, not a 400 naming models"
        offer = self.plain
        status, headers, text = self.http('GET', self.page_of(offer),
            headers=[('User-Agent', b'Mozilla/5.0\x0b\x0c(X11)\tLinux')])
        self.assertEqual(status, 200, text[:500])
        self.assertIn(offer.token, text)
        agents = {row[0] for row in self.server_sql(
                'SELECT user_agent FROM buero365_offer_event '
                'WHERE offer = %s AND user_agent LIKE %s', offer.id,
                'Mozilla/5.0%(X11)%')}
        # Each control character is a space, as on one line of text.
        self.assertEqual(agents, {"Mozilla/5.0 (X11) Linux"})

    def test_finding_comment_breaks_page(self):
        "A comment ending in U+FFFE is stored without it: the page stays"
        for name, action, values in [
                ('fffe', '/reject', {'reason': 'too_expensive'}),
                ('fffe_date', '/date', {
                        'start': future(20).isoformat(timespec='minutes')}),
                ]:
            with self.subTest(action=action):
                offer = self.findings[name]
                status, headers, text = self.http('POST', self.page_of(
                        offer, action), self.answer_fields(offer,
                        comment="Zu teuer\r\n\x0bab Mai\ufffe", **values))
                self.assertEqual(status, 303, text[:500])
                for _ in range(2):
                    status, headers, text = self.http(
                        'GET', self.page_of(offer))
                    self.assertEqual(status, 200, text[:500])
                    self.assertIn("Zu teuer\nab Mai</p>", text)
        self.assertEqual(
            self.offer_state(self.findings['fffe'].id, 'rejection_comment'),
            ('rejected', "Zu teuer\nab Mai"))
        comments = self.server_sql(
            'SELECT comment FROM buero365_offer_date_request '
            'WHERE offer = %s', self.findings['fffe_date'].id)
        self.assertEqual(comments, [("Zu teuer\nab Mai",)])

    def test_finding_stored_text_still_renders(self):
        "Text stored before it was cleaned (U+FFFE, controls) still renders"
        offer = self.findings['stored']
        self.server_sql(
            'UPDATE buero365_offer SET state = %s, rejection_reason = %s, '
            'rejection_comment = %s WHERE id = %s', 'rejected', 'other',
            '\x01Zu\ufffe teuer\x0b\uffff', offer.id)
        status, headers, text = self.http('GET', self.page_of(offer))
        self.assertEqual(status, 200, text[:500])
        self.assertIn("You declined this offer", text)
        self.assertIn(">Zu teuer</p>", text)
        status, headers, data = self.http('GET', self.page_of(offer, '/pdf'))
        self.assertEqual((status, headers['Content-Type']),
            (200, 'application/pdf'))

    def test_error_answers(self):
        "No route, a wrong method, too large: our page, with our headers"
        base = f'/{self.database}'
        status, headers, text = self.http(
            'GET', f'{base}/offers/{"x" * 43}')
        self.assertErrorPage(status, headers, text, 404)
        self.assertIn("Angebot nicht gefunden", text)
        # No route (trytond's for CORS preflights takes any path).
        status, headers, text = self.http('GET', f'{base}/offers/a/b/c')
        self.assertErrorPage(status, headers, text, 405)
        status, headers, text = self.http('PUT', self.page_of(self.plain))
        self.assertErrorPage(status, headers, text, 405)
        self.assertIn('GET', headers['Allow'])
        self.assertIn("So nicht möglich", text)
        status, headers, text = self.http('POST', self.page_of(
                self.plain, '/reject'), {'comment': 'x' * 3_000_000})
        self.assertErrorPage(status, headers, text, 413)
        self.assertIn("Zu groß", text)
        # trytond's own routes keep their answers.
        status, headers, text = self.http('GET', f'{base}/rpc/x')
        self.assertNotIn('Content-Security-Policy', headers)


class TextTestCase(unittest.TestCase):
    "Test the rule of what a page and the database can hold (text.py)"

    def test_xml_text_is_what_lxml_takes(self):
        "xml_text leaves out exactly the characters an XML page refuses"
        from lxml import etree

        from ..text import NOT_XML, xml_text
        refused = [chr(c) for c in [*range(0x20), 0xfffe, 0xffff]
            if chr(c) not in '\t\n\r']
        for character in refused:
            with self.assertRaises(etree.XMLSyntaxError, msg=repr(character)):
                etree.fromstring(f'<p>{character}</p>'.encode())
        self.assertEqual(xml_text(''.join(refused) + '\ud800\udfff'), '')
        kept = ''.join(chr(c) for c in [*range(0xd800), *range(0xe000, 0xfffe),
                *range(0x10000, 0x10ffff, 97), 0x10ffff]
            if not NOT_XML.match(chr(c)) and chr(c) not in '<&\r')
        self.assertEqual(xml_text(kept), kept)
        self.assertEqual(etree.fromstring(
                f'<p>{kept}</p>'.encode('utf-8')).text, kept)

    def test_same_secret(self):
        "Secrets compare whatever is given: other scripts, bytes, nothing"
        from ..access import same_secret
        self.assertTrue(same_secret('Xy-9_a', 'Xy-9_a'))
        self.assertTrue(same_secret('Grüße', 'Grüße'))
        self.assertTrue(same_secret(b'ab', 'ab'))
        for other in ['Xy-9_b', 'Xy-9_', 'Xy-9_ä', '\ud800', None, 1, '']:
            with self.subTest(other=other):
                self.assertFalse(same_secret('Xy-9_a', other))
        self.assertFalse(same_secret(None, None))
