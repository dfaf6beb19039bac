# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Customer pages: werkzeug routes of trytond (the portal's are in portal.py).

Routes run as root (user 0): every lookup is scoped by the token of the
URL or by the portal session, and business rules live on the models,
never here.  A route checks the shape of the request, calls one model
method and renders the result.

Every route is registered with public_route: what the customer sends
(path, query, form, cookies, headers) is made XML text before the route
reads it, so nothing stored from a customer can break a page or a query
later, and whatever goes wrong is answered with a page of ours, never with
an exception's text.  PublicPages does the same for what trytond and
werkzeug answer on these paths themselves (no such route, wrong method,
a cross-site Origin)."""
import logging
import re
from functools import wraps
from pathlib import Path

from werkzeug.datastructures import Headers, ImmutableMultiDict
from werkzeug.exceptions import HTTPException

import trytond.config as config
from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    abort,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction
from trytond.wsgi import app

from ..acceptance import (
    COMMENT_MAX_LENGTH,
    NAME_MAX_LENGTH,
    decode_png_data_url,
)
from ..document import load_template
from ..mail import PIXEL
from ..media import media_response
from ..text import clean_line, xml_text

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # same-origin, not no-referrer: browsers would send "Origin: null" on
    # our own form posts, which trytond refuses.
    'Referrer-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': (
        "default-src 'none'; img-src 'self' data:; media-src 'self'; "
        "style-src 'self'; script-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"),
    'Cache-Control': 'no-store',
    }
TRACKING_ACTIONS = {'accept', 'reject', 'view'}

# Files of static/ the pages use (no third-party or CDN assets).
STATIC_DIR = Path(__file__).parent.parent / 'static'
STATIC_TYPES = {
    'offers.css': 'text/css; charset=utf-8',
    'offer_page.js': 'text/javascript; charset=utf-8',
    'signature_pad.umd.min.js': 'text/javascript; charset=utf-8',
    }

HTML = 'text/html; charset=utf-8'
# The paths of the routes below: /<database>/offers/..., /<database>/portal
PUBLIC_PATH = re.compile(r'/[^/]+/(offers|portal)(/|$)')


def secure(response):
    "Add the headers every customer page carries."
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _error_pages():
    """The error pages by status (report/error_page.html), rendered once:
    answering an error cannot fail."""
    template = load_template('buero365_offers/report/error_page.html')
    return {status: template.generate(status=status, page=status).render(
            'html', doctype='html5', encoding='utf-8')
        for status in [400, 403, 404, 405, 413, 429, 500]}


ERROR_PAGES = _error_pages()


def error_page(status, headers=None):
    """The answer of an error without a page of its own: its status, the
    page that says it in German, English and French (nothing about the
    error itself) and the security headers; headers keeps those of the
    original answer that matter to clients (Allow, Retry-After)."""
    page = ERROR_PAGES.get(status) or ERROR_PAGES[
        HTTPStatus.INTERNAL_SERVER_ERROR if status >= 500
        else HTTPStatus.BAD_REQUEST]
    response = secure(Response(page, status, content_type=HTML))
    headers = Headers(headers or [])
    for name in ['Allow', 'Retry-After']:
        if name in headers:
            response.headers[name] = headers[name]
    return response


def not_found():
    # The same answer for unknown, malformed and foreign tokens: who asks
    # for an unknown link cannot be told apart.
    abort(error_page(HTTPStatus.NOT_FOUND))


def abandon():
    "Undo what a refused request wrote and queued, before answering it."
    transaction = Transaction()
    transaction.rollback()
    transaction.tasks.clear()


def _user_agent(request):
    return request.headers.get('User-Agent', '')[:300]


# What the customer sends ---------------------------------------------------

def _clean_values(values):
    # A multipart part without a name has the key None: no field.
    return ImmutableMultiDict([(xml_text(key), xml_text(value))
            for key, value in values.items(multi=True)
            if isinstance(key, str) and isinstance(value, str)])


def _clean_request(request, arguments):
    """Make what the customer sent XML text (text.NOT_XML): the path
    arguments (returned), the query, the form, the cookies, the headers
    and the client's address, before the route reads any of it."""
    # Parsed with the headers as sent; werkzeug decodes invalid UTF-8 as
    # U+FFFD.
    request.form = _clean_values(request.form)
    request.args = _clean_values(request.args)
    request.cookies = _clean_values(request.cookies)
    request.headers = Headers([(name, clean_line(value))
            for name, value in request.headers.items()])
    # trytond builds the links of emails from the Host (request.context).
    if 'HTTP_HOST' in request.environ:
        request.environ['HTTP_HOST'] = request.headers.get('Host', '')
    if request.remote_addr:
        request.remote_addr = clean_line(request.remote_addr)
    return {name: xml_text(value) if isinstance(value, str) else value
        for name, value in arguments.items()}


def public_route(rule, methods):
    """Register func as the route of rule for methods (see the module's
    docstring): its input cleaned, its errors answered with error_page."""
    def decorator(func):
        endpoint = getattr(func, 'public_endpoint', None) or _public(func)
        app.route(rule, methods=methods)(endpoint)
        return endpoint
    return decorator


def _public(func):
    @wraps(func)
    def endpoint(request, **arguments):
        try:
            arguments = _clean_request(request, arguments)
            return secure(func(request, **arguments))
        except HTTPException as exception:
            if exception.response is not None:
                return secure(exception.response)  # ours: not_found()
            if exception.code < 400:
                return secure(exception.get_response(request.environ))
            # with_pool turns the exceptions of a route into HTTP errors
            # whose description is the exception.
            cause = exception.description
            if isinstance(cause, backend.DatabaseOperationalError):
                logger.warning("%s: database busy", request.path,
                    exc_info=cause)
                return error_page(HTTPStatus.SERVICE_UNAVAILABLE)
            if isinstance(cause, BaseException):
                logger.error("%s failed", request.path, exc_info=cause)
            return error_page(
                exception.code, exception.get_headers(request.environ))
        except backend.DatabaseOperationalError:
            logger.warning("%s: database busy", request.path, exc_info=True)
            return error_page(HTTPStatus.SERVICE_UNAVAILABLE)
        except (UserError, UserWarning):
            # Re-raised by with_pool for a request that looks like RPC
            # (a JSON body with a method); its message may name models.
            logger.warning("%s refused", request.path, exc_info=True)
            return error_page(HTTPStatus.BAD_REQUEST)
        except Exception:
            logger.exception("%s failed", request.path)
            return error_page(HTTPStatus.INTERNAL_SERVER_ERROR)
    endpoint.public_endpoint = endpoint
    # The limit of anonymous requests for everyone: otherwise trytond
    # would check a staff session or password sent along first.
    endpoint.max_request_size = config.getint('request', 'max_size')
    return endpoint


class PublicPages:
    """WSGI middleware of trytond's application for the paths of the public
    routes: what trytond or werkzeug answer there themselves — no such
    route, a wrong method, a cross-site Origin (trytond raises that out of
    its application: a 500 of the HTTP server), an unreadable header —
    becomes error_page, and every answer carries the security headers."""
    public_paths = True

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if not PUBLIC_PATH.match(environ.get('PATH_INFO') or ''):
            return self.wsgi_app(environ, start_response)
        answer = []

        def keep(status, headers, exc_info=None):
            answer[:] = [status, headers]
            return self._no_write
        try:
            body = self.wsgi_app(environ, keep)
        except HTTPException as exception:
            if exception.code < 400:
                response = secure(exception.get_response(environ))
            else:
                response = error_page(
                    exception.code, exception.get_headers(environ))
            return response(environ, start_response)
        except Exception:
            logger.warning("refused %s", environ.get('PATH_INFO'),
                exc_info=True)
            return error_page(HTTPStatus.BAD_REQUEST)(
                environ, start_response)
        status, headers = answer
        code = int(status.split(None, 1)[0])
        headers = Headers(headers)
        if code >= 400 and 'Content-Security-Policy' not in headers:
            # Not a page of our routes (they all carry the headers).
            if hasattr(body, 'close'):
                body.close()
            return error_page(code, headers)(environ, start_response)
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        start_response(status, headers.to_wsgi_list())
        return body

    @staticmethod
    def _no_write(data):
        raise RuntimeError("write() is not supported here")


if not getattr(app.wsgi_app, 'public_paths', False):
    app.wsgi_app = PublicPages(app.wsgi_app)


def _html(content, status=200):
    return secure(Response(content, status, content_type=HTML))


# Tracking ------------------------------------------------------------------

@public_route('/<database_name>/offers/t/<signed>/open.gif', methods={'GET'})
@with_pool
@with_transaction(readonly=False)
def track_open(request, pool, signed):
    "The tracking image of an email: records that it was opened."
    Mail = pool.get('buero365.offer.mail')
    Event = pool.get('buero365.offer.event')
    mail = Mail.from_signed_token(signed)
    if mail:
        Event.record_visit(mail.offer, 'opened', request, mail=mail)
    # Forged tokens get the same image: they learn nothing.
    return secure(Response(PIXEL, 200, content_type='image/gif'))


@public_route('/<database_name>/offers/t/<signed>/<action>', methods={'GET'})
@with_pool
@with_transaction(readonly=False)
def track_click(request, pool, signed, action):
    "A link of an email: records the click and opens the offer page."
    Mail = pool.get('buero365.offer.mail')
    Event = pool.get('buero365.offer.event')
    Link = pool.get('buero365.offer.link')
    mail = Mail.from_signed_token(signed)
    if not mail or action not in TRACKING_ACTIONS:
        not_found()
    Event.record_visit(mail.offer, 'clicked', request, mail=mail,
        detail=action)
    link = Link.find_shown(mail.offer)
    if not link:
        not_found()
    fragment = '' if action == 'view' else f'#{action}'
    return secure(redirect(link.url + fragment, code=303))


# The offer page -------------------------------------------------------------

@public_route('/<database_name>/offers/static/<name>', methods={'GET'})
def offer_static(request, database_name, name):
    "The style sheet and scripts of the pages (served by us alone)."
    if name not in STATIC_TYPES:
        not_found()
    response = Response(
        (STATIC_DIR / name).read_bytes(), 200,
        content_type=STATIC_TYPES[name])
    response.headers['Cache-Control'] = 'public, max-age=3600'
    return secure(response)


@public_route('/<database_name>/offers/<token>', methods={'GET'})
@with_pool
@with_transaction(readonly=False)
def offer_page(request, pool, token):
    "The offer as the customer sees it, with the forms to answer it."
    Link = pool.get('buero365.offer.link')
    Page = pool.get('buero365.offer.page', type='report')
    link = Link.find(token)
    if not link:
        not_found()
    return _html(Page.render_page(link, request))


@public_route('/<database_name>/offers/<token>/pdf', methods={'GET'})
@with_pool
@with_transaction(readonly=False)  # the first download keeps the PDF
def offer_pdf(request, pool, token):
    "The offer as PDF, as the customer may download it."
    Link = pool.get('buero365.offer.link')
    link = Link.find(token)
    pdf = link.customer_pdf() if link else None
    if not pdf:
        not_found()
    response = Response(pdf, 200, content_type='application/pdf')
    response.headers['Content-Disposition'] = (
        f'inline; filename="{link.offer.number}.pdf"')
    return secure(response)


@public_route('/<database_name>/offers/<token>/media/<int:attachment_id>',
    methods={'GET'})
@with_pool
@with_transaction()
def offer_media(request, pool, token, attachment_id):
    "An image, video or attachment the staff made visible on the page."
    Link = pool.get('buero365.offer.link')
    Attachment = pool.get('ir.attachment')
    link = Link.find(token)
    if not link or attachment_id not in link.customer_media_ids():
        not_found()
    items = Attachment.search([
            ('id', '=', attachment_id),
            ('resource', '=', str(link.offer)),
            ('type', '=', 'data'),
            # Staff can still withdraw a medium shown on a sent page.
            ('customer_visible', '=', True),
            ], limit=1)
    if not items:
        not_found()
    response = media_response(items[0], request)
    if response is None:
        not_found()
    return secure(response)


def _answer(request, pool, token, form_name, answer):
    """Run answer(link, form, ip=, user_agent=, digest=) for the link of
    token with the form form_name and answer the browser: back to the page
    on success, the page with the reason (and what was typed) otherwise."""
    Link = pool.get('buero365.offer.link')
    Page = pool.get('buero365.offer.page', type='report')
    values = dict(_form_values(request.form), form=form_name)
    link = Link.find(token)
    if not link:
        not_found()
    language = link.offer.customer_language()
    if not link.check_form_token(request.form.get('csrf')):
        abandon()
        with Transaction().set_context(language=language):
            error = gettext('buero365_offers.msg_form_expired')
        return _html(Page.render_page(
                Link(link.id), request, error=error, values=values), 403)
    try:
        with Transaction().set_context(language=language):
            answer(link, request.form, ip=request.remote_addr,
                user_agent=_user_agent(request),
                digest=request.form.get('digest', ''))
    except UserError as exception:
        # AnswerRefused (409) or AnswerInvalid (400); matched by their
        # status, as the module may be imported under two names in tests.
        status = getattr(exception, 'http_status', None)
        if status is None:
            raise
        abandon()
        return _html(Page.render_page(
                Link(link.id), request, error=exception.message,
                values=values if status == 400 else None), status)
    return secure(redirect(link.page_path() + '#answer', code=303))


def _form_values(form):
    """What the customer typed and ticked, to fill the form again (escaped
    when shown)."""
    chosen = _chosen(form)
    return {
        'chosen': frozenset(chosen) if chosen is not None else None,
        'name': form.get('name', '')[:NAME_MAX_LENGTH * 2],
        'reason': form.get('reason', '')[:40],
        'comment': form.get('comment', '')[:COMMENT_MAX_LENGTH * 2],
        'start': form.get('start', '')[:40],
        'end': form.get('end', '')[:40],
        'form': form.get('form', '')[:10],
        }


@public_route('/<database_name>/offers/<token>/accept', methods={'POST'})
@with_pool
@with_transaction()
def offer_accept(request, pool, token):
    "The customer accepts with their name and drawn signature."
    Offer = pool.get('buero365.offer')

    def accept(link, form, **evidence):
        Offer.accept_online(
            link, form.get('name', ''),
            decode_png_data_url(form.get('signature', '')),
            terms_accepted=bool(form.get('terms')),
            chosen=_chosen(form), **evidence)
    return _answer(request, pool, token, 'accept', accept)


def _chosen(form):
    """The line ids of the services the accept form chose: the ticked
    options ("chosen", with the included ones) and the alternative of each
    group (a radio "group-N"); None for a form without choices."""
    if not form.get('choices'):
        return None
    chosen = form.getlist('chosen')
    for key, value in form.items(multi=True):
        if key.startswith('group-'):
            chosen.append(value)
    # A form of a page has a few dozen; more is not one of ours.
    return chosen[:1000]


@public_route('/<database_name>/offers/<token>/reject', methods={'POST'})
@with_pool
@with_transaction()
def offer_reject(request, pool, token):
    "The customer rejects with a reason and a comment."
    Offer = pool.get('buero365.offer')

    def reject(link, form, **evidence):
        Offer.reject_online(
            link, form.get('reason', ''), form.get('comment', ''),
            **evidence)
    return _answer(request, pool, token, 'reject', reject)


@public_route('/<database_name>/offers/<token>/date', methods={'POST'})
@with_pool
@with_transaction()
def offer_date(request, pool, token):
    "The customer proposes another date (ISO 8601 start, optional end)."
    Offer = pool.get('buero365.offer')

    def propose(link, form, **evidence):
        Offer.propose_date(
            link, form.get('start', ''), form.get('end', ''),
            comment=form.get('comment', ''), **evidence)
    return _answer(request, pool, token, 'date', propose)
