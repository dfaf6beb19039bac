# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The customer portal: web users (web_user) see the offers of their
parties, log in and out, reset their password; staff invite customers."""
import trytond.config as config
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.report import Report, get_email
from trytond.sendmail import send_message_transactional
from trytond.tools.email_ import set_from_header
from trytond.transaction import Transaction, without_check_access

from .customer import PORTAL_SECRET, HTMLPage, _sign
from .document import SerializedRender, sanitize_html
from .sending import one_line
from .text import same_secret

# The states the portal shows, as the customer page names them.
PORTAL_STATUSES = [
    'open', 'updating', 'date_requested', 'accepted', 'rejected', 'expired']
# Customers' passwords are at least this long (more if [password] length).
PASSWORD_MIN_LENGTH = 8


def portal_form_token(bound):
    """The anti-forgery token of the portal's forms, bound to the session
    key (or, before login, to a random nonce kept in a cookie)."""
    return _sign(PORTAL_SECRET, f'portal:{bound}')


def check_portal_form_token(bound, value):
    "Tell whether value is the form token bound to bound (constant time)."
    if not bound or not isinstance(value, str) or len(value) > 64:
        return False
    return same_secret(portal_form_token(bound), value)


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

    @property
    def portal_parties(self):
        "The parties whose offers the user sees."
        parties = [self.party] if self.party else []
        return parties + list(self.secondary_parties)

    def portal_offers(self):
        "The offers the user sees in the portal, newest first."
        pool = Pool()
        Offer = pool.get('buero365.offer')
        parties = [p.id for p in self.portal_parties]
        if not parties:
            return []
        return Offer.search(
            Offer.portal_domain(parties),
            order=[('create_date', 'DESC'), ('id', 'DESC')])

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


class Offer(metaclass=PoolMeta):
    __name__ = 'buero365.offer'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'invite_portal': {
                    'icon': 'tryton-email',
                    'readonly': ~Eval('party'),
                    'depends': ['party'],
                    },
                })

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
        "Email the invitation to the portal, in the customer's language."
        pool = Pool()
        Lang = pool.get('ir.lang')
        languages = Lang.search([
                ('code', '=', offer.customer_language()),
                ], limit=1)
        with Transaction().set_context(buero365_invite_offer=offer.id):
            msg, title = get_email(
                'buero365.offer.portal_invite', user, languages)
        from_ = config.get('email', 'from')
        set_from_header(msg, from_, from_)
        msg['To'] = user.email
        msg['Subject'] = one_line(title)
        send_message_transactional(msg)


class PortalPage(HTMLPage):
    "Offer Portal Page"
    __name__ = 'buero365.offer.portal'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['html'] = sanitize_html
        for key in ['page', 'web_user', 'form_token', 'error', 'values',
                'statuses', 'summaries', 'base', 'static', 'notice']:
            context[key] = data.get(key)
        return context

    @classmethod
    def render_page(cls, page, language, web_user=None, offers=(),
            form_token=None, error=None, values=None, notice=None):
        """Return the HTML of a portal page: login, offers, reset,
        reset_sent, password."""
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        Link = pool.get('buero365.offer.link')
        action, = ActionReport.search([
                ('report_name', '=', cls.__name__),
                ], limit=1)
        database = Transaction().database.name
        statuses, summaries = {}, {}
        for offer in offers:
            link = Link.find_shown(offer)
            statuses[offer.id] = (
                offer.customer_status(link) if link else offer.state)
            # What the customer was sent, not what staff are preparing.
            sent = link if link and link.sent else None
            summaries[offer.id] = {
                'title': sent.sent_title if sent else offer.title,
                'valid_until': (sent.sent_valid_until if sent
                    else offer.valid_until),
                'total_amount': (sent.sent_total_amount if sent
                    else offer.total_amount),
                }
        with Transaction().set_context(
                language=language, with_rec_name=False):
            _, content, _, _ = cls.execute([o.id for o in offers], {
                    'action_id': action.id,
                    'model': 'buero365.offer',
                    'page': page,
                    'web_user': web_user,
                    'form_token': form_token,
                    'error': error,
                    'values': values or {},
                    'statuses': statuses,
                    'summaries': summaries,
                    'base': f'/{database}/portal',
                    'static': Link.static_path(),
                    'notice': notice,
                    })
        return content


class PortalInviteEmail(SerializedRender, Report):
    "Offer Portal Invitation"
    __name__ = 'buero365.offer.portal_invite'

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        context = super().get_context(records, header, data)
        offer_id = Transaction().context.get('buero365_invite_offer')
        offer = Offer(offer_id) if offer_id else None
        context['offer'] = offer
        context['company'] = offer.company if offer else None
        return context
