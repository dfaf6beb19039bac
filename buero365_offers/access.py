# This file is part of Büro 365 Offers.  See the README for licence terms.
"""What a customer holds instead of a login: the tokens of the customer
links, the anti-forgery tokens of the forms, the tracking tokens of the
emails, the portal's device cookies and the seal of acceptance evidence.

Each is signed with one sign() and checked with one verify(): an HMAC with
a secret of the database (buero365.offer.secret) named by its purpose,
compared in constant time."""
import base64
import hashlib
import hmac
import secrets

from trytond.model import ModelSQL, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

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
        with without_check_access():
            secrets_ = cls.search([('name', '=', name)], limit=1)
        return secrets_[0].value if secrets_ else None


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
