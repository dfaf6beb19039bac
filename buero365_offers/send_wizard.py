# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The Send by Email wizard: staff check and edit the email of an offer or
of its follow-up, preview it as the customer gets it, and send it with
Offer.send_to_customer (mail.py)."""
import lxml.html

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .deposit import asks_for_deposit
from .mail import MAIL_PURPOSES, email_actions
from .mail_headers import header_text

# What sao's rich-text editor keeps of a tag it does not know is its text
# (Sao.HtmlSanitizer knows b, i, u, font, div and br): templates are given
# to the editor in those tags.
EDITOR_TAGS = {'p': 'div', 'strong': 'b', 'em': 'i'}


def editor_html(text):
    """Return rich text in the tags sao's rich-text editor keeps:
    paragraphs become lines with an empty line between them, strong and em
    become b and i."""
    if not (text or '').strip():
        return ''
    root = lxml.html.fragment_fromstring(text, create_parent='div')
    for element in list(root.iter()):
        if element is root or not isinstance(element.tag, str):
            continue
        tag = element.tag
        element.tag = EDITOR_TAGS.get(tag, tag)
        if tag == 'p' and element.getnext() is not None:
            blank = lxml.html.Element('div')
            blank.append(lxml.html.Element('br'))
            blank.tail, element.tail = element.tail, None
            element.addnext(blank)
    return (root.text or '') + ''.join(
        lxml.html.tostring(child, encoding='unicode') for child in root)


class SendStart(ModelView):
    "Send Offer by Email"
    __name__ = 'buero365.offer.send.start'
    __string__ = "Send Offer by Email"

    offer = fields.Many2One('buero365.offer', "Offer", readonly=True)
    party = fields.Many2One('party.party', "Customer", readonly=True)
    purpose = fields.Selection(
        MAIL_PURPOSES, "Kind", readonly=True,
        help="What the email is about: the offer, or the follow-up to its "
        "status.")
    language = fields.Many2One(
        'ir.lang', "Language", readonly=True,
        help="The customer's language, in which the email is written.")
    recipients = fields.Char(
        "To", required=True,
        help="One or more email addresses, separated by commas.")
    other_addresses = fields.Many2Many(
        'party.contact_mechanism', None, None, "Other Addresses",
        domain=[
            ('party', '=', Eval('party', -1)),
            ('type', '=', 'email'),
            ],
        help="More addresses of this customer to send to.")
    subject = fields.Char("Subject", required=True)
    body = fields.Text(
        "Message", required=True,
        help="The text of the email; Preview shows the whole email as the "
        "customer receives it.")
    attach_pdf = fields.Boolean("Attach the Offer PDF")
    attachments = fields.Many2Many(
        'ir.attachment', None, None, "Attachments",
        domain=[
            ('resource', '=', If(Bool(Eval('offer')),
                    ['buero365.offer', Eval('offer', -1)],
                    'buero365.offer,-1')),
            ('type', '=', 'data'),
            ],
        help="Files of the offer to attach.")
    revision_unsent = fields.Boolean("Changed Since Sent", readonly=True)
    # What is sent: purpose and language are only shown above, as sao 8.0.11
    # can send another option of a selection when Send is clicked right
    # after typing in the rich-text editor (seen in Chromium).
    message_purpose = fields.Char("Message Kind", readonly=True)
    message_language = fields.Char("Message Language", readonly=True)

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/form//label[@id="unsent"]', 'states', {
                    'invisible': ~Eval('revision_unsent'),
                    }),
            ]

    def _fill_template(self):
        "Put the template of the purpose and language in subject and message."
        self.subject, body = self.offer.render_mail_template(
            self.offer.mail_template(self.message_purpose),
            self.message_language)
        self.body = editor_html(body)

    def render_preview(self):
        """The HTML of the email with the message as edited: rendered as
        it is sent, but with inert links and no tracking image, so that
        looking at it records nothing."""
        pool = Pool()
        EmailReport = pool.get('buero365.offer.email', type='report')
        urls = {a: '#' for a in email_actions(self.message_purpose)}
        deposit = (self.offer.deposit_request()
            if asks_for_deposit(self.message_purpose) else None)
        with Transaction().set_context(language=self.message_language):
            return EmailReport.render_html(
                self.offer, self.body or '', urls, deposit=deposit)


class SendPreview(ModelView):
    "Send Offer by Email"
    __name__ = 'buero365.offer.send.preview'
    __string__ = "Send Offer by Email Preview"

    recipients = fields.Char("To", readonly=True)
    subject = fields.Char("Subject", readonly=True)
    files = fields.Char("Attachments", readonly=True)
    preview = fields.Binary(
        "Preview", readonly=True, filename='preview_filename',
        help="The email as the customer receives it.")
    preview_filename = fields.Char("Preview File Name", readonly=True)


class Send(Wizard):
    "Send Offer by Email"
    __name__ = 'buero365.offer.send'

    start = StateView('buero365.offer.send.start',
        'buero365_offers.send_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Preview", 'preview', 'tryton-forward', default=True),
            Button("Send", 'send', 'tryton-email'),
            ])
    # A step of its own: computed in the browser while typing, the preview
    # made sao 8.0.11 re-read its selections mid-display and send another
    # purpose and language (seen when Send was clicked from the editor).
    preview = StateView('buero365.offer.send.preview',
        'buero365_offers.send_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Send", 'send', 'tryton-email', default=True),
            ])
    send = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Lang = pool.get('ir.lang')
        if getattr(self.start, 'subject', None):
            # Back from the preview: the message as staff left it.
            return self.start._default_values
        offer = self.record
        purpose = {
            'accepted': 'accepted',
            'rejected': 'rejected',
            'expired': 'expired',
            }.get(offer.state, 'offer')
        language = Lang.get(offer.customer_language())
        start = self.start.__class__(
            offer=offer, party=offer.party, purpose=purpose, language=language,
            message_purpose=purpose, message_language=language.code,
            recipients=offer.customer_email or '',
            attach_pdf=(purpose in {'offer', 'accepted'}),
            revision_unsent=offer.revision_unsent)
        start._fill_template()
        return {
            'offer': offer.id,
            'party': offer.party.id,
            'purpose': purpose,
            'language': language.id,
            'recipients': start.recipients,
            'subject': start.subject,
            'body': start.body,
            'message_purpose': purpose,
            'message_language': language.code,
            'attach_pdf': start.attach_pdf,
            'revision_unsent': start.revision_unsent,
            'other_addresses': [],
            'attachments': [],
            }

    def recipients(self):
        "The addresses of the form, typed and ticked."
        return ', '.join(filter(None, [self.start.recipients] + [
                    m.value for m in self.start.other_addresses]))

    def default_preview(self, fields):
        offer = self.record
        form = self.start
        files = [f'{offer.number}.pdf'] if form.attach_pdf else []
        files += [a.name for a in form.attachments]
        return {
            'recipients': self.recipients(),
            'subject': header_text(form.subject),
            'files': ', '.join(files),
            'preview': form.render_preview().encode('utf-8'),
            # The client shows an .html document in a sandboxed frame.
            'preview_filename': 'preview.html',
            }

    def transition_send(self):
        offer = self.record
        form = self.start
        if form.message_purpose == 'offer' and offer.state != 'open':
            # e.g. the customer answered while staff wrote the email
            raise AccessError(gettext(
                    'buero365_offers.msg_send_offer_not_open',
                    offer=offer.rec_name))
        if form.message_purpose == 'offer':
            offer.check_line_taxes()
            offer.check_placeholders()
        if form.message_purpose == 'offer' or asks_for_deposit(
                form.message_purpose):
            offer.check_deposit_girocode()
        offer.send_to_customer(form.message_purpose,
            subject=form.subject, body=form.body,
            recipients=self.recipients(),
            attach_pdf=form.attach_pdf,
            attachments=[(a.name, a.data) for a in form.attachments],
            language=form.message_language)
        return 'end'
