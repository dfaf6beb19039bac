# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The offers with sale_opportunity active, end to end: a lead becomes an
offer, the offer is sent by email (real SMTP server), the customer answers
on its page (trytond's WSGI application), the scheduler expires it, staff
reopen it; the lead follows each step.  (test_lead.py checks the same
rules through the staff's buttons, one at a time.)"""
import datetime as dt
from decimal import Decimal
from urllib.parse import urlsplit

from trytond.modules.company.tests import create_employee
from trytond.pool import Pool
from trytond.transaction import Transaction

from .smtp import smtp_server
from .tools import (
    CustomerRouteTestCase,
    add_line,
    company,
    create_lead,
    read,
    run_committed,
    run_queue,
    run_send_wizard,
)


def staff_context():
    "The context the client sends for the admin (company, employee)."
    User = Pool().get('res.user')
    return User.get_preferences(context_only=True)


def backdate(offer_id, days):
    "Make the offer's last day days ago (in SQL: no offer is created so)."
    pool = Pool()
    Offer = pool.get('buero365.offer')
    Date = pool.get('ir.date')
    table = Offer.__table__()
    Transaction().connection.cursor().execute(*table.update(
            [table.valid_until], [Date.today() - dt.timedelta(days=days)],
            where=table.id == offer_id))


class LeadWorkflowTestCase(CustomerRouteTestCase):
    "Test that leads follow their offers through the whole workflow"
    extras = ['sale_opportunity']

    @classmethod
    def setUpDatabase(cls):
        super().setUpDatabase()
        pool = Pool()
        User = pool.get('res.user')
        the_company = company()
        employee = create_employee(the_company, name="Lena Vertrieb")
        User.write([User(Transaction().user)], {
                'companies': [('add', [the_company.id])],
                'company': the_company.id,
                'employees': [('add', [employee.id])],
                'employee': employee.id,
                })
        cls.employee_id = employee.id

    def staff(self, func):
        "Run func as the admin in the client, committed; send what it queues."
        def run():
            with Transaction().set_context(staff_context()):
                result = func()
                run_queue()
                return result
        with smtp_server():
            return run_committed(run)

    def customer_path(self, offer_id):
        "The path of the customer page of the offer as last sent."
        return urlsplit(read(lambda: Pool().get('buero365.offer')(
                    offer_id).customer_url)).path

    def offer_from_lead(self, lead_id, amount):
        """Create an offer from the lead as staff do, with a service of the
        net amount, and send it; return its id."""
        def create():
            pool = Pool()
            Opportunity = pool.get('sale.opportunity')
            known = {o.id for o in Opportunity(lead_id).offers}
            Opportunity.create_offer([Opportunity(lead_id)])
            offer, = [o for o in Opportunity(lead_id).offers
                if o.id not in known]
            Tax = pool.get('account.tax')
            add_line(offer, amount, Tax.search([('name', '=', "USt 19 %")]))
            run_send_wizard(offer)
            return offer.id
        return self.staff(create)

    def new_lead(self, name, email):
        "A lead from a marketplace, by someone who is not a customer yet."
        return self.staff(lambda: create_lead(
                lead_name=name, lead_email=email,
                description="Umzug Köln → Bonn").id)

    def lead(self, lead_id):
        """The lead as staff see it: (state, amount, lost reason, employee,
        number of sales)."""
        def get():
            lead = Pool().get('sale.opportunity')(lead_id)
            return (lead.state, lead.amount, lead.lost_reason,
                lead.employee.id if lead.employee else None,
                len(lead.sales))
        return read(get)

    def offer_name(self, offer_id):
        return read(lambda: Pool().get('buero365.offer')(offer_id).rec_name)

    def test_accepted_online_wins_lead(self):
        "The customer accepts the offer of a lead: the lead is won"
        lead_id = self.new_lead("Jana Kundin", 'jana@example.de')
        self.assertEqual(self.lead(lead_id)[0], 'lead')
        offer_id = self.offer_from_lead(lead_id, '1200.00')
        # Sent, not answered: the lead waits.
        self.assertEqual(self.lead(lead_id)[0], 'lead')

        with smtp_server() as inbox:
            self.accept(self.customer_path(offer_id))
        self.assertEqual(
            [m['To'] for m in inbox.messages], ['jana@example.de'])
        self.assertEqual(self.lead(lead_id),
            ('won', Decimal('1200.00'), None, self.employee_id, 0))

    def test_rejected_expired_reopened_accepted(self):
        """Rejected online and expired by the scheduler, the lead is lost
        with why; a reopened offer accepted later wins it"""
        lead_id = self.new_lead("Kai Kunde", 'kai@example.de')
        rejected = self.offer_from_lead(lead_id, '1500.00')
        expiring = self.offer_from_lead(lead_id, '900.00')

        self.post_form(self.customer_path(rejected), 'reject',
            reason='too_expensive', comment="Leider zu teuer für uns.")
        # The other offer is still open: the lead too.
        self.assertEqual(self.lead(lead_id)[0], 'lead')

        def run_cron():
            pool = Pool()
            Cron = pool.get('ir.cron')
            backdate(expiring, 1)
            cron, = Cron.search([
                    ('method', '=', 'buero365.offer|expire_due')])
            Cron.run_once([cron])
        run_committed(run_cron, user=0)
        state, amount, lost_reason, _, _ = self.lead(lead_id)
        self.assertEqual(state, 'lost')
        self.assertEqual(lost_reason.splitlines(), [
                f"Offer {self.offer_name(rejected)} rejected: Too expensive",
                "Leider zu teuer für uns.",
                f"Offer {self.offer_name(expiring)} expired.",
                ])

        # Staff give the customer more time: the lead stays lost until the
        # customer accepts (doc/user.md, "Leads follow offers").
        def reopen():
            pool = Pool()
            Offer = pool.get('buero365.offer')
            Date = pool.get('ir.date')
            offer = Offer(expiring)
            Offer.reopen([offer])
            Offer.write([offer], {
                    'valid_until': Date.today() + dt.timedelta(days=10)})
            run_send_wizard(Offer(expiring))
        self.staff(reopen)
        self.assertEqual(self.lead(lead_id)[0], 'lost')

        self.accept(self.customer_path(expiring))
        self.assertEqual(self.lead(lead_id)[:2], ('won', Decimal('900.00')))
        self.assertEqual(self.lead(lead_id)[3:], (self.employee_id, 0))
