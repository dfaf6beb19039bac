# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Text from outside — what customers send to the public pages: which
characters a page and the database can hold.  No Tryton in here."""
import re
import unicodedata

# The characters XML 1.0 cannot hold (lxml refuses a page with them, and
# PostgreSQL a text with NUL): the C0 controls but tab, line feed and
# carriage return, lone surrogates, U+FFFE and U+FFFF.
NOT_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
# Unicode characters that change the lines or the direction of the text.
BIDI_CONTROLS = set('\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e'
    '\u2066\u2067\u2068\u2069')


def xml_text(text):
    "Return text without the characters XML cannot hold (see NOT_XML)."
    return NOT_XML.sub('', text)


def is_unsafe(char):
    """Tell whether char has no place in a line of text: control
    characters (C0, DEL, C1), line and paragraph separators, surrogates,
    non-characters and the direction controls that disguise text."""
    category = unicodedata.category(char)
    return (category in {'Cc', 'Cs', 'Zl', 'Zp'}
        or char in BIDI_CONTROLS
        or (ord(char) & 0xFFFE) == 0xFFFE
        or 0xFDD0 <= ord(char) <= 0xFDEF)


def has_unsafe(text):
    return any(is_unsafe(c) for c in text or '')


def clean_line(text):
    """Return text on one line: every unsafe character becomes a space,
    runs of white space one space."""
    return ' '.join(''.join(
            ' ' if is_unsafe(c) else c for c in text or '').split())


def clean_lines(text):
    """Return text of several lines (a comment, an address) with its line
    breaks as \\n and every other unsafe character removed."""
    lines = re.split(r'\r\n|\r|\n|\u2028|\u2029|\x85', text or '')
    return '\n'.join(clean_line(l) for l in lines).strip('\n')
