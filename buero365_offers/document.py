# This file is part of Büro 365 Offers.  See the README for licence terms.
"The offer as a document: the PDF that is printed, posted and emailed."
import base64
import copy
import functools
import io
import threading

import lxml.html
import nh3
import qrcode
from genshi.core import Markup
from genshi.filters import Translator
from genshi.input import HTML
from genshi.template import MarkupTemplate
from lxml import etree

from trytond.cache import Cache
from trytond.model import fields
from trytond.pool import Pool
from trytond.report import Report
from trytond.report.report import TranslateFactory
from trytond.rpc import RPC
from trytond.tools import file_open
from trytond.transaction import Transaction

# What staff may format in rich text; everything else is dropped.
ALLOWED_TAGS = {
    'a', 'b', 'blockquote', 'br', 'div', 'em', 'h1', 'h2', 'h3', 'h4', 'i',
    'li', 'ol', 'p', 'span', 's', 'strike', 'strong', 'sub', 'sup', 'table',
    'tbody', 'td', 'th', 'thead', 'tr', 'u', 'ul', 'font',
    }
ALLOWED_ATTRIBUTES = {
    'a': {'href', 'title'},
    # How sao's rich-text editor aligns a line.
    'div': {'align'},
    'font': {'color', 'size', 'face'},
    'td': {'colspan', 'rowspan'},
    'th': {'colspan', 'rowspan'},
    }


def clean_html(text):
    "Staff's rich text with only the allowed tags, as a string"
    if not text:
        return ''
    return nh3.clean(
        text, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
        url_schemes={'http', 'https', 'mailto', 'tel'},
        link_rel='noopener noreferrer').strip()


def sanitize_html(text):
    "Return staff's rich text as safe HTML markup (no scripts, no styles)."
    cleaned = clean_html(text)
    if not cleaned:
        return Markup('')
    # A parsed stream, so that the template inserts markup, not text.
    return HTML(cleaned)


# sao's richtext widget keeps only these tags (Sao.HtmlSanitizer).
_RICHTEXT_INLINE = {
    'b': 'b', 'strong': 'b', 'i': 'i', 'em': 'i', 'u': 'u', 'font': 'font'}
_RICHTEXT_BLOCKS = {
    'p', 'div', 'blockquote', 'li', 'tr', 'ul', 'ol', 'table', 'thead',
    'tbody', 'h1', 'h2', 'h3', 'h4'}


def sao_richtext(text):
    """Staff's rich text as sao's read-only richtext widget can show it.

    sao keeps only b, i, u, font, div and br: paragraphs, headings, list
    items and table rows become lines (an empty line after a paragraph,
    headings bold, items with a bullet or their number, cells separated by
    " | "), links show their address.
    """
    cleaned = clean_html(text)
    if not cleaned:
        return ''
    source = lxml.html.fragment_fromstring(cleaned, create_parent='div')
    target = etree.Element('div')
    _richtext_children(source, target)
    return lxml.html.tostring(target, encoding='unicode')[len('<div>'):
        -len('</div>')]


def preview_field(string):
    """A function field of the model's get_preview: the rich text field of
    its name without "_preview", as sao_richtext shows it (sao shows nothing
    for a read-only html widget and only a link to the editor otherwise)."""
    return fields.Function(fields.Text(string), 'get_preview')


def _append_text(element, text):
    if not text:
        return
    if len(element):
        element[-1].tail = (element[-1].tail or '') + text
    else:
        element.text = (element.text or '') + text


def _richtext_children(source, target):
    _append_text(target, source.text)
    number = 0
    for child in source:
        if not isinstance(child.tag, str):  # a comment
            _append_text(target, child.tail)
            continue
        tag = child.tag
        if tag == 'br':
            etree.SubElement(target, 'br')
        elif tag in _RICHTEXT_INLINE:
            element = etree.SubElement(target, _RICHTEXT_INLINE[tag])
            for name, value in child.attrib.items():
                element.set(name, value)
            _richtext_children(child, element)
        elif tag in _RICHTEXT_BLOCKS:
            element = etree.SubElement(target, 'div')
            if tag == 'li':
                number += 1
                _append_text(element,
                    f'{number}. ' if source.tag == 'ol' else '• ')
            if tag in {'h1', 'h2', 'h3', 'h4'}:
                element = etree.SubElement(element, 'b')
            _richtext_children(child, element)
            if tag == 'p' and child.getnext() is not None:
                # the space between paragraphs: an empty line
                etree.SubElement(etree.SubElement(target, 'div'), 'br')
        elif tag in {'td', 'th'}:
            if child.getprevious() is not None:
                _append_text(target, ' | ')
            element = (etree.SubElement(target, 'b') if tag == 'th'
                else target)
            _richtext_children(child, element)
        else:  # a, span, s, sub, sup: their text
            _richtext_children(child, target)
            href = child.get('href') if tag == 'a' else None
            if href and href.removeprefix('mailto:') != (
                    child.text_content().strip()):
                _append_text(target, f' ({href})')
        _append_text(target, child.tail)


def png_data_uri(data):
    return 'data:image/png;base64,' + base64.b64encode(data).decode('ascii')


def qrcode_png(text):
    """A PNG of the QR code of text (a URL, a GiroCode: in UTF-8), large
    enough to scan from paper; error correction level M, as EPC069-12
    asks."""
    image = qrcode.make(
        text, error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=8, border=2)
    output = io.BytesIO()
    image.save(output, format='PNG')
    return output.getvalue()


# Each template is parsed and prepared (Genshi compiles its expressions)
# once per process, under this lock, and the renders share it: trytond's
# Report.render prepares a fresh copy of the template on every render, which
# cost thousands of compile() calls a page, and two threads compiling at the
# same time can crash CPython 3.11 ("AST constructor recursion depth
# mismatch", gh-106905).  A prepared template renders in any thread.
_PREPARE_LOCK = threading.Lock()
# The report action of each report, by report name.
_ACTION_IDS = Cache(f'{__name__}.action_id', context=False)


def prepared(template):
    "Return template with its expressions compiled (prepared once)."
    template.stream  # noqa: B018 (the property prepares the template)
    return template


@functools.cache
def load_template(path):
    """The Genshi template of a file of the module ('buero365_offers/...')
    that no report action names: the error pages, the HTML fragments."""
    with _PREPARE_LOCK, file_open(path, 'rb') as file:
        return prepared(
            MarkupTemplate(file, filename=path.rsplit('/', 1)[-1]))


def render_fragment(path, **values):
    """Return the HTML (text) of a fragment template of report/, a part of
    a rich-text field or of an email, with values."""
    return load_template(path).generate(**values).render(
        'xml', encoding=None)


class ModuleReport:
    """The module's reports: their template prepared once per process (see
    _PREPARE_LOCK), and run by render_records."""

    @classmethod
    def render(cls, report, report_context):
        # Report.render without preparing the template again.
        pool = Pool()
        Translation = pool.get('ir.translation')
        template = cls.prepared_template(report)
        if report.translatable:
            translate = TranslateFactory(cls.__name__, Translation)
            # Per render, at the end: after set_lang has run (as trytond).
            template.filters.append(Translator(translate))
            report_context = dict(report_context,
                gettext=translate.gettext, ngettext=translate.ngettext)
        data = template.generate(**report_context).render()
        if hasattr(data, 'getvalue'):
            data = data.getvalue()
        return data

    @classmethod
    def prepared_template(cls, report):
        """A copy of the prepared template of report (an ir.action.report),
        in trytond's cache of report templates: the copy shares the
        compiled stream and has its own filters."""
        pool = Pool()
        Translation = pool.get('ir.translation')
        template = report.get_template_cached()
        if template is not None:
            return template
        with _PREPARE_LOCK:
            template = report.get_template_cached()
            if template is not None:
                return template
            template = MarkupTemplate(io.BytesIO(report.report_content))
            if report.translatable:
                # The i18n: directives must be known before preparing.
                template.add_directives(Translator.NAMESPACE, Translator(
                        TranslateFactory(cls.__name__, Translation)))
            report.set_template_cached(prepared(template))
            return copy.copy(template)

    @classmethod
    def render_records(cls, records, data=None, language=None):
        """Return the content of the report on records, with data for its
        template, in language (by default the transaction's).

        What Report.execute does for one group of records, without what a
        staff user's print needs (access check, file name, records read
        again for each language): a customer page costs no more queries
        than its own data."""
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        action = ActionReport(cls.action_id())
        context = {'with_rec_name': False}
        if language:
            context['language'] = language
        with Transaction().set_context(**context):
            if records:
                # Read in the report's language (translated names).
                records = cls._get_records(
                    [r.id for r in records], action.model, data)
            data = dict(data or {}, action_id=action.id, model=action.model)
            header = (dict(cls.header_key(records[0], data)) if records
                else {})
            _, content = cls._execute(records, header, data, action)
        if not isinstance(content, str):
            content = bytes(content)
        return content

    @classmethod
    def action_id(cls):
        "The id of the report action of this report (kept per process)."
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        action_id = _ACTION_IDS.get(cls.__name__)
        if action_id is None:
            action, = ActionReport.search([
                    ('report_name', '=', cls.__name__),
                    ], limit=1)
            action_id = action.id
            _ACTION_IDS.set(cls.__name__, action_id)
        return action_id


def local_when(report, company):
    """Return a function writing a date and time in the company's time zone
    (the customer's), to the minute: the database keeps UTC."""
    Lang = Pool().get('ir.lang')
    zone = company.timezone if company else None

    def when(value):
        return report.format_datetime(
            value, None, Lang.get().date + ' %H:%M', zone)
    return when


class OfferReport(ModuleReport, Report):
    "Offer"
    __name__ = 'buero365.offer'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The first print of a revision keeps its PDF (link.document).
        cls.__rpc__['execute'] = RPC(readonly=False)

    @classmethod
    def header_key(cls, record, data):
        # offer_language: the language of the email the PDF goes with.
        language = (Transaction().context.get('offer_language')
            or record.customer_language())
        return super().header_key(record, data) + (('language', language),)

    @classmethod
    def _execute(cls, records, header, data, action):
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        # Each offer speaks its customer's language.
        language = header.get('language') or Transaction().language
        with Transaction().set_context(language=language):
            if records and not data.get('render'):
                # The staff print: the PDF kept of the current revision.
                offer = pool.get('buero365.offer')(records[0].id)
                offer.__class__.ensure_links([offer])
                return 'pdf', Link.find_current(offer).document()
            return super()._execute(records, header, data, action)

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['html'] = sanitize_html
        context['qrcode_uri'] = lambda text: png_data_uri(qrcode_png(text))
        context['png_uri'] = png_data_uri
        context['company'] = (records[0].company if records else None)
        home = cls.home_country(context['company'])
        context['address_lines'] = lambda address: cls.address_lines(
            address, home=home)
        context['when'] = local_when(cls, context['company'])
        return context

    @staticmethod
    def home_country(company):
        "The country the company sends its letters from."
        if not company:
            return None
        address = company.party.address_get()
        if address and address.country:
            return address.country
        return next(
            (a.country for a in company.party.addresses if a.country), None)

    @staticmethod
    def address_lines(address, home=None):
        """The lines of a party address for the letter window.

        The party module writes the country in English; a letter within the
        sender's country (home) has no country line (DIN 5008), one abroad
        names it in the reader's language."""
        pool = Pool()
        Country = pool.get('country.country')
        if not address:
            return []
        text = address.full_address or ''
        lines = [l for l in text.splitlines() if l.strip()]
        if address.country:
            with Transaction().set_context(language='en'):
                english = Country(address.country.id).name or ''
            for index, line in enumerate(lines):
                if line.strip().casefold() != english.casefold():
                    continue
                if home and address.country.id == home.id:
                    del lines[index]
                else:
                    name = address.country.name or english
                    lines[index] = name.upper() if line.isupper() else name
                break
        return lines

    @classmethod
    def convert(cls, report, data, timeout=5 * 60, retry=5):
        input_format = report.template_extension
        output_format = report.extension or report.template_extension
        if input_format == 'html' and output_format == 'pdf':
            import weasyprint
            from lxml import etree
            from PIL import ImageFile

            # Importing WeasyPrint makes Pillow accept truncated images in
            # the whole process, which would let cut-off uploads pass the
            # media checks.  The PDF embeds only images checked on upload or
            # made here, so Pillow's strict default is put back.
            ImageFile.LOAD_TRUNCATED_IMAGES = False

            # Genshi writes XHTML (<div/>), which an HTML parser misreads.
            tree = etree.fromstring(
                data.encode('utf-8') if isinstance(data, str) else data)
            data = etree.tostring(tree, method='html', encoding='unicode')

            # Only embedded data: URIs (QR code, logo, signature); the
            # renderer never fetches anything from the network.
            return output_format, weasyprint.HTML(
                string=data,
                url_fetcher=weasyprint.URLFetcher(
                    allowed_protocols={'data'}),
                ).write_pdf()
        return super().convert(report, data, timeout=timeout, retry=retry)

    @classmethod
    def render_pdf(cls, offer):
        """Return the PDF bytes of the offer as the customer gets it,
        rendered now (buero365.offer.link.document keeps it)."""
        return bytes(cls.render_records([offer], {'render': True}))


class OfferEmailReport(ModuleReport, Report):
    "Offer Email"
    __name__ = 'buero365.offer.email'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['html'] = sanitize_html
        context['message'] = sanitize_html(data.get('body'))
        context['urls'] = data.get('urls', {})
        context['deposit'] = deposit = data.get('deposit')
        context['girocode_src'] = None
        if deposit and deposit.girocode:
            context['girocode_src'] = (f"cid:{data['girocode_cid']}"
                if data.get('girocode_cid')
                else png_data_uri(qrcode_png(deposit.girocode)))
        context['when'] = local_when(
            cls, records[0].company if records else None)
        return context

    @classmethod
    def render_html(cls, offer, body, urls, deposit=None, girocode_cid=None):
        """Return the HTML of an email about offer: the staff's message
        (sanitised), the offer summary, the answer buttons and the tracking
        image; urls holds the links ('accept', 'reject', 'view') and the
        'pixel', if any.

        deposit is the offer's deposit_request() when the email asks for
        it; its GiroCode is the image of the email's part girocode_cid, or
        without it a data: URI (the preview)."""
        content = cls.render_records([offer], {
                'body': body, 'urls': urls, 'deposit': deposit,
                'girocode_cid': girocode_cid})
        return content if isinstance(content, str) else content.decode()
