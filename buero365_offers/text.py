# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Text from outside — what customers send to the public pages: which
characters a page and the database can hold, and comparing secrets.
No Tryton in here."""
import hmac
import re

# The characters XML 1.0 cannot hold (lxml refuses a page with them, and
# PostgreSQL a text with NUL): the C0 controls but tab, line feed and
# carriage return, lone surrogates, U+FFFE and U+FFFF.
NOT_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
LINE_BREAKS = re.compile('[\t\n\r]')


def xml_text(text):
    "Return text without the characters XML cannot hold (see NOT_XML)."
    return NOT_XML.sub('', text)


def header_text(text):
    """Return the value of a request header as XML text on one line: tab,
    CR and LF become spaces (trytond refuses them in Char fields)."""
    return LINE_BREAKS.sub(' ', xml_text(text))


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
