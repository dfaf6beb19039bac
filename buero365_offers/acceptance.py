# This file is part of Büro 365 Offers.  See the README for licence terms.
"""What the customer sees and does on the offer page: read the offer,
accept it with a drawn signature, reject it with feedback.

The rules live here, on the models; the routes only check the shape of a
request and render what these methods return or raise."""
import base64
import datetime as dt
import hashlib
import io
import json
import unicodedata

from PIL import Image, ImageChops

from trytond.i18n import gettext
from trytond.model import ModelView
from trytond.pool import Pool
from trytond.tools.timezone import UTC, get_tzinfo
from trytond.transaction import Transaction, without_check_access

from .access import same_secret, sign
from .exceptions import AnswerInvalid, AnswerRefused
from .text import clean_line, xml_text

# Free text the customer types is capped (the forms say so too).
NAME_MAX_LENGTH = 100
COMMENT_MAX_LENGTH = 2000
# A canvas of 600 × 200 CSS pixels at a device pixel ratio of 3 gives
# 1800 × 600 pixels and 20–80 kB of PNG; anything far larger is not a
# signature drawn on our page.
SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MAX_SIZE = (4000, 2000)
SIGNATURE_MIN_SIZE = (60, 20)
# A signature has ink: at least this many dark pixels, this wide.
SIGNATURE_MIN_INK = 50
SIGNATURE_MIN_INK_WIDTH = 20
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

# Offer._evidence_seal below signs with these names until it moves (issue
# 12): then access.sign('evidence', payload) and no alias.
EVIDENCE_SECRET = 'evidence'


def clean_name(text):
    """Return the signer's name on one line, or raise AnswerInvalid.

    Control and format characters (e.g. right-to-left overrides) are
    refused: the name is evidence and must read as it was typed."""
    text = unicodedata.normalize('NFC', text or '')
    text = ' '.join(text.split())
    if len(text) < 2:
        raise AnswerInvalid(gettext(
                'buero365_offers.msg_signer_name_required'))
    if len(text) > NAME_MAX_LENGTH:
        raise AnswerInvalid(gettext(
                'buero365_offers.msg_signer_name_too_long',
                max=NAME_MAX_LENGTH))
    if any(unicodedata.category(c) in {'Cc', 'Cf', 'Cs', 'Co', 'Cn'}
            for c in text):
        raise AnswerInvalid(gettext(
                'buero365_offers.msg_signer_name_invalid'))
    return text


def clean_comment(text):
    "Return the customer's comment (None if empty), or raise AnswerInvalid."
    text = unicodedata.normalize('NFC', xml_text(text or ''))
    text = text.replace('\r\n', '\n').replace('\r', '\n')
    # Keep line breaks and tabs, drop other control characters.
    text = ''.join(c for c in text
        if c in '\n\t' or unicodedata.category(c) != 'Cc')
    text = text.strip()
    if len(text) > COMMENT_MAX_LENGTH:
        raise AnswerInvalid(gettext(
                'buero365_offers.msg_comment_too_long',
                max=COMMENT_MAX_LENGTH))
    return text or None


def check_signature_png(data):
    """Return the drawn signature as a clean PNG, or raise AnswerInvalid.

    It must decode as a PNG image of bounded size that has ink on it; it
    is re-encoded so that nothing but the pixels is stored."""
    if not data:
        raise AnswerInvalid(gettext('buero365_offers.msg_signature_required'))
    if len(data) > SIGNATURE_MAX_BYTES:
        raise AnswerInvalid(gettext('buero365_offers.msg_signature_too_large'))
    if not data.startswith(PNG_MAGIC):
        raise AnswerInvalid(gettext('buero365_offers.msg_signature_invalid'))
    try:
        with Image.open(io.BytesIO(data), formats=['PNG']) as image:
            width, height = image.size
            if (width > SIGNATURE_MAX_SIZE[0]
                    or height > SIGNATURE_MAX_SIZE[1]):
                raise AnswerInvalid(gettext(
                        'buero365_offers.msg_signature_too_large'))
            if (width < SIGNATURE_MIN_SIZE[0]
                    or height < SIGNATURE_MIN_SIZE[1]):
                raise AnswerInvalid(gettext(
                        'buero365_offers.msg_signature_blank'))
            image.load()
            rgba = image.convert('RGBA')
    except AnswerInvalid:
        raise
    except (OSError, ValueError, SyntaxError, EOFError,
            Image.DecompressionBombError) as exception:
        raise AnswerInvalid(gettext(
                'buero365_offers.msg_signature_invalid')) from exception
    # Ink: pixels that are visible (alpha) and dark (not a white ground).
    visible = rgba.getchannel('A').point(lambda a: 255 if a > 32 else 0)
    dark = rgba.convert('L').point(lambda v: 255 if v < 200 else 0)
    ink = ImageChops.multiply(visible, dark)
    box = ink.getbbox()
    if (not box or ink.histogram()[255] < SIGNATURE_MIN_INK
            or box[2] - box[0] < SIGNATURE_MIN_INK_WIDTH):
        raise AnswerInvalid(gettext('buero365_offers.msg_signature_blank'))
    output = io.BytesIO()
    rgba.save(output, format='PNG', optimize=True)
    return output.getvalue()


def decode_png_data_url(value):
    """Return the bytes of a data:image/png;base64 URL, None when empty,
    or raise AnswerInvalid when it is not one."""
    if not value:
        return None
    prefix = 'data:image/png;base64,'
    if not isinstance(value, str) or not value.startswith(prefix):
        raise AnswerInvalid(gettext('buero365_offers.msg_signature_invalid'))
    if len(value) > len(prefix) + SIGNATURE_MAX_BYTES * 4 // 3 + 4:
        raise AnswerInvalid(gettext('buero365_offers.msg_signature_too_large'))
    try:
        return base64.b64decode(value[len(prefix):], validate=True)
    except (ValueError, TypeError) as exception:
        raise AnswerInvalid(gettext(
                'buero365_offers.msg_signature_invalid')) from exception


def utc_now():
    "Now as trytond stores timestamps: naive, in UTC."
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class AnsweringMixin:
    """What the customer may answer and the evidence of their answer
    (buero365.offer uses it)."""
    __slots__ = ()

    # What the customer may do ---------------------------------------------

    def validity_end(self):
        """The moment (naive UTC) the offer stops being valid: the end of
        its valid_until day in the company's time zone."""
        zone = UTC
        if self.company and self.company.timezone:
            zone = get_tzinfo(self.company.timezone)
        end = dt.datetime.combine(
            self.valid_until + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return end.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def is_past_validity(self, now=None):
        "Tell whether the validity of the offer is over at now (naive UTC)."
        if not self.valid_until:
            return False
        return (now or utc_now()) >= self.validity_end()

    def customer_status(self, link, now=None, date_request=False):
        """What the page of link lets the customer do: 'open' (answer) or
        why not: 'superseded' (they were sent a newer revision),
        'accepted', 'rejected', 'expired', 'updating' (staff changed the
        offer and have not sent the update yet) or 'date_requested' (a
        proposed date waits for the staff).  date_request is the pending
        proposal when the caller has it already (None for none)."""
        shown = link.shown
        if link.revision < shown.revision:
            return 'superseded'
        pending = None if date_request is False else bool(date_request)
        return self.shown_status(shown, now=now, pending=pending)

    def shown_status(self, shown, now=None, pending=None):
        """What the page of shown, the link of the revision the customer
        is shown, lets them do (see customer_status).  pending tells
        whether a proposed date waits for the staff; looked up if None."""
        pool = Pool()
        DateRequest = pool.get('buero365.offer.date_request')
        if self.state != 'open':
            return self.state
        if self.revision > shown.revision:
            # Answering the sent revision would accept an offer whose
            # record already says something else.
            return 'updating'
        if self.is_past_validity(now):
            return 'expired'
        if pending is None:
            pending = bool(DateRequest.pending_of(self))
        if pending:
            return 'date_requested'
        return 'open'

    def content_digest(self):
        """A fingerprint of what the customer page shows, so that an answer
        to a page that changed meanwhile is noticed."""
        media = self.customer_media()
        parts = [
            self.id, self.revision, self.title, self.content,
            self.additional_details, self.terms, self.start, self.end,
            self.valid_until, self.untaxed_amount, self.tax_amount,
            self.total_amount, self.currency.id if self.currency else None,
            self.deposit_type, self.deposit_value,
            [(l.description, l.quantity, l.unit.id if l.unit else None,
                    l.unit_price, l.discount_rate, [t.id for t in l.taxes],
                    l.choice or '', l.alternative_group, l.chosen)
                for l in self.lines],
            [(a.label, a.street, a.postal_code, a.city,
                    a.country.id if a.country else None, a.floor, a.lift,
                    a.parking_zone, a.walking_distance)
                for a in self.addresses],
            [(kind, [(m.id, m.name, m.write_date or m.create_date)
                        for m in items])
                for kind, items in sorted(media.items())],
            ]
        text = json.dumps(parts, default=str, sort_keys=True)
        return hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]

    @classmethod
    def check_answerable(cls, link, digest=None, now=None):
        """Raise AnswerRefused unless the customer may answer the revision
        of link; digest is the fingerprint of the page they answer."""
        pool = Pool()
        Lang = pool.get('ir.lang')
        offer = link.offer
        status = offer.customer_status(link, now=now)
        if status != 'open':
            raise AnswerRefused(gettext(
                    f'buero365_offers.msg_answer_{status}',
                    offer=offer.number,
                    valid_until=Lang.get().strftime(offer.valid_until)))
        # A sent revision is answered as it was sent, else as it is.
        expected = link.sent_digest or offer.content_digest()
        if digest is not None and not same_secret(expected, digest):
            raise AnswerRefused(gettext(
                    'buero365_offers.msg_answer_changed',
                    offer=offer.number))

    @classmethod
    def lock_answerable(cls, link, digest=None):
        """Lock the offer of link for an answer and return link re-read.

        Concurrent answers queue on the offer row; on PostgreSQL a waiting
        transaction whose snapshot predates the winner's commit fails to
        serialise and trytond retries it, so it sees the answer."""
        cls.lock_for_edit([link.offer])
        link = link.__class__(link.id)
        cls.check_answerable(link, digest)
        return link

    @classmethod
    def accept_online(cls, link, name, signature_png, ip=None,
            user_agent=None, terms_accepted=True, digest=None, chosen=None):
        """Accept the revision of link for the customer, with their typed
        name and drawn signature, and keep the evidence.

        chosen are the ids of the services they chose (choice.py,
        customer_selection); None keeps the choice made in advance.  What
        they sign is the PDF of the chosen set: the one sent when they kept
        the choice made in advance, else rendered for their choice.

        Sends the confirmation with the signed PDF and notifies the staff;
        returns the offer.  Raises AnswerRefused when the offer cannot be
        answered any more and AnswerInvalid when the input is wrong."""
        cls.check_answerable(link, digest)
        name = clean_name(name)
        signature = check_signature_png(signature_png)
        if not terms_accepted:
            raise AnswerInvalid(gettext('buero365_offers.msg_terms_required'))
        link = cls.lock_answerable(link, digest)
        offer = link.offer
        selection = offer.customer_selection(chosen)
        if offer.choose(selection):
            # The services they chose and the totals of them, unsigned.
            offer = cls(offer.id)
            document = link.chosen_document()
        else:
            # What the customer saw and signs: this revision's PDF,
            # unsigned, the one file kept of it (as they were sent it).
            document = link.unsigned_document()
        evidence = {
            'signed_by': name,
            'signed_at': dt.datetime.now(),
            'signature': signature,
            'signed_ip': (ip or '')[:45] or None,
            'signed_user_agent': clean_line(user_agent)[:300] or None,
            'signed_revision': link.revision,
            'signed_document': document,
            'signed_document_name': (
                f'{offer.number}-{link.revision}-signed.pdf'),
            'signed_document_sha256': hashlib.sha256(document).hexdigest(),
            'signed_selection': offer.selection_evidence(),
            'evidence_state': None,
            'evidence_checked_at': None,
            }
        evidence['evidence_seal'] = cls._evidence_seal(offer, evidence)
        cls.write([offer], evidence)
        cls.accept([offer])
        offer = cls(offer.id)
        cls.send_acceptance_confirmation(offer)
        cls.notify_staff(offer, 'buero365_offers.msg_notify_accepted',
            icon='tryton-ok', name=name)
        return offer

    @classmethod
    def reject_online(cls, link, reason, comment=None, ip=None,
            user_agent=None, digest=None):
        """Reject the revision of link for the customer with their reason
        and comment, kept for the staff; returns the offer."""
        cls.check_answerable(link, digest)
        reasons = {k for k, _ in cls.rejection_reason.selection if k}
        if reason not in reasons:
            raise AnswerInvalid(gettext(
                    'buero365_offers.msg_rejection_reason_required'))
        comment = clean_comment(comment)
        link = cls.lock_answerable(link, digest)
        offer = link.offer
        cls.write([offer], {
                'rejection_reason': reason,
                'rejection_comment': comment,
                })
        cls.reject([offer])
        offer = cls(offer.id)
        cls.notify_staff(offer, 'buero365_offers.msg_notify_rejected',
            icon='tryton-cancel', description=comment)
        return offer

    @classmethod
    def propose_date(cls, link, start, end=None, comment=None, ip=None,
            user_agent=None, digest=None):
        """The customer proposes another date for the revision of link;
        see buero365.offer.date_request.propose."""
        pool = Pool()
        DateRequest = pool.get('buero365.offer.date_request')
        return DateRequest.propose(link, start, end=end, comment=comment,
            ip=ip, user_agent=user_agent, digest=digest)

    # Evidence ---------------------------------------------------------------

    @classmethod
    def _evidence_seal(cls, offer, evidence):
        signature = evidence.get('signature')
        payload = [
                offer.id,
                evidence.get('signed_by'),
                evidence['signed_at'].isoformat()
                if evidence.get('signed_at') else None,
                evidence.get('signed_ip'),
                evidence.get('signed_user_agent'),
                evidence.get('signed_revision'),
                evidence.get('signed_document_sha256'),
                hashlib.sha256(bytes(signature)).hexdigest()
                if signature else None,
                ]
        if evidence.get('signed_selection') is not None:
            # The customer's choice; the seals of offers without choices
            # stay as they were.
            payload.append(evidence['signed_selection'])
        return sign(EVIDENCE_SECRET, json.dumps(payload))

    def evidence_matches(self):
        """Tell whether the stored document still has its fingerprint and
        the evidence of the acceptance still has its seal."""
        if not (self.signed_document_sha256 and self.signed_document
                and self.evidence_seal):
            return False
        document = bytes(self.signed_document)
        if not same_secret(
                hashlib.sha256(document).hexdigest(),
                self.signed_document_sha256):
            return False
        evidence = {name: getattr(self, name) for name in [
                'signed_by', 'signed_at', 'signature', 'signed_ip',
                'signed_user_agent', 'signed_revision',
                'signed_document_sha256', 'signed_selection']}
        return same_secret(
            self._evidence_seal(self, evidence), self.evidence_seal)

    @classmethod
    @ModelView.button
    def verify_evidence(cls, offers):
        "Check the signed document and the acceptance evidence again."
        now = dt.datetime.now()
        for offer in offers:
            state = 'valid' if offer.evidence_matches() else 'invalid'
            cls.write([offer], {
                    'evidence_state': state,
                    'evidence_checked_at': now,
                    })

    # Emails and notifications ---------------------------------------------

    @classmethod
    def send_acceptance_confirmation(cls, offer):
        "Email the customer the confirmation with the signed PDF."
        offer.send_to_customer(
            'accepted', 'email_template_accepted', attach_pdf=True)

    @classmethod
    def staff_to_notify(cls, offer):
        """The users told about the customer's answers: the author of the
        offer, or the offer users when the system created it."""
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        author = offer.create_uid
        if author and author.id > 0 and author.active:
            return [author]
        group = ModelData.get_id('buero365_offers', 'group_offer')
        with without_check_access():
            return User.search([('groups', '=', group)])

    @classmethod
    def notify_staff(cls, offer, message_id, icon=None, description=None,
            **variables):
        """Put a notification in the client of the staff, in each user's
        language; clicking it opens the offer."""
        for user in cls.staff_to_notify(offer):
            language = user.language.code if user.language else None
            with Transaction().set_context(language=language):
                label = gettext(message_id, offer=offer.rec_name, **variables)
            cls.notify_user(
                [offer], icon or 'tryton-email', label[:200],
                description=clean_line(description)[:200] or None,
                user=user.id)


