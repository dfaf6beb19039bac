# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Optional and alternative services: which of them the offer counts, and
the customer's choice of them when they accept (acceptance.py).

Staff mark a service optional (a Bedarfsposition the customer may add) or
one of an alternative group (the customer takes exactly one), and which of
them are chosen in advance (`selected`); the totals are of the chosen
set.  On acceptance the customer's choice is written to the services,
before the offer closes: from then on nobody can change it
(OfferLine.check_modification)."""
import json

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import AnswerInvalid

# The context key that tells the services' update it is the customer's
# choice on acceptance, not a staff edit: no new revision.  trytond drops
# the context keys starting with "_" that a client sends.
CUSTOMER_CHOICE = '_buero365_customer_choice'


class ChoosingMixin:
    "The chosen services of an offer (buero365.offer uses it)."
    __slots__ = ()

    def chosen_lines(self):
        """Return the services the offer counts and the customer signs, in
        their order: the included ones, the optional ones selected and the
        selected alternative of each group."""
        return [line for line in self.lines if line.chosen]

    def has_choices(self):
        "Tell whether the customer has services to choose from."
        return any(line.choice for line in self.lines)

    def alternative_groups(self):
        "Return [(group, [line, …]), …] in the order of the services."
        groups = {}
        for line in self.lines:
            if line.choice == 'alternative':
                groups.setdefault(line.alternative_group, []).append(line)
        return list(groups.items())

    def customer_selection(self, chosen=None):
        """Return the ids of the services the customer chose, from chosen,
        the line ids (as text) of the form; None: the services chosen in
        advance.  Raise AnswerInvalid for a service not on the offer, an
        included service left out or an alternative group without exactly
        one service."""
        if chosen is None:
            return {line.id for line in self.chosen_lines()}
        by_id = {str(line.id): line for line in self.lines}
        chosen = [str(value).strip() for value in chosen]
        if any(value not in by_id for value in chosen):
            raise AnswerInvalid(gettext(
                    'buero365_offers.msg_choice_unknown'))
        selection = {by_id[value].id for value in chosen}
        for line in self.lines:
            if not line.choice and line.id not in selection:
                raise AnswerInvalid(gettext(
                        'buero365_offers.msg_choice_included',
                        line=line.summary))
        for group, lines in self.alternative_groups():
            picked = [line for line in lines if line.id in selection]
            if len(picked) != 1 or chosen.count(str(picked[0].id)) != 1:
                raise AnswerInvalid(gettext(
                        'buero365_offers.msg_choice_alternative',
                        group=group))
        return selection

    def choose(self, selection):
        """Write the customer's choice (the ids of selection) to the
        services, as part of their acceptance; the totals follow.  Return
        whether it differs from the choice made in advance."""
        pool = Pool()
        Line = pool.get('buero365.offer.line')
        to_write = []
        for line in self.lines:
            if line.choice and bool(line.selected) != (line.id in selection):
                to_write.extend([[line], {'selected': line.id in selection}])
        if to_write:
            with Transaction().set_context(**{CUSTOMER_CHOICE: True}):
                Line.write(*to_write)
        return bool(to_write)

    def selection_evidence(self):
        """The customer's choice as the evidence keeps it: the chosen
        services as [id, description], None for an offer without
        choices."""
        if not self.has_choices():
            return None
        return json.dumps(
            [[line.id, line.description] for line in self.chosen_lines()],
            ensure_ascii=False)

    def choice_amounts(self):
        """Return {line id: (net, taxes)}: what each service adds to the
        totals, net as text and its taxes not rounded as the JSON of
        {tax id: amount}, for the page to show the total of a choice at
        once (the server computes it again on acceptance)."""
        pool = Pool()
        Tax = pool.get('account.tax')
        amounts = {}
        with Transaction().set_context(self._get_tax_context()):
            for line in self.lines:
                net = line.amount or 0
                taxes = {}
                # As the offer's taxes (taxable_lines).
                for tax in Tax.compute(
                        Tax.browse(line.taxes), line.net_unit_price or 0,
                        line.quantity or 0, self.tax_date):
                    key = str(tax['tax'].id)
                    taxes[key] = taxes.get(key, 0) + tax['amount']
                amounts[line.id] = (str(net), json.dumps(
                        {k: str(v) for k, v in taxes.items()},
                        sort_keys=True))
        return amounts
