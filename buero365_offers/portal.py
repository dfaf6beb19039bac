# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The customer portal: web users (web_user) see the offers of their
parties, log in and out, reset their password; staff invite customers."""
import secrets
import time

from sql.aggregate import Count

import trytond.config as config
from trytond.exceptions import RateLimitException, UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.res.user import PASSWORD_HASH
from trytond.transaction import Transaction, without_check_access

from .access import sign, verify
from .mail import QUEUE
from .mail_headers import checked_message
from .text import clean_line

# Customers' passwords are at least this long (more if [password] length).
PASSWORD_MIN_LENGTH = 8
# Offers on one page of the portal's list.
PORTAL_PAGE_SIZE = 20


_dummy_hash = []


def dummy_password_hash():
    """A hash of no one's password, made once per process: checking a
    password against it takes as long as against a customer's."""
    if not _dummy_hash:
        _dummy_hash.append(PASSWORD_HASH.hash(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


class WebUser(metaclass=PoolMeta):
    __name__ = 'web.user'

    @classmethod
    def portal_url(cls, page=''):
        "The absolute address of a page of the portal."
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        database = Transaction().database.name
        return f'{Link.base_url()}/{database}/portal/{page}'.rstrip('/')

    def get_email_reset_password_url(self, url=None):
        # Without a configured page, the link leads to the portal's.
        if url is None and not config.get('web', 'reset_password_url'):
            url = self.portal_url('password')
        return super().get_email_reset_password_url(url=url)

    # web_user sets To and Subject on these messages: they are checked.
    def get_email_reset_password(self):
        msg, title = super().get_email_reset_password()
        return checked_message(msg), title

    def get_email_validation(self):
        msg, title = super().get_email_validation()
        return checked_message(msg), title

    @classmethod
    def portal_authenticate(cls, email, password, device=None):
        """Return (user, device cookie) when password is the password of
        the account of email, else (None, None); raise RateLimitException
        after too many failures.

        The same work is done whether or not the account exists (a
        password hash is checked).  Failures count per address and client
        (the device cookie of an earlier login from this browser, else the
        IP network), as res.user does: nobody can lock a customer out from
        elsewhere."""
        pool = Pool()
        Attempt = pool.get('web.user.authenticate.attempt')
        # No address has control characters (a NUL fails on PostgreSQL).
        email = clean_line(email).lower()
        if Attempt.count_ip() > config.getint(
                'session', 'max_attempt_ip_network', default=300):
            # Not counted: the goal is to stop a flood.
            raise RateLimitException()
        users = cls.search([('email', '=', email)], limit=1)
        user = users[0] if users else None
        if not (user and user.check_device_cookie(device)):
            device = None
        count = Attempt.count_client(email, device)
        if count > config.getint('session', 'max_attempt', default=5):
            Attempt.add(email, device)
            raise RateLimitException()
        # Against brute force, as web_user does.
        Transaction().atexit(time.sleep, 2 ** count - 1)
        password_hash = user.password_hash if user else None
        valid, new_hash = cls.check_password(
            password, password_hash or dummy_password_hash())
        if valid and password_hash:
            if new_hash:
                with Transaction().new_transaction(), without_check_access():
                    cls.write([cls(user.id)], {'password_hash': new_hash})
            Attempt.remove(email, device)
            return user, user.new_device_cookie()
        Attempt.add(email, device)
        return None, None

    def new_device_cookie(self):
        "A cookie that tells later logins of the user come from this browser."
        nonce = secrets.token_urlsafe(16)
        return f'{nonce}.{sign("portal", f"device:{self.id}:{nonce}")}'

    def check_device_cookie(self, cookie):
        "Tell whether cookie is a device cookie of the user (constant time)."
        if not isinstance(cookie, str) or len(cookie) > 128:
            return False
        nonce, _, signature = cookie.partition('.')
        if not nonce or not signature:
            return False
        return verify('portal', f'device:{self.id}:{nonce}', signature)

    @property
    def portal_parties(self):
        "The parties whose offers the user sees."
        parties = [self.party] if self.party else []
        return parties + list(self.secondary_parties)

    def portal_offers(self, page=1, size=PORTAL_PAGE_SIZE):
        """The offers the user sees on page (from 1) of the portal's list,
        newest first, and whether an older page follows."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        parties = [p.id for p in self.portal_parties]
        if not parties:
            return [], False
        # One more than shown: tells whether a next page exists, no count.
        offers = Offer.search(
            Offer.portal_domain(parties),
            offset=(page - 1) * size, limit=size + 1,
            order=[('create_date', 'DESC'), ('id', 'DESC')])
        return offers[:size], len(offers) > size

    def portal_offer(self, offer_id):
        "The offer of id if the user may see it, else None."
        pool = Pool()
        Offer = pool.get('buero365.offer')
        parties = [p.id for p in self.portal_parties]
        if not parties or not isinstance(offer_id, int):
            return None
        offers = Offer.search(
            [('id', '=', offer_id)] + Offer.portal_domain(parties), limit=1)
        return offers[0] if offers else None

    @classmethod
    def portal_set_password(cls, email, token, password):
        """Set the password of the account of email with the token of a
        reset or invitation link; return the user or None.

        The password must pass the same rules as the staff's."""
        pool = Pool()
        User = pool.get('res.user')
        if not email or not token or len(email) > 320 or len(token) > 128:
            return None
        users = cls.search([('email', '=', email.lower())], limit=1)
        if len(password or '') < PASSWORD_MIN_LENGTH:
            raise UserError(gettext(
                    'buero365_offers.msg_portal_password_too_short',
                    length=PASSWORD_MIN_LENGTH))
        # The rules of res.user (length, forbidden words, not the email).
        User.validate_password(password, users)
        if not cls.set_password_token(email, token, password):
            return None
        user, = users
        if not user.email_valid:
            # The link reached the inbox: the address is proven.
            cls.write([user], {'email_valid': True})
        return user


class PortalMixin:
    "The offers in the customer portal (buero365.offer uses it)."
    __slots__ = ()

    @classmethod
    def portal_domain(cls, parties):
        """The offers of parties a portal user sees: all but those still
        being written (never sent and open)."""
        return [
            ('party', 'in', parties),
            ['OR',
                ('sent_revision', '>', 0),
                ('state', '!=', 'open'),
                ],
            ]

    @classmethod
    def portal_summaries(cls, offers):
        """What the portal's list shows of each offer, in a few queries
        for all of them: {offer id: (status, title, valid until, total)},
        the status as the customer's page tells it and the rest as the
        customer was sent it (not what staff are preparing); the total of
        an accepted offer is that of the services chosen."""
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        DateRequest = pool.get('buero365.offer.date_request')
        if not offers:
            return {}
        offers = cls.browse(offers)
        ids = [o.id for o in offers]
        links = {(l.offer.id, l.revision): l
            for l in Link.search([('offer', 'in', ids)])}
        pending = {(r.offer.id, r.revision) for r in DateRequest.search([
                    ('offer', 'in', ids),
                    ('state', '=', 'pending'),
                    ])}
        summaries = {}
        for offer in offers:
            # As Link.find_shown: the last sent revision, else the current.
            revision = offer.sent_revision or offer.revision
            shown = (links.get((offer.id, revision))
                or links.get((offer.id, offer.revision)))
            status = offer.shown_status(shown,
                pending=(offer.id, offer.revision) in pending) \
                if shown else offer.state
            sent = shown if shown and shown.sent else None
            summaries[offer.id] = (
                status,
                sent.sent_title if sent else offer.title,
                sent.sent_valid_until if sent else offer.valid_until,
                # Accepted: the total of the services the customer chose.
                sent.sent_total_amount if sent and status != 'accepted'
                else offer.total_amount)
        return summaries

    @classmethod
    @ModelView.button
    def invite_portal(cls, offers):
        """Give the customers of the offers a portal account (or add the
        party to their existing one) and email them a link to set their
        password."""
        pool = Pool()
        WebUser = pool.get('web.user')
        for offer in offers:
            email = offer.customer_email
            if not email:
                raise UserError(gettext(
                        'buero365_offers.msg_portal_invite_no_email',
                        offer=offer.rec_name))
            with without_check_access():
                users = WebUser.search([
                        ('email', '=', email.lower()),
                        ], limit=1)
                if users:
                    user, = users
                    if not user.party:
                        user.party = offer.party
                    elif (offer.party not in user.portal_parties):
                        user.secondary_parties += (offer.party,)
                else:
                    user = WebUser(email=email, party=offer.party)
                user.set_reset_password_token()
                user.save()
                cls.send_portal_invitation(offer, user)

    @classmethod
    def send_portal_invitation(cls, offer, user):
        """Email the invitation to the portal to the customer of offer, like
        every email to a customer: archived and tracked with the offer."""
        with Transaction().set_context(
                portal_password_url=user.get_email_reset_password_url(),
                portal_login_url=user.portal_url('login')):
            return offer.send_to_customer(
                'portal_invite', 'email_template_portal_invite',
                recipients=user.email)

class UserAuthenticateAttempt(metaclass=PoolMeta):
    __name__ = 'web.user.authenticate.attempt'

    @classmethod
    def count_client(cls, login, device_cookie=None):
        """The recent failed attempts on login from this client: from the
        browser of device_cookie, else from the IP network of the request
        (without a device cookie)."""
        if device_cookie:
            return cls.count(login, device_cookie)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        _, ip_network = Transaction().remote_address()
        cursor.execute(*table.select(Count(),
                where=(table.login == login[:cls.login.size])
                & (table.device_cookie == None)  # noqa: E711
                & (table.ip_network == (
                        str(ip_network) if ip_network else None))
                & (table.create_date >= cls.delay())))
        return cursor.fetchone()[0]


class PasswordRequest(ModelSQL):
    "Portal Password Request"
    __name__ = 'buero365.portal.password_request'
    __string__ = "Portal Password Request"

    email = fields.Char("Email", required=True)
    language = fields.Char("Language")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__ = {}

    @classmethod
    def ask(cls, email, language):
        """Queue the email of a link to set a new password to the account
        of email, if there is one.  The same work is done whether there is
        one or not, and the email goes out after the answer (ir.queue): the
        answer does not tell who has an account."""
        email = clean_line(email)[:320]
        if not email:
            return
        request, = cls.create([{'email': email, 'language': language}])
        with Transaction().set_context(queue_name=QUEUE):
            cls.__queue__.send_link([request])

    @classmethod
    def send_link(cls, requests):
        "Email the link of each request to its account, if it exists."
        pool = Pool()
        WebUser = pool.get('web.user')
        for request in requests:
            users = WebUser.search([
                    ('email', '=', request.email.lower()),
                    ], limit=1)
            if users:
                with Transaction().set_context(language=request.language):
                    WebUser.reset_password(users)
        cls.delete(requests)


