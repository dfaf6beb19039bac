# This file is part of Büro 365 Offers.  See the README for licence terms.
"Import leads from the CSV exports of lead marketplaces."
import csv
import datetime as dt
import io
import re
import unicodedata

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, PYSONEncoder
from trytond.tools import grouped_slice
from trytond.tools.email_ import EmailNotValidError, validate_email
from trytond.transaction import Transaction
from trytond.wizard import (
    Button,
    StateAction,
    StateTransition,
    StateView,
    Wizard,
)

from .exceptions import MalformedFile
from .mail_headers import header_text
from .opportunity import clean_lead_email, parse_address
from .text import clean_lines

# Column headers as marketplaces and spreadsheets write them, compared after
# normalize_header(); the first name of each list is the documented one.
HEADERS = {
    'name': ['name', 'full name', 'contact', 'contact name', 'customer',
        'kunde', 'kundenname', 'ansprechpartner', 'nom'],
    'email': ['email', 'e mail', 'mail', 'email address',
        'e mail adresse', 'courriel'],
    'phone': ['phone', 'telephone', 'phone number', 'mobile', 'telefon',
        'telefonnummer', 'tel', 'handy', 'mobil'],
    'service_date': ['move date', 'moving date', 'service date', 'date',
        'umzugsdatum', 'umzugstermin', 'datum', 'termin', 'wunschtermin',
        'date de demenagement'],
    'from_address': ['from address', 'from', 'moving out address',
        'auszugsadresse', 'auszug', 'von', 'abholadresse', 'adresse depart'],
    'to_address': ['to address', 'to', 'moving in address',
        'einzugsadresse', 'einzug', 'nach', 'zieladresse',
        'adresse arrivee'],
    'lead_source': ['source', 'lead source', 'quelle', 'portal', 'plattform',
        'marketplace'],
    'reference': ['reference', 'lead id', 'request id', 'anfrage nr',
        'anfragenummer', 'referenz'],
    'comment': ['comment', 'notes', 'message', 'bemerkung', 'nachricht',
        'kommentar'],
    }
REQUIRED_HEADERS = ['name', 'email']
# The columns of several lines; the others are one line of text.
MULTILINE_COLUMNS = {'from_address', 'to_address', 'comment'}
DELIMITERS = [';', ',', '\t']
_DATE_FORMATS = ['%d.%m.%Y', '%d.%m.%y', '%Y-%m-%d']


def normalize_header(value):
    "Lower-case, without accents, BOM and punctuation: 'E-Mail' → 'e mail'."
    value = unicodedata.normalize('NFKD', value.replace('\ufeff', ''))
    value = ''.join(c for c in value if not unicodedata.combining(c))
    return ' '.join(re.sub(r'[^0-9a-z]+', ' ', value.lower()).split())


_HEADER_NAMES = {
    normalize_header(alias): name
    for name, aliases in HEADERS.items() for alias in aliases}


def decode(data):
    """Return the text of the file: UTF-8 (with or without BOM), else
    Windows-1252 (Excel's "CSV" on German Windows)."""
    if not data or not data.strip():
        raise MalformedFile(gettext('buero365_offers.msg_lead_import_empty'))
    if b'\x00' in data:
        raise MalformedFile(
            gettext('buero365_offers.msg_lead_import_not_text'))
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        try:
            text = data.decode('cp1252')
        except UnicodeDecodeError:
            raise MalformedFile(
                gettext('buero365_offers.msg_lead_import_not_text'))
    if any(ord(c) < 32 and c not in '\t\r\n' for c in text):
        raise MalformedFile(
            gettext('buero365_offers.msg_lead_import_not_text'))
    return text


def clean_cell(column, text):
    """Return the text of a cell as it is stored.  Marketplace data end up
    in offer titles and email subjects: no control characters, and encoded
    words decoded and cleaned as an email header would show them."""
    if column in MULTILINE_COLUMNS:
        return '\n'.join(header_text(l) for l in clean_lines(text).split('\n'))
    return header_text(text)


def read_header(text):
    """Return (delimiter, column names) from the first line: the delimiter
    that finds the most known columns wins."""
    first_line = next(
        (l for l in io.StringIO(text, newline=None) if l.strip()), '')
    best = None
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([first_line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        columns = [_HEADER_NAMES.get(normalize_header(c)) for c in cells]
        known = [c for c in columns if c]
        if best is None or len(known) > best[0]:
            best = (len(known), delimiter, columns)
    if not best or not best[0]:
        raise MalformedFile(gettext(
                'buero365_offers.msg_lead_import_header_unknown',
                header=first_line.strip()[:200],
                expected=', '.join(h[0] for h in HEADERS.values())))
    _, delimiter, columns = best
    missing = [HEADERS[n][0] for n in REQUIRED_HEADERS if n not in columns]
    if missing:
        raise MalformedFile(gettext(
                'buero365_offers.msg_lead_import_header_missing',
                columns=', '.join(missing),
                header=first_line.strip()[:200]))
    duplicates = {c for c in columns if c and columns.count(c) > 1}
    if duplicates:
        raise MalformedFile(gettext(
                'buero365_offers.msg_lead_import_header_twice',
                columns=', '.join(sorted(HEADERS[c][0] for c in duplicates))))
    return delimiter, columns


def read_rows(data):
    """Return the rows of the file after its header, non-empty ones only,
    as (line number, {column: text}, None), or (line number, None, reason)
    for a row with more cells than the header has columns.  Raise
    MalformedFile when the file is not a lead CSV."""
    text = decode(data)
    delimiter, columns = read_header(text)
    reader = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
    rows = []
    try:
        header_seen = False
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if not header_seen:
                header_seen = True
                continue
            line = reader.line_num
            if len(cells) > len(columns) and any(
                    c.strip() for c in cells[len(columns):]):
                rows.append((line, None, gettext(
                            'buero365_offers.msg_lead_import_row_columns',
                            found=len(cells), expected=len(columns))))
                continue
            values = {}
            for name, cell in zip(columns, cells):
                if name:
                    values[name] = clean_cell(name, cell)
            rows.append((line, values, None))
    except csv.Error as exception:
        raise MalformedFile(gettext(
                'buero365_offers.msg_lead_import_csv_error',
                line=reader.line_num, error=str(exception)))
    return rows


def parse_date(value):
    "Return the date of '31.12.2026', '31.12.26' or '2026-12-31'."
    value = value.strip()
    for format_ in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, format_).date()
        except ValueError:
            continue
    try:
        # ISO date-times as some exports write them
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise ValueError(value)


class LeadImportStart(ModelView):
    "Import Leads"
    __name__ = 'buero365.lead.import.start'
    __string__ = "Import Leads"

    file = fields.Binary(
        "File", required=True, filename='filename',
        help="A CSV export with the columns name, email, phone, move date, "
        "from address, to address and source (code or name), "
        "separated by ; or , in UTF-8 or Windows-1252.")
    filename = fields.Char("File Name")
    lead_source = fields.Many2One(
        'buero365.lead.source', "Lead Source",
        help="For the rows without a source, "
        "e.g. when the file comes from one marketplace.")


class LeadImportResult(ModelView):
    "Import Leads Result"
    __name__ = 'buero365.lead.import.result'
    __string__ = "Import Leads Result"

    imported = fields.Integer("Imported", readonly=True)
    skipped = fields.Integer(
        "Skipped", readonly=True,
        help="Duplicates of a lead of the file or of an existing lead.")
    failed = fields.Integer(
        "Failed", readonly=True,
        help="Rows that could not be read; fix them and import them again.")
    details = fields.Text("Details", readonly=True)
    leads = fields.Many2Many(
        'sale.opportunity', None, None, "Leads", readonly=True)


class LeadImport(Wizard):
    "Import Leads"
    __name__ = 'buero365.lead.import'

    start = StateView(
        'buero365.lead.import.start',
        'buero365_offers.lead_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView(
        'buero365.lead.import.result',
        'buero365_offers.lead_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            Button("Open Leads", 'open_', 'tryton-forward',
                states={'invisible': ~Eval('leads')}),
            ])
    open_ = StateAction('sale_opportunity.act_opportunity_form')

    def transition_import_(self):
        try:
            rows = read_rows(self.start.file)
        except MalformedFile as exception:
            raise UserError(gettext(
                    'buero365_offers.msg_lead_import_malformed',
                    file=self.start.filename or '',
                    reason=str(exception))) from exception
        leads, skipped, failed = self.import_rows(
            rows, self.start.lead_source)
        self.result.imported = len(leads)
        self.result.skipped = len(skipped)
        self.result.failed = len(failed)
        self.result.leads = leads
        self.result.details = self.summary(leads, skipped, failed)
        return 'result'

    def value_result(self, fields):
        return {
            'imported': self.result.imported,
            'skipped': self.result.skipped,
            'failed': self.result.failed,
            'details': self.result.details,
            'leads': [l.id for l in self.result.leads],
            }

    def do_open_(self, action):
        action['pyson_domain'] = PYSONEncoder().encode(
            [('id', 'in', [l.id for l in self.result.leads])])
        action['name'] += f' ({len(self.result.leads)})'
        return action, {}

    def transition_open_(self):
        return 'end'

    @classmethod
    def import_rows(cls, rows, default_source=None):
        """Create the leads of the rows; return (leads, skipped, failed),
        skipped and failed as lists of (line, reason)."""
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        company = Transaction().context.get('company')
        sources = cls._sources()
        failed, candidates = [], []
        for line, values, error in rows:
            if error is None:
                try:
                    candidates.append(
                        (line, cls._lead_values(values, sources,
                                default_source)))
                    continue
                except ValueError as exception:
                    error = str(exception)
            failed.append((line, error))

        existing = cls._existing_keys(
            company, {v['lead_email'] for _, v in candidates
                if v.get('lead_email')})
        seen, skipped, to_create = {}, [], []
        for line, values in candidates:
            email = values.get('lead_email')
            key = (email, values.get('service_date'))
            if email and key in existing:
                skipped.append((line, gettext(
                            'buero365_offers.msg_lead_import_duplicate_lead',
                            lead=existing[key])))
            elif email and key in seen:
                skipped.append((line, gettext(
                            'buero365_offers.msg_lead_import_duplicate_line',
                            line=seen[key])))
            else:
                if email:
                    seen[key] = line
                if company is not None:
                    values['company'] = company
                to_create.append(values)
        leads = Opportunity.create(to_create) if to_create else []
        return leads, skipped, failed

    @classmethod
    def _sources(cls):
        "Return the active lead sources by lower-cased code and name."
        pool = Pool()
        LeadSource = pool.get('buero365.lead.source')
        sources = {}
        for source in LeadSource.search([]):
            sources.setdefault(source.name.casefold(), source)
        for source in LeadSource.search([]):
            # codes win over names
            sources[source.code.casefold()] = source
        return sources

    @classmethod
    def _existing_keys(cls, company, emails):
        "Return {(email, service date): lead number} of the existing leads."
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        keys = {}
        for sub_emails in grouped_slice(
                sorted(emails), backend.MAX_QUERY_PARAMS // 2):
            with Transaction().set_context(active_test=False):
                for lead in Opportunity.search([
                            ('company', '=', company),
                            ('lead_email', 'in', list(sub_emails)),
                            ], order=[('id', 'ASC')]):
                    keys.setdefault(
                        (lead.lead_email, lead.service_date), lead.rec_name)
        return keys

    @classmethod
    def _lead_values(cls, values, sources, default_source):
        "Return the values of the lead of a row; raise ValueError if bad."
        name = ' '.join(values.get('name', '').split())
        email = values.get('email', '')
        phone = ' '.join(values.get('phone', '').split())
        if not name:
            raise ValueError(gettext(
                    'buero365_offers.msg_lead_import_row_no_name'))
        if not email and not phone:
            raise ValueError(gettext(
                    'buero365_offers.msg_lead_import_row_no_contact'))
        if email:
            try:
                email = validate_email(email)
            except EmailNotValidError as exception:
                raise ValueError(gettext(
                        'buero365_offers.msg_lead_import_row_email',
                        email=email, reason=str(exception)))
        service_date = None
        if values.get('service_date'):
            try:
                service_date = parse_date(values['service_date'])
            except ValueError:
                raise ValueError(gettext(
                        'buero365_offers.msg_lead_import_row_date',
                        date=values['service_date']))
        source = default_source
        if values.get('lead_source'):
            source = sources.get(values['lead_source'].casefold())
            if not source:
                raise ValueError(gettext(
                        'buero365_offers.msg_lead_import_row_source',
                        source=values['lead_source']))
        from_address = values.get('from_address') or None
        to_address = values.get('to_address') or None
        cities = [p['city'] for p in map(parse_address,
                [from_address, to_address]) if p]
        description = ' → '.join(cities) if cities else name
        return {
            'lead_name': name,
            'lead_email': clean_lead_email(email) or None,
            'lead_phone': phone or None,
            'service_date': service_date,
            'from_address': from_address,
            'to_address': to_address,
            'lead_source': source.id if source else None,
            'description': description,
            'reference': values.get('reference') or None,
            'comment': values.get('comment') or None,
            }

    @classmethod
    def summary(cls, leads, skipped, failed):
        "Return the text the user reads after the import."
        lines = [gettext(
                'buero365_offers.msg_lead_import_summary',
                imported=len(leads), skipped=len(skipped),
                failed=len(failed))]
        for line, reason in sorted(failed + skipped):
            kind = ('buero365_offers.msg_lead_import_failed_line'
                if (line, reason) in failed
                else 'buero365_offers.msg_lead_import_skipped_line')
            lines.append(gettext(kind, line=line, reason=reason))
        return '\n'.join(lines)
