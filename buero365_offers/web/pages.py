# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The pages of the customer, rendered from report/ as HTML for the
browser: the offer page (what the customer reads and answers) and the
portal's pages.  The routes (web/routes.py) call their render_page."""
import base64
import datetime as dt
import json

import lxml.html
from lxml import etree

from trytond.cache import Cache
from trytond.pool import Pool
from trytond.report import Report
from trytond.tools.timezone import UTC, get_tzinfo
from trytond.transaction import Transaction

from ..document import ModuleReport, png_data_uri, sanitize_html
from ..media import format_size
from ..text import xml_text

# The elements of the page that show the offer (not the answer forms): the
# customer keeps seeing them as sent until staff send an update.
SNAPSHOT_PARTS = {'offer-header', 'offer-document'}

# The HTML of the pages of sent offers, as a GET of the customer got it,
# per process.  The key holds everything the page shows that staff or the
# customer change (the records' write dates and states, the status and the
# minute of the date form's lower bound); what it does not hold (the
# company's header, translations, the customer's language setting: a
# lookup that would cost a third of a kept view) is kept at most a
# minute.  The size is
# `[cache] buero365.offer.page` (entries) of trytond's configuration.
_PAGES = Cache('buero365.offer.page', duration=60, context=False)
# What the key of a kept page, the status of the page and the recording of
# its view read of the offer (see OfferPage.key_offer).
KEY_FIELDS = ['state', 'revision', 'sent_revision', 'valid_until',
    'write_date', 'create_date', 'page_opened_at', 'company.timezone']


def xhtml_to_html(data):
    """Return the HTML5 text of a page Genshi rendered as XML.

    Genshi writes <script/>, <canvas/> and <textarea/>, which a browser
    reads as opened and never closed.  Characters XML cannot hold (in a
    text stored before it was cleaned on input) are left out rather than
    break the page."""
    if isinstance(data, bytes):
        data = data.decode('utf-8')
    tree = etree.fromstring(xml_text(data).encode('utf-8'))
    return '<!DOCTYPE html>\n' + etree.tostring(
        tree, method='html', encoding='unicode')


class HTMLPage(ModuleReport, Report):
    "A report rendered as an HTML page for the browser."
    # The keys of render_records' data that the template reads as names.
    data_names = []

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['html'] = sanitize_html
        context.update((name, data.get(name)) for name in cls.data_names)
        return context

    @classmethod
    def convert(cls, report, data, **kwargs):
        if report.template_extension == 'html' and not report.extension:
            return 'html', xhtml_to_html(data)
        return super().convert(report, data, **kwargs)


class OfferPage(HTMLPage):
    "Offer Page"
    __name__ = 'buero365.offer.page'
    data_names = ['link', 'current', 'current_path', 'status', 'pdf_url',
        'form_token', 'digest', 'error', 'values', 'urls', 'reasons',
        'media', 'date_request', 'static', 'min_start', 'document',
        'snapshot', 'ticked']

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        pool = Pool()
        Lang = pool.get('ir.lang')
        context['png_uri'] = png_data_uri
        context['thumb_uri'] = lambda data: (
            'data:image/jpeg;base64,' + base64.b64encode(data).decode())
        zone = data.get('timezone')

        def when(value):
            "A date and time in the company's time zone, to the minute."
            return cls.format_datetime(
                value, None, Lang.get().date + ' %H:%M', zone)
        context['when'] = when
        # In the reader's language: "2.4 MB", "2,4 MB".
        context['file_size'] = lambda item: format_size(item.data_size)
        return context

    @classmethod
    def render_page(cls, link, request, error=None, values=None):
        """Return the HTML of the page of a customer link.

        The offer part of the page is the one the customer was sent (see
        buero365.offer.link.record_sent_document), live only while the
        offer was never sent.  error is the message of a refused answer and
        values what the customer had entered."""
        pool = Pool()
        Event = pool.get('buero365.offer.event')
        DateRequest = pool.get('buero365.offer.date_request')
        viewed = request.method in {'GET', 'HEAD'}
        if viewed and not error and not values:
            # Read by link.shown and customer_status too (never saved).
            link.offer = cls.key_offer(link.offer.id)
        offer = link.offer
        shown = link.shown
        if viewed and link.revision >= shown.revision:
            Event.record_visit(offer, 'page_opened', request)
        date_request = DateRequest.pending_of(offer)
        status = offer.customer_status(link, date_request=date_request)
        key = None
        if viewed and not error and not values and shown.sent_page_id:
            # Sent: the offer parts are the stored ones, the rest is
            # what the key holds.
            key = (Transaction().database.name, link.id, link.write_date,
                shown.id, shown.write_date, offer.id, offer.write_date,
                offer.state, status,
                date_request.id if date_request else None,
                date_request.write_date if date_request else None,
                cls.min_start(offer))
            content = _PAGES.get(key)
            if content is not None:
                return content
        document = shown.snapshot_parts()
        path = link.page_path()
        content = cls._render(link, shown, {
                'document': document,
                'status': status,
                'current': shown,
                'current_path': shown.page_path(),
                'pdf_url': (f'{path}/pdf' if status != 'superseded'
                    else None),
                'form_token': link.form_token(),
                'digest': shown.sent_digest or offer.content_digest(),
                'error': error,
                'values': values or {},
                'urls': {a: f'{path}/{a}'
                    for a in ['accept', 'reject', 'date']},
                'date_request': date_request,
                }, media=(document is None and status != 'superseded'))
        if key is not None:
            _PAGES.set(key, content)
        return content

    @classmethod
    def key_offer(cls, offer_id):
        """The offer with only what a view needs to find its kept page
        (KEY_FIELDS): a read of all the fields of the offer and of its
        company takes three times as long (at 200,000 offers, about 3.5
        against 1.1 ms).  A page rendered reads the rest when it needs
        it."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Company = pool.get('company.company')
        values, = Offer.read([offer_id], KEY_FIELDS)
        company = values.pop('company.', None)
        values['company'] = Company(**company) if company else None
        return Offer(**values)

    @staticmethod
    def min_start(offer):
        "The lower bound of the date form: now in the company's time zone."
        zone = offer.company.timezone if offer.company else None
        now_local = dt.datetime.now(dt.timezone.utc).astimezone(
            get_tzinfo(zone) if zone else UTC)
        return now_local.strftime('%Y-%m-%dT%H:%M')

    @classmethod
    def render_snapshot(cls, link):
        """Return the offer parts of the page of link as they are now (as
        JSON bytes), to be shown to the customer until the next sending."""
        offer = link.offer
        content = cls._render(link, link, {'snapshot': True}, media=True)
        tree = lxml.html.document_fromstring(content)
        parts = {}
        for element in tree.iter():
            if element.get('id') in SNAPSHOT_PARTS:
                tail, element.tail = element.tail, None
                # As XML: the page template is rendered as XHTML.
                parts[element.get('id')] = etree.tostring(
                    element, method='xml', encoding='unicode')
                element.tail = tail
        media = offer.customer_media()
        return json.dumps({
                'parts': parts,
                'media': sorted(m.id for items in media.values()
                    for m in items),
                }).encode('utf-8')

    @classmethod
    def _render(cls, link, shown, data, media=False):
        "Render the page template for link in the customer's language."
        pool = Pool()
        Offer = pool.get('buero365.offer')
        offer = link.offer
        zone = offer.company.timezone if offer.company else None
        language = offer.customer_language()
        with Transaction().set_context(language=language):
            reasons = [(k, v) for k, v in Offer.fields_get(
                    ['rejection_reason'])['rejection_reason']['selection']
                if k]
        items = offer.customer_media() if media else {}
        # Paths, not URLs: the page works under whatever host serves it.
        path = shown.page_path()
        data = dict(data, **{
                'link': link,
                'media': {
                    kind: [(item, f'{path}/media/{item.id}')
                        for item in entries]
                    for kind, entries in items.items()},
                'reasons': reasons,
                'timezone': zone,
                'static': link.static_path(),
                'min_start': cls.min_start(offer),
                })
        chosen = data.setdefault('values', {}).get('chosen')
        # The services ticked: those the customer had ticked when their
        # answer was refused, else the choice made in advance.
        data['ticked'] = ((lambda line: str(line.id) in chosen)
            if chosen is not None else (lambda line: line.selected))
        return cls.render_records([offer], data, language=language)


class PortalPage(HTMLPage):
    "Offer Portal Page"
    __name__ = 'buero365.offer.portal'
    data_names = ['page', 'web_user', 'form_token', 'error', 'values',
        'statuses', 'summaries', 'base', 'static', 'page_number',
        'previous_url', 'next_url']

    @classmethod
    def render_page(cls, page, language, web_user=None, offers=(),
            form_token=None, error=None, values=None, page_number=1,
            has_next=False):
        """Return the HTML of a portal page: login, offers, reset,
        reset_sent, password.  offers is the page_number-th page of the
        list; has_next tells whether older offers follow."""
        pool = Pool()
        Link = pool.get('buero365.offer.link')
        Offer = pool.get('buero365.offer')
        database = Transaction().database.name
        base = f'/{database}/portal'
        statuses, summaries = {}, {}
        for id_, (status, title, valid_until, total) in (
                Offer.portal_summaries(offers).items()):
            statuses[id_] = status
            summaries[id_] = {'title': title, 'valid_until': valid_until,
                'total_amount': total}

        def page_url(number):
            return (f'{base}/offers?page={number}' if number > 1
                else f'{base}/offers')
        return cls.render_records(offers, {
                'page': page,
                'web_user': web_user,
                'form_token': form_token,
                'error': error,
                'values': values or {},
                'statuses': statuses,
                'summaries': summaries,
                'base': base,
                'static': Link.static_path(),
                'page_number': page_number,
                'previous_url': (page_url(page_number - 1)
                    if page_number > 1 else None),
                'next_url': page_url(page_number + 1) if has_next else None,
                }, language=language)
