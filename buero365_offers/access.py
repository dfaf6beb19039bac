# This file is part of Büro 365 Offers.  See the README for licence terms.
"""What a customer holds instead of a login: the tokens of the customer
links, the anti-forgery tokens of the forms, the tracking tokens of the
emails, the portal's device cookies and the seal of acceptance evidence.

Each is signed with one sign() and checked with one verify(): an HMAC with
a secret of the database (buero365.offer.secret) named by its purpose,
compared in constant time."""
import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets

from genshi.input import XML

from trytond.cache import Cache
from trytond.filestore import filestore
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.url import http_host

# The purposes, each with its secret of that name, and the bytes of the
# HMAC its signatures keep: the lengths of the tokens in emails already
# sent, which must go on verifying.
SIGNATURE_BYTES = {
    'tracking': 16,  # tracking URLs of the emails
    'customer_form': 18,  # anti-forgery token of the offer page's forms
    'portal': 18,  # the portal's anti-forgery tokens and device cookies
    'evidence': 32,  # seal of the evidence of an acceptance
    }
# Longest signature verify() looks at; real ones have at most 43 characters.
SIGNATURE_MAX_LENGTH = 64


class Secret(ModelSQL):
    "Offer Secret"
    __name__ = 'buero365.offer.secret'
    __string__ = "Offer Secret"

    name = fields.Char("Name", required=True)
    value = fields.Char("Value", required=True, strip=False)
    # Read on every page and form: kept per process, cleared on change.
    _value_cache = Cache(f'{__module__}.secret.value', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('name_unique', Unique(t, t.name),
                'buero365_offers.msg_secret_name_unique'),
            ]
        cls.__rpc__ = {}

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # Created once at installation, so that no request ever has to
        # create one (and race another one doing the same).
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for name in SIGNATURE_BYTES:
            cursor.execute(*table.select(table.id, where=table.name == name))
            if not cursor.fetchone():
                cursor.execute(*table.insert(
                        [table.name, table.value],
                        [[name, secrets.token_urlsafe(32)]]))

    @classmethod
    def get(cls, name):
        value = cls._value_cache.get(name)
        if value is None:
            with without_check_access():
                secrets_ = cls.search([('name', '=', name)], limit=1)
            value = secrets_[0].value if secrets_ else None
            if value is not None:
                cls._value_cache.set(name, value)
        return value

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._value_cache.clear()


def _signature(purpose, text):
    secret = Pool().get('buero365.offer.secret').get(purpose)
    if secret is None:
        return None
    digest = hmac.new(secret.encode('utf-8'),
        text.encode('utf-8', 'surrogatepass'), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(
        digest[:SIGNATURE_BYTES[purpose]]).rstrip(b'=').decode()


def sign(purpose, text):
    """Return the signature of text for purpose (a key of SIGNATURE_BYTES):
    its HMAC-SHA256 with the purpose's secret, cut to its length, in
    URL-safe base64 without padding."""
    signature = _signature(purpose, text)
    if signature is None:
        raise LookupError(f"No secret {purpose!r}: update the module.")
    return signature


def verify(purpose, text, signature):
    """Tell in constant time whether signature is the signature of text
    for purpose; anything may be given as signature."""
    if (not isinstance(signature, str) or not signature
            or len(signature) > SIGNATURE_MAX_LENGTH):
        return False
    return same_secret(_signature(purpose, text), signature)


def same_secret(expected, given):
    """Tell in constant time whether given is the secret expected (a token,
    an HMAC, a fingerprint).

    Anything may be given: text in any script (compared as UTF-8, where
    hmac.compare_digest refuses non-ASCII text), bytes, None."""
    def as_bytes(value):
        if isinstance(value, str):
            return value.encode('utf-8', 'surrogatepass')
        return value if isinstance(value, bytes) else None
    expected, given = as_bytes(expected), as_bytes(given)
    if expected is None or given is None:
        return False
    return hmac.compare_digest(expected, given)


def token_hash(token):
    "The SHA-256 of a customer link's token: its link is looked up by it."
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def portal_form_token(bound):
    """The anti-forgery token of the portal's forms, bound to the session
    key (or, before login, to a random nonce kept in a cookie)."""
    return sign('portal', f'portal:{bound}')


def check_portal_form_token(bound, value):
    "Tell whether value is the form token bound to bound (constant time)."
    return bool(bound) and verify('portal', f'portal:{bound}', value)


class CustomerLink(ModelSQL, ModelView):
    """Offer Customer Link: the access token of one revision of an offer,
    the capability in the customer's URL (not a web link: those are media,
    see media.py)."""
    __name__ = 'buero365.offer.link'
    __string__ = "Offer Customer Link"

    offer = fields.Many2One(
        'buero365.offer', "Offer", required=True, ondelete='CASCADE',
        readonly=True)
    revision = fields.Integer("Revision", required=True, readonly=True)
    token = fields.Char("Token", required=True, readonly=True, strip=False)
    token_hash = fields.Char("Token Hash", required=True, readonly=True)
    url = fields.Function(fields.Char("URL"), 'get_url')
    # The PDF of this revision, rendered once (document) and what the
    # customer was sent of it (record_sent_document)
    pdf_sha256 = fields.Char(
        "PDF SHA-256", readonly=True,
        help="The fingerprint of the PDF of this revision.")
    sent_at = fields.Timestamp(
        "Sent At", readonly=True,
        help="When this revision was last sent to the customer.")
    # The one stored file of the revision, unsigned: its name stays from
    # when it was kept only at sending.
    sent_document = fields.Binary(
        "Document", readonly=True,
        file_id='sent_document_id', filename='sent_document_name',
        help="The PDF of this revision, rendered once and kept: the "
        "customer was sent it, downloads it and signs it.")
    sent_document_id = fields.Char("Document ID", readonly=True)
    sent_document_name = fields.Char("Document Name", readonly=True)
    document_language = fields.Char(
        "Document Language", readonly=True,
        help="The code of the language the PDF of this revision is in.")
    answered_document = fields.Binary(
        "Answered Document", readonly=True,
        file_id='answered_document_id',
        help="The PDF of this revision once the offer was answered or "
        "closed (with the signature when accepted), rendered once and "
        "kept.")
    answered_document_id = fields.Char(
        "Answered Document ID", readonly=True)
    answered_document_key = fields.Char(
        "Answered Document Key", readonly=True,
        help="The status, signing time and language the answered PDF was "
        "rendered for.")
    sent_page = fields.Binary(
        "Sent Page", readonly=True, file_id='sent_page_id')
    sent_page_id = fields.Char("Sent Page ID", readonly=True)
    sent_digest = fields.Char(
        "Sent Fingerprint", readonly=True,
        help="The fingerprint of the page as the customer was sent it.")
    sent_title = fields.Char("Sent Title", readonly=True)
    sent_valid_until = fields.Date("Sent Valid Until", readonly=True)
    sent_total_amount = fields.Numeric(
        "Sent Total", digits=(16, 2), readonly=True)

    # Longest token we accept from a request; real ones are 43 characters.
    MAX_TOKEN_LENGTH = 64

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('offer')
        t = cls.__table__()
        cls._sql_constraints += [
            ('token_hash_unique', Unique(t, t.token_hash),
                'buero365_offers.msg_link_token_unique'),
            ('offer_revision_unique', Unique(t, t.offer, t.revision),
                'buero365_offers.msg_link_revision_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.token_hash, Index.Equality(cardinality='high'))))
        cls._order = [('revision', 'DESC'), ('id', 'DESC')]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('token'):
            # 256 bits from the OS's CSPRNG; the URL is the capability.
            values['token'] = secrets.token_urlsafe(32)
        if values.get('token'):
            values['token_hash'] = token_hash(values['token'])
        return values

    @classmethod
    def base_url(cls):
        """The public address of the customer pages, without trailing slash:
        the configured Public URL; without it the server's address as the
        staff user's request names it, or trytond's [web] hostname.  The
        Host of a customer's request is never used: anyone can send any
        Host, and a password-reset email must not link to their site."""
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        base = Configuration(1).public_url
        if not base:
            transaction = Transaction()
            if transaction.user:
                base = http_host()
            else:
                with transaction.set_context(_request=None):
                    base = http_host()
        return base.rstrip('/')

    @classmethod
    def url_for(cls, token, suffix=''):
        database = Transaction().database.name
        return f'{cls.base_url()}/{database}/offers/{token}{suffix}'

    def get_url(self, name):
        return self.url_for(self.token)

    @classmethod
    def find(cls, token):
        """Return the link of a token given by a customer, or None.

        Unknown, malformed and foreign tokens are all the same None."""
        if (not isinstance(token, str)
                or not 16 <= len(token) <= cls.MAX_TOKEN_LENGTH):
            return None
        try:
            token.encode('ascii')
        except UnicodeEncodeError:
            return None
        links = cls.search([('token_hash', '=', token_hash(token))], limit=1)
        if links and same_secret(links[0].token, token):
            return links[0]
        return None

    @classmethod
    def find_current(cls, offer):
        "The link of the offer's current revision, or None."
        links = cls.search([
                ('offer', '=', offer.id),
                ('revision', '=', offer.revision),
                ], limit=1)
        return links[0] if links else None

    @classmethod
    def find_shown(cls, offer):
        """The link of the revision the customer is shown: the last one
        sent, or the current one while the offer was never sent.

        A revision saved after the last sending is not the customer's
        until staff send it."""
        revision = offer.sent_revision or offer.revision
        links = cls.search([
                ('offer', '=', offer.id),
                ('revision', '=', revision),
                ], limit=1)
        return links[0] if links else cls.find_current(offer)

    @property
    def is_current(self):
        return self.revision == self.offer.revision

    @property
    def current(self):
        "The link of the offer's current revision."
        return self.find_current(self.offer)

    @property
    def shown(self):
        "The link of the revision the customer is shown."
        offer = self.offer
        if self.revision == (offer.sent_revision or offer.revision):
            return self  # no query: a page view asks several times
        return self.find_shown(offer)

    def form_token(self):
        """The anti-forgery token of the answer forms of this link's page:
        a page served by us carries it, a forged cross-site form cannot."""
        return sign('customer_form', f'answer:{self.token}')

    def check_form_token(self, value):
        "Tell whether value is this link's form token (constant time)."
        return verify('customer_form', f'answer:{self.token}', value)

    def page_path(self):
        "The path of the customer page on our site (no host)."
        return f'/{Transaction().database.name}/offers/{self.token}'

    @classmethod
    def static_path(cls):
        "The path of the pages' style sheet and scripts."
        return f'/{Transaction().database.name}/offers/static'

    # The PDF of the revision and what the customer was sent -------------

    def document_key(self, language):
        """What the answered PDF of the offer depends on besides the
        revision: its status, the signing time and the language."""
        offer = self.offer
        signed_at = offer.signed_at.isoformat() if offer.signed_at else ''
        return f'{offer.state}|{signed_at}|{language}'

    def document(self, language=None):
        """Return the PDF of this revision as the offer is now: unsigned
        while open (unsigned_document), once closed the answered copy that
        shows the signature (of the current revision only; an older one
        keeps the file it was sent).  Each is rendered once and kept.

        language defaults to the one of the email being written, else the
        customer's."""
        if self.offer.state == 'open' or not self.is_current:
            return self.unsigned_document(language)
        language = language or self.customer_language()
        key = self.document_key(language)
        if self.answered_document_id and self.answered_document_key == key:
            return self._stored(self.answered_document_id)
        pdf = self._render(language)
        with without_check_access():
            self.__class__.write([self], {
                    'answered_document': pdf,
                    'answered_document_key': key,
                    })
        return pdf

    def unsigned_document(self, language=None):
        """Return the PDF of this revision without answer (sent_document):
        rendered once, kept and served from then on, so that what is
        emailed, downloaded and signed is one file with one fingerprint
        (pdf_sha256).  Rendered again only in another language, or after
        an edit of a revision not sent yet (Offer.forget_documents).

        language is that of the email the PDF goes with: a revision sent
        again in another language gets its PDF in it.  Without it, the
        kept PDF whatever its language."""
        # An older revision keeps its file: the offer is another now.
        if self.sent_document_id and (not self.is_current
                or language in {None, self.document_language}
                or not self.document_language):
            return self._stored(self.sent_document_id)
        language = language or self.customer_language()
        pdf = self._render(language)
        if self.offer.state != 'open':
            return pdf  # not what an open offer shows: not kept
        with without_check_access():
            self.__class__.write([self], {
                    'sent_document': pdf,
                    'sent_document_name': (
                        f'{self.offer.number}-{self.revision}.pdf'),
                    'pdf_sha256': hashlib.sha256(pdf).hexdigest(),
                    'document_language': language,
                    })
        return pdf

    def chosen_document(self):
        """Return the PDF of this revision for the services the customer
        chose as they accept (rendered now, in the language of the kept
        PDF): what they sign when their choice is not the one sent."""
        # The PDF says the totals are of the customer's choice.
        with Transaction().set_context(offer_chosen=True):
            return self._render(
                self.document_language or self.customer_language())

    def customer_language(self):
        "The language of the offer's PDF: the email's, else the customer's."
        return (Transaction().context.get('offer_language')
            or self.offer.customer_language())

    def _render(self, language):
        Report = Pool().get('buero365.offer', type='report')
        with Transaction().set_context(offer_language=language):
            return Report.render_pdf(self.offer.__class__(self.offer.id))

    @staticmethod
    def _stored(file_id):
        # By its id: the Binary field would read the row again.
        return bytes(filestore.get(
                file_id, prefix=Transaction().database.name))

    @classmethod
    def forget_documents(cls, offers):
        """Forget the kept PDF of the current revision of offers that were
        edited before it was sent: the next one is rendered as they are."""
        if offers:
            cls.forget_documents_where(
                [('offer', 'in', [o.id for o in offers])])

    @classmethod
    def forget_documents_where(cls, domain):
        """Forget the kept PDF of the links of domain (it may reach their
        offer: ('offer.company', 'in', ...)) whose revision was not sent
        yet.  Found in SQL: no offer is read, however many match."""
        with without_check_access():
            links = cls.search([
                    domain,
                    ('sent_at', '=', None),
                    ['OR',
                        ('sent_document_id', '!=', None),
                        ('answered_document_id', '!=', None),
                        ],
                    ])
            if links:
                cls.write(links, {
                        'sent_document': None,
                        'pdf_sha256': None,
                        'document_language': None,
                        'answered_document': None,
                        'answered_document_key': None,
                        })

    @classmethod
    def record_sent_document(cls, offer, pdf=None):
        """Keep what the customer is sent of the offer's current revision:
        its PDF (unsigned_document, the one kept) and the offer part of the
        page, with the fingerprint of the page.  Until staff send a newer
        revision, the customer's link shows this, whatever staff change
        meanwhile.

        pdf is the PDF attached to the email (the kept one when None)."""
        pool = Pool()
        Page = pool.get('buero365.offer.page', type='report')
        Offer = pool.get('buero365.offer')
        offer.__class__.ensure_links([offer])
        link = cls.find_current(offer)
        values = {
            'sent_at': dt.datetime.now(),
            'sent_page': Page.render_snapshot(link),
            'sent_digest': offer.content_digest(),
            'sent_title': offer.title,
            'sent_valid_until': offer.valid_until,
            'sent_total_amount': offer.total_amount,
            }
        if pdf is None:
            link.unsigned_document()
        elif hashlib.sha256(bytes(pdf)).hexdigest() != link.pdf_sha256:
            values.update({
                    'sent_document': bytes(pdf),
                    'sent_document_name': (
                        f'{offer.number}-{link.revision}.pdf'),
                    'pdf_sha256': hashlib.sha256(bytes(pdf)).hexdigest(),
                    })
        with without_check_access():
            cls.write([link], values)
        # From now on a change makes a new revision, even before the
        # queue has delivered the email.
        Offer.write([offer], {'sent_revision': offer.revision})
        return cls(link.id)

    @property
    def sent(self):
        "Tell whether the customer was sent this revision as it was then."
        return bool(self.sent_at)

    def sent_page_content(self):
        """The JSON of the page as sent (sent_page) or None, read from the
        filestore by its id: the Binary field would cost two queries."""
        if not self.sent_page_id:
            return None
        return json.loads(bytes(filestore.get(
                    self.sent_page_id, prefix=Transaction().database.name)))

    def snapshot_parts(self):
        "The offer parts of the page as sent: {element id: markup}."
        content = self.sent_page_content()
        if not content:
            return None
        # Parsed streams: the template inserts them as markup, not text.
        return {key: XML(value) for key, value in content['parts'].items()}

    def customer_media_ids(self):
        "The ids of the media the page of this link shows."
        shown = self.shown
        content = shown.sent_page_content() if shown else None
        if content:
            return set(content['media'])
        media = self.offer.customer_media()
        return {m.id for items in media.values() for m in items}

    def customer_pdf(self):
        """The PDF the customer downloads from this link, or None when the
        link is of an older revision than the one they were sent."""
        shown = self.shown
        if not shown or self.revision < shown.revision:
            return None
        # Once answered, the offer of the sent revision cannot change any
        # more: its PDF then shows the signature too.
        return shown.document()
