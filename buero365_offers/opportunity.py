# This file is part of Büro 365 Offers.  See the README for licence terms.
"Offers from CRM leads (sale.opportunity), when sale_opportunity is active."
import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

from sql import Null

from trytond.i18n import gettext
from trytond.model import Index, ModelView, Workflow, fields
from trytond.model.exceptions import ValidationError
from trytond.model.fields import SQL_OPERATORS
from trytond.modules.company.model import set_employee
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools.email_ import (
    EmailNotValidError,
    normalize_email,
    validate_email,
)
from trytond.transaction import Transaction, without_check_access

from .document import render_fragment

logger = logging.getLogger(__name__)

# "Hauptstraße 12, 10115 Berlin" or "Hauptstraße 12\n10115 Berlin"
_ADDRESS = re.compile(
    r'^(?P<street>.*\S)\s*[,\n]\s*(?P<postal_code>\d{5})\s+(?P<city>\S.*)$',
    re.DOTALL)


def parse_address(text):
    """Split a German address written on one or two lines into
    {'street', 'postal_code', 'city'}; None when it does not look like one."""
    if not text:
        return None
    match = _ADDRESS.match(text.strip())
    if not match:
        return None
    street = ' '.join(match.group('street').split())
    city = ' '.join(match.group('city').split())
    if not street or not city:
        return None
    return {
        'street': street,
        'postal_code': match.group('postal_code'),
        'city': city,
        }


def clean_lead_email(value):
    """Return the email as leads store and compare it: normalised, then
    lower-cased (None when empty)."""
    if value:
        return normalize_email(value.strip()).lower() or None
    return value


class Configuration(metaclass=PoolMeta):
    __name__ = 'buero365.offer.configuration'

    lead_follows_offers = fields.Boolean(
        "Leads Follow Offers",
        help="Mark a lead won when one of its offers is accepted, "
        "and lost when all its offers are rejected or expired.")

    @classmethod
    def default_lead_follows_offers(cls):
        return True


class SaleOpportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    _lead_states = {
        'readonly': Eval('state').in_(
            ['converted', 'won', 'lost', 'cancelled']),
        }

    lead_source = fields.Many2One(
        'buero365.lead.source', "Lead Source", ondelete='RESTRICT',
        states=_lead_states,
        help="Where the lead came from, e.g. a marketplace.")
    lead_name = fields.Char(
        "Contact Name", states=_lead_states,
        help="Who asked, while the lead has no party yet.")
    lead_email = fields.Char(
        "Contact Email", states=_lead_states,
        help="Used with the service date to recognise duplicate leads.")
    lead_phone = fields.Char("Contact Phone", states=_lead_states)
    service_date = fields.Date(
        "Service Date", states=_lead_states,
        help="When the customer wants the move or the cleaning.")
    from_address = fields.Text(
        "From Address", states=_lead_states,
        help="Where the move starts (moving out), "
        "e.g. \"Hauptstraße 12, 10115 Berlin\".")
    to_address = fields.Text(
        "To Address", states=_lead_states,
        help="Where the move ends (moving in).")
    offers = fields.One2Many(
        'buero365.offer', 'opportunity', "Offers", readonly=True)

    del _lead_states

    @classmethod
    def __setup__(cls):
        cls.lead_email.search_unaccented = False
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.lead_source, Index.Range())),
                # duplicate detection of imported leads
                Index(t,
                    (t.lead_email, Index.Equality()),
                    (t.service_date, Index.Range())),
                })
        cls._buttons.update({
                'create_offer': {
                    'invisible': ~Eval('state').in_(
                        ['lead', 'opportunity', 'converted']),
                    'icon': 'buero365-offer',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'lead_email' in values:
            values['lead_email'] = clean_lead_email(values['lead_email'])
        for name in ['lead_name', 'lead_phone']:
            if values.get(name):
                values[name] = ' '.join(values[name].split())
        return values

    @classmethod
    def validate_fields(cls, leads, field_names):
        super().validate_fields(leads, field_names)
        if field_names and 'lead_email' not in field_names:
            return
        for lead in leads:
            if not lead.lead_email:
                continue
            try:
                validate_email(lead.lead_email)
            except EmailNotValidError as exception:
                raise ValidationError(gettext(
                        'buero365_offers.msg_lead_email_invalid',
                        email=lead.lead_email, lead=lead.rec_name,
                        reason=str(exception))) from exception

    @classmethod
    def copy(cls, leads, default=None):
        default = default.copy() if default else {}
        default.setdefault('offers', None)
        return super().copy(leads, default=default)

    @classmethod
    @ModelView.button_action('buero365_offers.act_offer_from_lead')
    def create_offer(cls, leads):
        """Create an offer for each lead, prefilled from the lead, and open
        them; a lead without a party gets one from its contact data."""
        pool = Pool()
        Offer = pool.get('buero365.offer')
        if not leads:
            return
        # Offer staff only read leads; the button (run without access
        # checks by ModelView.button) completes the lead with the party and
        # employee the offer needs.
        cls._complete_for_offer(leads)
        offers = [lead.get_offer() for lead in leads]
        Offer.save(offers)
        return {'res_id': [o.id for o in offers]}

    @classmethod
    def _complete_for_offer(cls, leads):
        "Give the leads the party and employee an offer and a win need."
        pool = Pool()
        Party = pool.get('party.party')
        to_create = [l for l in leads if not l.party]
        parties = [l._party_from_contact() for l in to_create]
        Party.save(parties)
        for lead, party in zip(to_create, parties):
            lead.party = party
            if not lead.address:
                lead.address = party.address_get()
        for lead in leads:
            if not lead.employee:
                lead.employee = lead._follow_employee()
        cls.save(leads)

    def _party_from_contact(self):
        "Return a new party made from the lead's contact data."
        pool = Pool()
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        OfferAddress = pool.get('buero365.offer.address')
        name = (self.lead_name or self.lead_email or self.lead_phone
            or self.rec_name)
        party = Party(name=name)
        # The offer adds its email and phone to the party's contacts.
        parts = parse_address(self.from_address)
        if parts:
            party.addresses = [Address(
                    street_unstructured=parts['street'],
                    postal_code=parts['postal_code'],
                    city=parts['city'],
                    country=OfferAddress.default_country())]
        return party

    def _follow_employee(self):
        """Return the employee that owns the lead: the current one, else the
        one of the user who entered the lead (customer pages run as root)."""
        pool = Pool()
        Employee = pool.get('company.employee')
        User = pool.get('res.user')
        candidates = []
        employee_id = Transaction().context.get('employee')
        if employee_id:
            candidates.append(Employee(employee_id))
        if self.create_uid:
            user = User(self.create_uid.id)
            candidates.append(user.employee)
            candidates.extend(user.employees)
        for employee in candidates:
            if employee and employee.company == self.company:
                return employee

    def _service_start(self):
        """The start of the service on the lead's date: 8:00 in the
        company's time zone, as UTC like every DateTime."""
        zone = (self.company.timezone if self.company else None) or 'UTC'
        local = dt.datetime.combine(
            self.service_date, dt.time(8, 0), tzinfo=ZoneInfo(zone))
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def get_offer(self):
        "Return a new offer, not saved, prefilled from the lead."
        pool = Pool()
        Offer = pool.get('buero365.offer')
        OfferAddress = pool.get('buero365.offer.address')
        offer = Offer(
            company=self.company,
            party=self.party,
            opportunity=self,
            lead_source=self.lead_source)
        offer.on_change_company()
        offer.on_change_party()
        if self.lead_email:
            offer.email = self.lead_email
        if self.lead_phone:
            offer.phone = self.lead_phone
        if self.address:
            offer.customer_address = self.address
        if self.service_date:
            offer.start = self._service_start()
        offer.title = self.description or gettext(
            'buero365_offers.msg_offer_title_from_lead', lead=self.rec_name)
        addresses, unparsed = [], []
        for message, text in [
                ('buero365_offers.msg_address_label_from', self.from_address),
                ('buero365_offers.msg_address_label_to', self.to_address),
                ]:
            parts = parse_address(text)
            if parts:
                addresses.append(OfferAddress(
                        label=gettext(message),
                        country=OfferAddress.default_country(),
                        **parts))
            elif text:
                unparsed.append(f'{gettext(message)}: {text}')
        offer.addresses = addresses
        if unparsed:
            offer.additional_details = render_fragment(
                'buero365_offers/report/paragraphs.html',
                paragraphs=unparsed)
        return offer

    @classmethod
    def follow_offers(cls, leads):
        """Mark the leads won when one of their offers is accepted, lost
        when all of them are rejected or expired (if configured)."""
        pool = Pool()
        Configuration = pool.get('buero365.offer.configuration')
        if not Configuration(1).lead_follows_offers:
            return
        open_states = {'lead', 'opportunity', 'converted', 'lost'}
        won, lost = [], []
        for lead in leads:
            states = {o.state for o in lead.offers}
            if lead.state not in open_states or not states:
                continue
            if 'accepted' in states:
                won.append(lead)
            elif states <= {'rejected', 'expired'}:
                lost.append(lead)
        if won:
            cls.win_from_offers(won)
        if lost:
            cls.lose_from_offers(lost)

    @classmethod
    def win_from_offers(cls, leads):
        """Convert and win the leads, whose amount becomes the net amount of
        their accepted offers."""
        pool = Pool()
        Currency = pool.get('currency.currency')
        ready = []
        for lead in leads:
            accepted = [o for o in lead.offers if o.state == 'accepted']
            if not lead.party:
                lead.party = accepted[0].party
            if not lead.employee:
                lead.employee = lead._follow_employee()
            if not lead.employee:
                # Tryton requires an employee on a converted lead.
                logger.warning(
                    "lead %s has no employee: not marked as won", lead.id)
                continue
            lead.amount = sum(
                (Currency.compute(o.currency, o.untaxed_amount, lead.currency)
                    for o in accepted), 0)
            ready.append(lead)
        if not ready:
            return
        cls.save(ready)
        converting = [l for l in ready if l.state != 'converted']
        cls.convert_from_offers(converting)
        # Accepted by the customer (the customer pages have no employee):
        # the lead's own employee, who follows it, converted it.
        unattributed = [l for l in cls.browse(converting)
            if not l.converted_by]
        if unattributed:
            cls.write(*(value for lead in unattributed
                    for value in ([lead], {'converted_by': lead.employee.id})))
        cls.won(cls.browse(ready))

    @classmethod
    @Workflow.transition('converted')
    @set_employee('converted_by')
    def convert_from_offers(cls, leads):
        "Convert the leads without a sale: the accepted offer is the deal."
        pass

    @classmethod
    def lose_from_offers(cls, leads):
        "Mark the leads lost, recording why their offers failed."
        for lead in leads:
            lead.lost_reason = lead._lost_reason_from_offers()
        cls.save(leads)
        cls.lost(cls.browse(leads))

    def _lost_reason_from_offers(self):
        pool = Pool()
        Offer = pool.get('buero365.offer')
        reasons = dict(Offer.fields_get(
                ['rejection_reason'])['rejection_reason']['selection'])
        lines = []
        for offer in sorted(self.offers, key=lambda o: o.id):
            if offer.state == 'expired':
                lines.append(gettext(
                        'buero365_offers.msg_lead_lost_offer_expired',
                        offer=offer.rec_name))
            elif offer.rejection_reason:
                lines.append(gettext(
                        'buero365_offers.msg_lead_lost_offer_rejected',
                        offer=offer.rec_name,
                        reason=reasons.get(
                            offer.rejection_reason, offer.rejection_reason)))
            else:
                lines.append(gettext(
                        'buero365_offers.msg_lead_lost_offer_rejected_no_reason',
                        offer=offer.rec_name))
            if offer.state == 'rejected' and offer.rejection_comment:
                lines.append(offer.rejection_comment.strip())
        return '\n'.join(lines)


class Offer(metaclass=PoolMeta):
    __name__ = 'buero365.offer'

    opportunity = fields.Many2One(
        'sale.opportunity', "Lead", ondelete='SET NULL',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': Eval('state') != 'open',
            },
        help="The lead the offer answers: it is won or lost "
        "with its offers.")

    # No index of opportunity here: trytond indexes it (opportunity IS NOT
    # NULL) as the target of the lead's offers.

    @classmethod
    def _unseen_fields(cls):
        return super()._unseen_fields() | {'opportunity'}

    @fields.depends(
        'opportunity', 'party', 'lead_source', 'email', 'phone',
        methods=['on_change_party'])
    def on_change_opportunity(self):
        lead = self.opportunity
        if not lead:
            return
        if not self.lead_source:
            self.lead_source = lead.lead_source
        if not self.party and lead.party:
            self.party = lead.party
            self.on_change_party()
        if not self.email:
            self.email = lead.lead_email
        if not self.phone:
            self.phone = lead.lead_phone

    @classmethod
    def leads_follow_offers(cls, offers):
        "Let the leads of the offers follow their offers (follow_offers)."
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        # A consequence of the offer's answer, not an edit of the lead: the
        # customer pages and the scheduler have no access to leads.
        with without_check_access():
            leads = {o.opportunity.id for o in cls.browse(offers)
                if o.opportunity}
            if leads:
                Opportunity.follow_offers(Opportunity.browse(sorted(leads)))

    @classmethod
    def accept(cls, offers):
        action = super().accept(offers)
        cls.leads_follow_offers(offers)
        return action

    @classmethod
    def reject(cls, offers):
        action = super().reject(offers)
        cls.leads_follow_offers(offers)
        return action

    @classmethod
    def expire(cls, offers):
        action = super().expire(offers)
        cls.leads_follow_offers(offers)
        return action

    @classmethod
    def _follow_expiry(cls, ids):
        super()._follow_expiry(ids)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id,
                where=SQL_OPERATORS['in'](table.id, ids)
                & (table.opportunity != Null)))
        with_lead = [i for i, in cursor]
        if with_lead:
            cls.leads_follow_offers(with_lead)

    @classmethod
    def on_modification(cls, mode, offers, field_names=None):
        super().on_modification(mode, offers, field_names=field_names)
        # The reason is often given after the rejection: keep the lost
        # lead's reason up to date.
        if (mode == 'write' and field_names
                and field_names & {'rejection_reason', 'rejection_comment'}):
            cls.leads_follow_offers(
                [o for o in offers if o.state == 'rejected'])
