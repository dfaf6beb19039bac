# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The portal's routes: a customer logs in with their web user and sees
their offers.  Registered with routes.public_route like every customer
page."""
import secrets

from trytond.exceptions import RateLimitException, UserError
from trytond.i18n import gettext
from trytond.protocols.wrappers import (
    HTTPStatus,
    abort,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction

from ..access import check_portal_form_token, portal_form_token
from .routes import _html, abandon, not_found, public_route, secure

PORTAL_COOKIE = 'buero365_portal'
NONCE_COOKIE = 'buero365_portal_nonce'
# Tells the login that it comes from a browser the customer logged in with.
DEVICE_COOKIE = 'buero365_portal_device'
DEVICE_MAX_AGE = 365 * 24 * 60 * 60


def _portal_base(pool):
    return f'/{pool.database_name}/portal'


def _portal_user(request, pool):
    "The web user and key of the request's portal session, or (None, None)."
    WebUser = pool.get('web.user')
    key = request.cookies.get(PORTAL_COOKIE)
    if not key or len(key) > 128:
        return None, None
    user = WebUser.get_user(key)
    return (user, key) if user else (None, None)


def _portal_language(request, pool, user=None):
    "The portal's language: the customer's, else the browser's choice."
    Lang = pool.get('ir.lang')
    Config = pool.get('ir.configuration')
    if user and user.party and user.party.lang:
        return user.party.lang.code
    codes = [l.code for l in Lang.search([('translatable', '=', True)])]
    best = request.accept_languages.best_match(
        [c.replace('_', '-') for c in codes])
    return best.replace('-', '_') if best else Config.get_language()


def _set_cookie(response, request, pool, name, value, max_age=None):
    response.set_cookie(
        name, value, max_age=max_age, path=_portal_base(pool),
        secure=request.scheme == 'https', httponly=True, samesite='Lax')


def _nonce(request):
    nonce = request.cookies.get(NONCE_COOKIE)
    if nonce and 16 <= len(nonce) <= 64:
        return nonce
    return None


def _anonymous_page(request, pool, page, status=200, **kwargs):
    """A portal page for a visitor who is not logged in; its forms are
    bound to a random nonce kept in a cookie."""
    Page = pool.get('buero365.offer.portal', type='report')
    nonce = _nonce(request) or secrets.token_urlsafe(24)
    content = Page.render_page(
        page, _portal_language(request, pool),
        form_token=portal_form_token(nonce), **kwargs)
    response = _html(content, status)
    _set_cookie(response, request, pool, NONCE_COOKIE, nonce)
    return response


def _portal_message(request, pool, message_id, **variables):
    with Transaction().set_context(
            language=_portal_language(request, pool)):
        return gettext(message_id, **variables)


@public_route('/<database_name>/portal', methods={'GET'})
@public_route('/<database_name>/portal/', methods={'GET'})
@with_pool
@with_transaction()
def portal_index(request, pool):
    return secure(redirect(_portal_base(pool) + '/offers', code=303))


@public_route('/<database_name>/portal/login', methods={'GET'})
@with_pool
@with_transaction()
def portal_login_form(request, pool):
    "The login form of the portal."
    user, _ = _portal_user(request, pool)
    if user:
        return secure(redirect(_portal_base(pool) + '/offers', code=303))
    return _anonymous_page(request, pool, 'login')


@public_route('/<database_name>/portal/login', methods={'POST'})
@with_pool
@with_transaction()
def portal_login(request, pool):
    "Log a web user in: a session cookie (HttpOnly, SameSite) is set."
    WebUser = pool.get('web.user')
    email = request.form.get('email', '')[:320]
    password = request.form.get('password', '')[:1024]
    values = {'email': email}
    if not check_portal_form_token(
            _nonce(request), request.form.get('csrf')):
        return _anonymous_page(request, pool, 'login', 403, values=values,
            error=_portal_message(
                request, pool, 'buero365_offers.msg_form_expired'))
    try:
        user, device = WebUser.portal_authenticate(
            email, password, request.cookies.get(DEVICE_COOKIE))
    except RateLimitException:
        return _anonymous_page(request, pool, 'login', 429, values=values,
            error=_portal_message(
                request, pool, 'buero365_offers.msg_portal_rate_limited'))
    if not user:
        return _anonymous_page(request, pool, 'login', 400, values=values,
            error=_portal_message(
                request, pool, 'buero365_offers.msg_portal_login_failed'))
    response = _logged_in(request, pool, user)
    _set_cookie(response, request, pool, DEVICE_COOKIE, device,
        max_age=DEVICE_MAX_AGE)
    return response


def _logged_in(request, pool, user):
    key = user.new_session()
    response = secure(redirect(_portal_base(pool) + '/offers', code=303))
    Session = pool.get('web.user.session')
    _set_cookie(response, request, pool, PORTAL_COOKIE, key,
        max_age=int(Session.timeout().total_seconds()))
    response.delete_cookie(NONCE_COOKIE, path=_portal_base(pool))
    return response


@public_route('/<database_name>/portal/logout', methods={'POST'})
@with_pool
@with_transaction()
def portal_logout(request, pool):
    "End the portal session of the request."
    Session = pool.get('web.user.session')
    user, key = _portal_user(request, pool)
    if user and check_portal_form_token(key, request.form.get('csrf')):
        Session.remove(key)
    elif user:
        abort(HTTPStatus.FORBIDDEN)
    response = secure(redirect(_portal_base(pool) + '/login', code=303))
    response.delete_cookie(PORTAL_COOKIE, path=_portal_base(pool))
    return response


@public_route('/<database_name>/portal/reset', methods={'GET'})
@with_pool
@with_transaction()
def portal_reset_form(request, pool):
    "The form to ask for a link to set a new password."
    return _anonymous_page(request, pool, 'reset')


@public_route('/<database_name>/portal/reset', methods={'POST'})
@with_pool
@with_transaction()
def portal_reset(request, pool):
    """Email a link to set a new password.  The answer is the same, and
    as fast, whether an account exists or not."""
    PasswordRequest = pool.get('buero365.portal.password_request')
    email = request.form.get('email', '').strip()[:320]
    if not check_portal_form_token(
            _nonce(request), request.form.get('csrf')):
        return _anonymous_page(request, pool, 'reset', 403,
            values={'email': email},
            error=_portal_message(
                request, pool, 'buero365_offers.msg_form_expired'))
    if email:
        PasswordRequest.ask(email, _portal_language(request, pool))
    return _anonymous_page(request, pool, 'reset_sent')


@public_route('/<database_name>/portal/password', methods={'GET'})
@with_pool
@with_transaction()
def portal_password_form(request, pool):
    "The form of the emailed link that sets a new password."
    values = {
        'email': request.args.get('email', '')[:320],
        'token': request.args.get('token', '')[:128],
        }
    return _anonymous_page(request, pool, 'password', values=values)


@public_route('/<database_name>/portal/password', methods={'POST'})
@with_pool
@with_transaction()
def portal_password(request, pool):
    "Set the new password and log the web user in."
    WebUser = pool.get('web.user')
    form = request.form
    values = {
        'email': form.get('email', '')[:320],
        'token': form.get('token', '')[:128],
        }
    password = form.get('password', '')[:1024]
    if not check_portal_form_token(_nonce(request), form.get('csrf')):
        return _anonymous_page(request, pool, 'password', 403,
            values=values, error=_portal_message(
                request, pool, 'buero365_offers.msg_form_expired'))
    if password != form.get('password2', '')[:1024]:
        return _anonymous_page(request, pool, 'password', 400,
            values=values, error=_portal_message(
                request, pool, 'buero365_offers.msg_portal_password_mismatch'))
    try:
        with Transaction().set_context(
                language=_portal_language(request, pool)):
            user = WebUser.portal_set_password(
                values['email'], values['token'], password)
    except UserError as exception:
        abandon()
        return _anonymous_page(request, pool, 'password', 400,
            values=values, error=exception.message)
    if not user:
        return _anonymous_page(request, pool, 'password', 400,
            values=values, error=_portal_message(
                request, pool, 'buero365_offers.msg_portal_link_invalid'))
    return _logged_in(request, pool, user)


@public_route('/<database_name>/portal/offers', methods={'GET'})
@with_pool
@with_transaction()
def portal_offers(request, pool):
    "The logged-in web user's offers with their status."
    Page = pool.get('buero365.offer.portal', type='report')
    user, key = _portal_user(request, pool)
    if not user:
        return secure(redirect(_portal_base(pool) + '/login', code=303))
    page = _page_number(request.args.get('page', '1'))
    if page is None:
        not_found()
    offers, has_next = user.portal_offers(page)
    if not offers and page > 1:
        # Past the last page (or a page that no longer exists).
        not_found()
    content = Page.render_page(
        'offers', _portal_language(request, pool, user), web_user=user,
        offers=offers, form_token=portal_form_token(key),
        page_number=page, has_next=has_next)
    return _html(content)


def _page_number(value):
    "The page number of the list asked for, or None if it is not one."
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    page = int(value)
    return page if page >= 1 else None


@public_route('/<database_name>/portal/offers/<int:offer_id>', methods={'GET'})
@with_pool
@with_transaction()
def portal_offer(request, pool, offer_id):
    "Open one of the web user's offers: its current customer page."
    Link = pool.get('buero365.offer.link')
    user, _ = _portal_user(request, pool)
    if not user:
        return secure(redirect(_portal_base(pool) + '/login', code=303))
    offer = user.portal_offer(offer_id)
    link = Link.find_shown(offer) if offer else None
    if not link:
        not_found()
    return secure(redirect(link.page_path(), code=303))
