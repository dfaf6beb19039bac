# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Email headers that cannot carry other headers: text checked after its
RFC 2047 encoded words are decoded (no Tryton in here).

Python's email package decodes an encoded word such as
``=?utf-8?q?Umzug=0D=0AReply-To:_x@evil.example?=`` when a header is set and
writes the CR LF it decoded as a real line break when the message is sent
(CVE-2024-6923, Python < 3.11.10), so a check of the raw text cannot see it.
Every email of the module to a customer is built with POLICY: text headers
(the subject) are stored decoded and without control characters, any other
header holding one is refused, and what is written is checked again."""
import re
from email.header import Header
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy

from .text import clean_line, has_unsafe

# A line break not followed by folding white space starts a new header
# (the check of Python >= 3.11.10, whatever the version here).
NEWLINE_WITHOUT_FWSP = re.compile(r'\r\n[^ \t]|\r[^ \n\t]|\n[^ \t]')
UNFOLD = re.compile(r'(?:\r\n|\r|\n)(?=[ \t])')
# Decoding an encoded word shortens the text, so this is never reached by
# honest text; what is still encoded after that is not decoded.
MAX_DECODING = 8
# A text header as the email package makes it (any name not registered).
TEXT_HEADER = HeaderRegistry()['x-text']


class UnsafeHeader(ValueError):
    "A header value that would break the message's header lines."


def header_text(text, name='Subject'):
    """Return text as it can stand in a text header such as the subject:
    its encoded words decoded (as Python decodes them), then cleaned to
    one line, until nothing changes."""
    value = clean_line(text)
    for _ in range(MAX_DECODING):
        decoded = clean_line(str(TEXT_HEADER(name, value)))
        if decoded == value:
            return value
        value = decoded
    # Without "=?" nothing is an encoded word any more.
    return clean_line(value.replace('=?', '= ?'))


class HeaderPolicy(EmailPolicy):
    """The email policy of the module's emails to customers: every header
    is checked after decoding, when it is set and when it is written."""

    def header_store_parse(self, name, value):
        if hasattr(value, 'name'):
            header = value
        else:
            if isinstance(value, str) and issubclass(
                    self.header_factory[name], UnstructuredHeader):
                value = header_text(value, name)
            try:
                name, header = super().header_store_parse(name, value)
            except ValueError as exception:
                # e.g. an address whose decoded parts hold CR or LF
                raise UnsafeHeader(f"{name}: {exception}") from exception
        if isinstance(header, UnstructuredHeader):
            text = header_text(str(header), name)
            if text != str(header):
                header = self.header_factory(name, text)
        else:
            self.check_header(header)
        return name, header

    @staticmethod
    def check_header(header):
        "Raise UnsafeHeader if a structured header holds an unsafe character."
        texts = [str(header)]
        for address in getattr(header, 'addresses', ()):
            texts += [address.display_name, address.username, address.domain]
        texts += [str(v) for v in getattr(header, 'params', {}).values()]
        if any(has_unsafe(t) for t in texts):
            raise UnsafeHeader(f"{header.name}: control character")

    def fold(self, name, value):
        return self._checked(name, value, super().fold(name, value))

    def fold_binary(self, name, value):
        folded = super().fold_binary(name, value)
        charset = 'utf-8' if self.utf8 else 'ascii'
        text = folded.decode(charset, 'surrogateescape')
        checked = self._checked(name, value, text)
        if checked == text:
            return folded
        return checked.encode(charset, 'surrogateescape')

    def _checked(self, name, value, folded):
        """Return the folded header once checked: a line break that would
        start another header is refused; a text header that would not read
        back as it was (Python's folding drops the space between two
        encoded words: "Köln→ Aachen") is folded again, as encoded words
        that hold their spaces."""
        linesep = self.linesep
        if not folded.endswith(linesep) or NEWLINE_WITHOUT_FWSP.search(
                folded[:-len(linesep)]):
            raise UnsafeHeader(f"{name}: line break in the header")
        if isinstance(value, UnstructuredHeader) and not self._reads_back(
                name, str(value), folded):
            encoded = Header(str(value), 'utf-8', header_name=name).encode(
                linesep=linesep, maxlinelen=self.max_line_length or None)
            refolded = f'{name}: {encoded}{linesep}'
            if self._reads_back(name, str(value), refolded):
                return refolded
        return folded

    @staticmethod
    def _reads_back(name, text, folded):
        "Tell whether folded reads as text once unfolded and decoded."
        _, _, body = folded.partition(':')
        read = str(TEXT_HEADER(name, UNFOLD.sub('', body).strip()))
        return read.split() == text.split()


# smtplib writes the message with this policy and its own line separator.
POLICY = HeaderPolicy()


def checked_message(msg=None):
    """Return msg, by default a new message, with POLICY: every header set
    on it from now on, and every header when it is written, is checked."""
    if msg is None:
        return EmailMessage(policy=POLICY)
    msg.policy = POLICY
    return msg
