# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Every email to a customer: the one send method (Offer.send_to_customer),
the outbox (buero365.offer.mail: archived, queued, delivered after the
commit, retried).  The mail tracker (buero365.offer.event) is in
tracking.py, the send wizard staff use in send_wizard.py."""
import base64
import datetime as dt
import re
import secrets
from email.utils import formataddr, make_msgid

import html2text

import trytond.config as config
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.sendmail import send_message
from trytond.tools.email_ import EmailNotValidError, validate_email
from trytond.transaction import Transaction, without_check_access
from trytond.url import host

from .access import sign, verify
from .deposit import asks_for_deposit
from .document import qrcode_png
from .mail_headers import POLICY, checked_message, header_text
from .text import clean_line

# What staff send with the send wizard.
MAIL_PURPOSES = [
    ('offer', "Offer"),
    ('accepted', "Acceptance Confirmation"),
    ('rejected', "Rejection Follow-up"),
    ('expired', "Expiry Follow-up"),
    ]
# Every email to a customer: those of the wizard and those the module sends
# by itself (Offer.send_to_customer).
ALL_MAIL_PURPOSES = MAIL_PURPOSES + [
    ('reminder', "Expiry Reminder"),
    ('date_declined', "Date Change Declined"),
    ('portal_invite', "Portal Invitation"),
    ]
# The email template of each purpose of mail (module XML ids).
TEMPLATES = {
    'offer': 'email_template_offer',
    'accepted': 'email_template_accepted',
    'rejected': 'email_template_rejected',
    'expired': 'email_template_expired',
    }
# The offer sent again after staff changed it.
TEMPLATE_UPDATE = 'email_template_offer_update'
EMPTY_LINE = re.compile(r'<div[^>]*>\s*<br\s*/?>\s*</div>')
# The ir.queue name of email delivery: a worker can be given to it alone.
QUEUE = 'buero365_offers_mail'
ADDRESS_SEPARATOR = re.compile(r'[,;\s]+')
# The Content-ID of the GiroCode image of an email (the HTML names it).
GIROCODE_CID = 'girocode@buero365-offers'
# 1×1 transparent GIF for the tracking pixel.
PIXEL = base64.b64decode(
    b'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7')


def parse_addresses(text):
    """Return the normalised addresses of a recipients text.

    Raise AccessError naming the first malformed address; a newline or any
    control character is malformed (it could inject mail headers), and so
    is an address that the email package would read otherwise (an encoded
    word decoded in it)."""
    addresses = []
    text = text or ''
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        # A line break in a recipients field is a header injection attempt.
        raise AccessError(gettext(
                'buero365_offers.msg_send_address_invalid',
                address=text.encode('unicode_escape').decode(),
                reason="control character"))
    for address in filter(None, ADDRESS_SEPARATOR.split(text)):
        try:
            normalized = validate_email(address)
        except EmailNotValidError as exception:
            raise AccessError(gettext(
                    'buero365_offers.msg_send_address_invalid',
                    address=address.encode('unicode_escape').decode(),
                    reason=str(exception))) from exception
        try:
            read = str(POLICY.header_factory('To', normalized))
        except ValueError:
            read = None
        if read != normalized:
            raise AccessError(gettext(
                    'buero365_offers.msg_send_address_invalid',
                    address=address.encode('unicode_escape').decode(),
                    reason="encoded word"))
        if normalized.lower() not in {a.lower() for a in addresses}:
            addresses.append(normalized)
    return addresses


def plain_text(html):
    """The text part of an email: each line of sao's rich-text editor (a
    div, which html2text runs together) on a line of its own."""
    html = EMPTY_LINE.sub('<br/>', html).replace('</div>', '</div><br/>')
    converter = html2text.HTML2Text()
    converter.body_width = 0
    return converter.handle(html)


def email_actions(purpose):
    "The tracked links of an email for purpose, besides its open pixel."
    return ['accept', 'reject', 'view'] if purpose == 'offer' else ['view']


class SendingMixin:
    "The offer's emails to the customer (buero365.offer uses it)."
    __slots__ = ()

    def get_email_error(self, name):
        for mail in sorted(self.mails, key=lambda m: m.id, reverse=True):
            if mail.state == 'failed':
                return mail.error
            if mail.state == 'sent':
                return None

    @classmethod
    @ModelView.button_action('buero365_offers.wizard_send')
    def send(cls, offers):
        "Open the send-by-email wizard."

    @classmethod
    @ModelView.button
    def retry_send(cls, offers):
        "Queue the failed emails of the offers again."
        pool = Pool()
        Mail = pool.get('buero365.offer.mail')
        Mail.retry([m for o in offers for m in o.mails if m.state == 'failed'])

    # Emails to the customer ------------------------------------------------

    def customer_language(self):
        """The code of the language the customer reads, in which every
        email and page to them is: the customer's, else the company's, else
        the default language; never the staff user's."""
        pool = Pool()
        Config = pool.get('ir.configuration')
        # A party's language depends on the company: the offer's, whatever
        # the context (a customer page, the scheduler, another company).
        company = self.company.id if self.company else None
        for party in [self.party, self.company.party if company else None]:
            lang = party.get_multivalue('lang', company=company) if party \
                else None
            if lang:
                return lang.code
        return Config.get_language()

    @property
    def customer_email(self):
        "The addresses the customer's emails go to."
        return self.email or (self.party.email if self.party else None)

    def mail_template(self, purpose):
        "The XML id of the email template of a mail of purpose."
        if purpose == 'offer' and self.revision_unsent:
            return TEMPLATE_UPDATE
        return TEMPLATES[purpose]

    def render_mail_template(self, xml_id, language=None):
        """Return (subject, HTML body) of an email template of the module in
        language, by default the customer's."""
        pool = Pool()
        Template = pool.get('ir.email.template')
        ModelData = pool.get('ir.model.data')
        with Transaction().set_context(
                language=language or self.customer_language()):
            # Made here: a record reads its fields in the context it was
            # made in, and the template's texts are translated.
            template = Template(ModelData.get_id('buero365_offers', xml_id))
            values = template.get(self)
        return header_text(values.get('subject')), values.get('body') or ''

    def send_to_customer(self, purpose, template=None, subject=None,
            body=None, recipients=None, attach_pdf=False, attachments=(),
            language=None):
        """Email the offer's customer and return the mail, or None when the
        offer has no address: every email of the module to a customer goes
        out here, all of it in one language (by default the customer's),
        archived, tracked and delivered after the commit.

        subject and body (rich text, sanitised when rendered) default to
        those of template, a module XML id; attachments is a list of
        (filename, bytes)."""
        pool = Pool()
        Mail = pool.get('buero365.offer.mail')
        Link = pool.get('buero365.offer.link')
        if recipients is None:
            recipients = self.customer_email
            if not recipients:
                return None
        language = language or self.customer_language()
        if template:
            template_subject, template_body = self.render_mail_template(
                template, language)
            subject = template_subject if subject is None else subject
            body = template_body if body is None else body
        with Transaction().set_context(
                language=language, offer_language=language):
            offer = self.__class__(self.id)
            offer.__class__.ensure_links([offer])
            files, pdf = [], None
            if attach_pdf:
                # The kept PDF: a re-send of a revision sends the same file.
                # The first sending prints the revision as it is now: a
                # print before it may predate a change of what the PDF
                # shows besides the offer (the customer's address, the
                # company's logo).
                link = Link.find_current(offer)
                if purpose == 'offer' and not link.sent_at:
                    Link.forget_documents([offer])
                    link = Link(link.id)
                pdf = link.document(language)
                files.append((f'{offer.number}.pdf', pdf))
            files.extend(attachments)
            mail = Mail.compose(
                offer, purpose, recipients, subject, body, files)
            if purpose == 'offer':
                # The customer's link shows what this email sends them.
                Link.record_sent_document(offer, pdf)
            return mail

def _rename_kind(model, module, column):
    "Migration: the column was called kind until December 2026."
    table_h = model.__table_handler__(module)
    if table_h.column_exist('kind') and not table_h.column_exist(column):
        table_h.column_rename('kind', column)


class OfferMail(ModelSQL, ModelView):
    "Offer Email"
    __name__ = 'buero365.offer.mail'
    __string__ = "Offer Email"

    offer = fields.Many2One(
        'buero365.offer', "Offer", required=True, ondelete='CASCADE',
        readonly=True)
    purpose = fields.Selection(
        ALL_MAIL_PURPOSES, "Kind", required=True, readonly=True)
    revision = fields.Integer("Revision", readonly=True)
    email = fields.Many2One(
        'ir.email', "Archived Email", readonly=True, ondelete='RESTRICT')
    recipients = fields.Char("Recipients", readonly=True)
    subject = fields.Char("Subject", readonly=True)
    language = fields.Char(
        "Language", readonly=True,
        help="The code of the language the email is written in.")
    body_html = fields.Text("HTML Body", readonly=True)
    body_text = fields.Text("Text Body", readonly=True)
    state = fields.Selection([
            ('queued', "Queued"),
            ('sent', "Sent"),
            ('failed', "Failed"),
            ], "Status", required=True, readonly=True, sort=False)
    error = fields.Text("Error", readonly=True)
    attempts = fields.Integer("Attempts", readonly=True)
    sent_at = fields.Timestamp("Sent At", readonly=True)
    # Lists show the time to the second, not to the microsecond.
    sent_at.format = '%H:%M:%S'
    tracking_token = fields.Char(
        "Tracking Token", readonly=True, strip=False)
    girocode = fields.Text(
        "GiroCode", readonly=True,
        help="The deposit the email asks for, as its GiroCode (EPC QR "
        "code) holds it.")

    @classmethod
    def __register__(cls, module):
        _rename_kind(cls, module, 'purpose')
        super().__register__(module)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('offer')
        # The list shows when the email was made to the second.
        cls.create_date.format = '%H:%M:%S'
        t = cls.__table__()
        cls._sql_constraints += [
            ('tracking_token_unique', Unique(t, t.tracking_token),
                'buero365_offers.msg_mail_tracking_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.offer, Index.Range())),
                Index(t, (t.tracking_token, Index.Equality(
                            cardinality='high'))),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state.in_(['queued', 'failed'])),
                })
        cls._order = [('id', 'DESC')]

    @staticmethod
    def default_state():
        return 'queued'

    @staticmethod
    def default_attempts():
        return 0

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('tracking_token'):
            values['tracking_token'] = secrets.token_urlsafe(16)
        return values

    def get_rec_name(self, name):
        return f'{self.subject} ({self.recipients})'

    # Tracking tokens ------------------------------------------------------

    def signed_token(self):
        "The mail's token with its HMAC, as put into tracking URLs."
        signature = sign('tracking', self.tracking_token)
        return f'{self.tracking_token}.{signature}'

    @classmethod
    def from_signed_token(cls, signed):
        """Return the mail of a signed tracking token, or None.

        A forged, foreign or malformed token finds nothing."""
        if not isinstance(signed, str) or len(signed) > 64:
            return None
        token, _, signature = signed.partition('.')
        if not token or not verify('tracking', token, signature):
            return None
        mails = cls.search([('tracking_token', '=', token)], limit=1)
        return mails[0] if mails else None

    def tracking_url(self, action):
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        return Link.url_for(f't/{self.signed_token()}', f'/{action}')

    def tracking_urls(self):
        "The links of the mail, all tracked, and its open pixel."
        urls = {a: self.tracking_url(a) for a in email_actions(self.purpose)}
        urls['pixel'] = self.tracking_url('open.gif')
        return urls

    # Composing and delivering --------------------------------------------

    @classmethod
    def compose(cls, offer, purpose, recipients, subject, body, attachments):
        """Create the mail of an offer, archive it as ir.email and queue
        its delivery after the transaction commits.

        attachments is a list of (filename, bytes)."""
        pool = Pool()
        Email = pool.get('ir.email')
        Attachment = pool.get('ir.attachment')
        EmailReport = pool.get('buero365.offer.email', type='report')
        Event = pool.get('buero365.offer.event')

        addresses = parse_addresses(recipients)
        if not addresses:
            raise AccessError(gettext('buero365_offers.msg_send_no_recipient'))
        # As the customer will read it: encoded words decoded, one line.
        subject = header_text(subject)
        if not subject:
            raise AccessError(gettext('buero365_offers.msg_send_no_subject'))

        deposit = (offer.deposit_request() if asks_for_deposit(purpose)
            else None)
        mail = cls(offer=offer, purpose=purpose, revision=offer.revision,
            recipients=', '.join(addresses), subject=subject,
            language=Transaction().language,
            girocode=deposit.girocode if deposit else None)
        mail.save()
        mail.body_html = EmailReport.render_html(
            offer, body, mail.tracking_urls(), deposit=deposit,
            girocode_cid=GIROCODE_CID)
        mail.body_text = plain_text(mail.body_html)
        with without_check_access():
            email = Email(
                recipients=mail.recipients,
                addresses=[{'address': a} for a in addresses],
                subject=subject, body=mail.body_html,
                message_id=make_msgid(domain=host()),
                resource=offer)
            email.save()
            Attachment.save([
                    Attachment(resource=email, name=name, type='data',
                        data=data)
                    for name, data in attachments])
        mail.email = email
        mail.save()
        Event.record(offer, 'queued', mail=mail)
        with Transaction().set_context(queue_name=QUEUE):
            cls.__queue__.deliver([mail])
        return mail

    def build_message(self):
        """The MIME message of the mail, as the customer receives it; a
        header that would carry others raises UnsafeHeader."""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        msg = checked_message()
        from_ = config.get('email', 'from')
        msg['From'] = from_
        msg['To'] = ', '.join(formataddr(('', a))
            for a in self.recipients.split(', '))
        msg['Subject'] = self.subject
        msg['Message-ID'] = (self.email.message_id
            if self.email and self.email.message_id
            else make_msgid(domain=host()))
        if self.offer.company and self.offer.company.party.email:
            msg['Reply-To'] = clean_line(self.offer.company.party.email)
        msg.set_content(self.body_text)
        msg.add_alternative(self.body_html, subtype='html')
        if self.girocode:
            # Beside the HTML that shows it (multipart/related): mail
            # programs block data: images.
            html, = (p for p in msg.iter_parts()
                if p.get_content_type() == 'text/html')
            html.add_related(
                qrcode_png(self.girocode), 'image', 'png',
                cid=f'<{GIROCODE_CID}>', filename='GiroCode.png',
                disposition='inline')
        if self.email:
            for attachment in Attachment.search([
                        ('resource', '=', str(self.email)),
                        ], order=[('id', 'ASC')]):
                maintype, subtype = _mimetype(attachment.name)
                msg.add_attachment(
                    attachment.data, maintype=maintype, subtype=subtype,
                    filename=clean_line(attachment.name))
        if self.language:
            # Last: adding content moves or drops the Content-* headers.
            msg['Content-Language'] = self.language
        return msg

    @classmethod
    def deliver(cls, mails):
        """Send queued mails through SMTP, one by one.

        Runs after the transaction that queued them committed (ir.queue);
        a failure is stored on the mail and the offer, never lost."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Event = pool.get('buero365.offer.event')
        for mail in cls.browse(mails):
            if mail.state == 'sent':
                continue
            attempts = (mail.attempts or 0) + 1
            try:
                send_message(mail.build_message(), strict=True)
            except Exception as exception:
                error = f'{exception.__class__.__name__}: {exception}'
                cls.write([mail], {
                        'state': 'failed', 'error': error[:2000],
                        'attempts': attempts})
                Offer.write([mail.offer], {'email_state': 'failed'})
                Event.record(mail.offer, 'failed', mail=mail,
                    detail=error[:200])
            else:
                sent_at = dt.datetime.now()
                cls.write([mail], {
                        'state': 'sent', 'error': None,
                        'attempts': attempts,
                        'sent_at': sent_at})
                values = {'email_state': 'sent'}
                if mail.purpose == 'offer':
                    values['sent_revision'] = max(
                        mail.revision or 0, mail.offer.sent_revision or 0)
                    if not mail.offer.first_sent_at:
                        values['first_sent_at'] = sent_at
                Offer.write([mail.offer], values)
                Event.record(mail.offer, 'sent', mail=mail,
                    detail=mail.recipients)

    @classmethod
    def retry(cls, mails):
        "Queue failed mails again."
        mails = [m for m in mails if m.state == 'failed']
        if mails:
            cls.write(mails, {'state': 'queued'})
            with Transaction().set_context(queue_name=QUEUE):
                cls.__queue__.deliver(mails)


def _mimetype(filename):
    import mimetypes
    mimetype, _ = mimetypes.guess_type(filename or '')
    if not mimetype:
        return 'application', 'octet-stream'
    return tuple(mimetype.split('/', 1))
