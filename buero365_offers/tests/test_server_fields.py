# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Fields only the server writes, attacked as a sales user would: through
RPC, as a user of the Offers group (not the administrator, not root).

The attack of issue 11: a JSON-RPC write of ir.attachment.file_id =
'xx/../../../../demo.sqlite' and media_type = 'text/html' on an uploaded
image made the offer's public media link serve the database file."""
import base64
import datetime as dt
import json
import os
import unittest
from decimal import Decimal

from trytond.filestore import filestore
from trytond.i18n import gettext
from trytond.model import ModelStorage
from trytond.model.exceptions import AccessError
from trytond.modules.buero365_offers.server_fields import ServerFieldsMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME,
    activate_module,
    drop_db,
    with_transaction,
)
from trytond.transaction import Transaction, without_check_access

from . import media_samples as samples
from .tools import (
    CustomerRouteTestCase,
    ModuleDatabaseTestCase,
    add,
    add_link,
    company,
    load_german,
    new_offer,
    offer_company,
    offers_user,
    read,
    run_committed,
)

PASSWORD = 'Umzugskarton-Klebeband-2026'
# What an attacker writes into a field that names a file.
TRAVERSAL = 'xx/../../../../demo.sqlite'


def hostile_value(field):
    "A value of the field's type an attacker would write."
    return {
        'char': TRAVERSAL,
        'text': '<script>alert(1)</script>',
        'selection': 'accepted',
        'integer': 999,
        'float': 1.5,
        'numeric': Decimal('0.01'),
        'boolean': True,
        'date': dt.date(2000, 1, 1),
        'datetime': dt.datetime(2000, 1, 1),
        'timestamp': dt.datetime(2000, 1, 1),
        'binary': b'<html><script>alert(1)</script></html>',
        'many2one': 1,
        'one2many': [('create', [{}])],
        'many2many': [('add', [1])],
        }[field._type]


def as_external(user):
    "Run as user calling through RPC (trytond sets _check_access there)."
    return Transaction().set_user(user.id), Transaction().set_context(
        _check_access=True)


def module_fields():
    """The stored models the module registers or extends, with the names
    of the fields the module defines on them."""
    pool = Pool()
    result = {}
    for name, Model in pool.iterobject():
        if (not issubclass(Model, ModelStorage)
                or callable(getattr(Model, 'table_query', None))):
            continue
        own = [k for k in Model.__mro__ if getattr(k, '__module__', '')
            .startswith('trytond.modules.buero365_offers.')]
        if not own:
            continue
        if name.startswith('buero365.'):
            result[name] = set(Model._fields)
        else:
            result[name] = {n for k in own for n in vars(k)
                if n in Model._fields}
    return result


class ServerFieldsRegistrationTestCase(unittest.TestCase):
    "Every model with such fields is guarded, with the optional modules too"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['buero365_offers', 'sale_opportunity'])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    @with_transaction()
    def test_every_model_guarded(self):
        "Each model with stored read-only fields is guarded, outermost"
        pool = Pool()
        guarded = set()
        for name, own in module_fields().items():
            Model = pool.get(name)
            stored_readonly = own & ServerFieldsMixin.server_fields.__func__(
                Model)
            # ir.attachment: the file id of trytond's file store too
            if not stored_readonly and name != 'ir.attachment':
                continue
            with self.subTest(model=name):
                self.assertTrue(issubclass(Model, ServerFieldsMixin))
                # The guard sees the caller's values before any override
                # of the model adds the ones the server computes.
                for klass in Model.__mro__[1:]:
                    if klass is ServerFieldsMixin:
                        break
                    self.assertFalse(
                        {'create', 'write', 'copy'} & vars(klass).keys(),
                        f"{klass} overrides create/write/copy before the "
                        "guard: register server_fields last in tryton.cfg")
                guarded.add(name)
        self.assertTrue({'ir.attachment', 'buero365.offer',
                'buero365.offer.link', 'buero365.offer.history',
                'buero365.offer.mail', 'buero365.offer.event',
                'buero365.offer.date_request'} <= guarded)
        Attachment = pool.get('ir.attachment')
        Offer = pool.get('buero365.offer')
        Link = pool.get('buero365.offer.link')
        self.assertTrue({'file_id', 'media_type', 'thumbnail'}
            <= Attachment.server_fields())
        self.assertTrue({'number', 'state', 'email_state', 'revision',
                'sent_revision', 'untaxed_amount', 'tax_amount',
                'total_amount', 'signature', 'signature_id', 'signed_by',
                'signed_at', 'signed_document', 'signed_document_id',
                'signed_document_sha256', 'evidence_seal', 'evidence_state',
                'email_opened_at', 'page_opened_at', 'links', 'history'}
            <= Offer.server_fields())
        self.assertTrue({'token', 'token_hash', 'sent_document_id',
                'sent_page_id', 'sent_digest', 'pdf_sha256'}
            <= Link.server_fields())
        # What staff write stays writable.
        self.assertFalse({'title', 'content', 'party', 'lines', 'images',
                'rejection_reason'} & Offer.server_fields())
        self.assertFalse({'name', 'data', 'customer_visible', 'media_kind',
                'resource'} & Attachment.server_fields())


class ServerFieldsTestCase(ModuleDatabaseTestCase):
    "No user writes what the server computes or where stored data is"

    def records(self, offer):
        "One record of each guarded model, made by the server."
        pool = Pool()
        Offer = pool.get('buero365.offer')
        Link = pool.get('buero365.offer.link')
        History = pool.get('buero365.offer.history')
        Mail = pool.get('buero365.offer.mail')
        Event = pool.get('buero365.offer.event')
        DateRequest = pool.get('buero365.offer.date_request')
        image = add(offer, "Küche.png", samples.png())
        Offer.accept([offer])
        Offer.reopen([offer])
        mail, = Mail.create([{
                    'offer': offer.id, 'purpose': 'offer',
                    'recipients': 'kunde@example.de', 'subject': "Angebot"}])
        Event.record(offer, 'opened', mail=mail)
        request, = DateRequest.create([{
                    'offer': offer.id, 'revision': 1,
                    'start': dt.datetime(2027, 3, 1, 8)}])
        return {
            'buero365.offer': Offer(offer.id),
            'ir.attachment': image,
            'buero365.offer.link': Link.search([('offer', '=', offer.id)])[0],
            'buero365.offer.history': History.search([
                    ('offer', '=', offer.id)])[0],
            'buero365.offer.mail': mail,
            'buero365.offer.event': Event.search([
                    ('offer', '=', offer.id)])[0],
            'buero365.offer.date_request': request,
            'party.party': offer.party,
            }

    def assertRefused(self, Model, name, call):
        with self.assertRaises(AccessError) as context:
            call()
        self.assertEqual(context.exception.message, gettext(
                'buero365_offers.msg_server_field', **Model.__names__(name)))

    @with_transaction()
    def test_writes_refused(self):
        "A sales user writes no server field of any model; nothing changes"
        pool = Pool()
        with offer_company() as offer:
            records = self.records(offer)
            user = offers_user(offer.company)
            tried = 0
            for model, record in records.items():
                Model = pool.get(model)
                names = sorted(Model.server_fields())
                before = Model.read([record.id], names)
                for name in names:
                    value = hostile_value(Model._fields[name])
                    user_context, check = as_external(user)
                    with user_context, check, self.subTest(
                            model=model, field=name):
                        self.assertRefused(Model, name, lambda: Model.write(
                                [Model(record.id)], {name: value}))
                        tried += 1
                self.assertEqual(Model.read([record.id], names), before)
            self.assertGreater(tried, 80)

    @with_transaction()
    def test_creates_copies_and_nested_refused(self):
        "Nor through create, copy defaults or actions of a parent's field"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Offer = pool.get('buero365.offer')
        History = pool.get('buero365.offer.history')
        with offer_company() as offer:
            records = self.records(offer)
            image = records['ir.attachment']
            user = offers_user(offer.company)
            file_id = image.file_id
            user_context, check = as_external(user)
            with user_context, check:
                self.assertRefused(Attachment, 'file_id',
                    lambda: Attachment.create([{
                                'resource': str(offer), 'name': "a.png",
                                'data': samples.png(),
                                'file_id': TRAVERSAL}]))
                self.assertRefused(Attachment, 'media_type',
                    lambda: Attachment.create([{
                                'resource': str(offer), 'name': "a.png",
                                'data': samples.png(),
                                'media_type': 'text/html'}]))
                self.assertRefused(Offer, 'state', lambda: Offer.create([{
                                'party': offer.party.id, 'title': "Umzug",
                                'state': 'accepted'}]))
                self.assertRefused(Offer, 'number', lambda: Offer.create([{
                                'party': offer.party.id, 'title': "Umzug",
                                'number': 'A-0001'}]))
                self.assertRefused(Attachment, 'file_id',
                    lambda: Attachment.copy([image], {'file_id': TRAVERSAL}))
                self.assertRefused(Offer, 'signed_document_id',
                    lambda: Offer.copy([offer], {
                            'signed_document_id': TRAVERSAL}))
                self.assertRefused(Offer, 'links',
                    lambda: Offer.copy([offer], {'links.token': 'x'}))
                self.assertRefused(Attachment, 'file_id',
                    lambda: Offer.copy([offer], {'images.file_id': 'x'}))
                self.assertRefused(Attachment, 'file_id',
                    lambda: Offer.write([offer], {'images': [
                                ('write', [image.id], {
                                        'file_id': TRAVERSAL,
                                        'media_type': 'text/html'})]}))
                self.assertRefused(Attachment, 'thumbnail',
                    lambda: Offer.write([offer], {'images': [
                                ('create', [{'name': "b.png",
                                            'data': samples.png(),
                                            'thumbnail': b'<svg/>'}])]}))
                self.assertRefused(Offer, 'links', lambda: Offer.write(
                        [offer], {'links': [('create', [{'revision': 7}])]}))
                self.assertRefused(Offer, 'history', lambda: Offer.write(
                        [offer], {'history': [('delete', [
                                        records['buero365.offer.history']
                                        .id])]}))
                self.assertRefused(Offer, 'state', lambda: Offer.copy(
                        [offer], {'lines': [('create', [{
                                            'description': "x"}])],
                            'state': 'accepted'}))
                self.assertRefused(History, 'offer', lambda: History.create(
                        [{'offer': offer.id, 'to_state': 'accepted'}]))
                for model in ['buero365.offer.link', 'buero365.offer.history',
                        'buero365.offer.mail', 'buero365.offer.event',
                        'buero365.offer.date_request']:
                    Model = pool.get(model)
                    with self.subTest(model=model), \
                            self.assertRaises(AccessError) as context:
                        Model.delete([Model(records[model].id)])
                    self.assertEqual(context.exception.message, gettext(
                            'buero365_offers.msg_server_record_delete',
                            **Model.__names__()))
            image = Attachment(image.id)
            self.assertEqual(image.file_id, file_id)
            self.assertEqual(image.media_type, 'image/png')
            self.assertEqual(image.data, samples.png())
            self.assertEqual(Offer(offer.id).state, 'open')
            self.assertEqual(len(Offer(offer.id).links), 1)

    @with_transaction()
    def test_staff_work_unchanged(self):
        "A sales user still does all staff work through RPC"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Offer = pool.get('buero365.offer')
        with offer_company() as offer:
            user = offers_user(offer.company)
            party = offer.party
            user_context, check = as_external(user)
            with user_context, check:
                new, = Offer.create([{
                            'party': party.id, 'title': "Umzug Köln",
                            'lines': [('create', [{
                                            'description': "Umzugshelfer",
                                            'quantity': 8,
                                            'unit_price': Decimal('45')}])],
                            'addresses': [('create', [{
                                            'label': "Auszug",
                                            'street': "Domstraße 1",
                                            'postal_code': "50667",
                                            'city': "Köln"}])],
                            }])
                self.assertTrue(new.number)
                self.assertEqual(new.untaxed_amount, Decimal('360.00'))
                image = add(new, "Flur.png", samples.png())
                Attachment.write([image], {'name': "Flur vorne"})
                Attachment.write([image], {'customer_visible': False})
                add_link(new, "https://example.com/plan")
                Offer.write([new], {'images': [('create', [{
                                    'name': "Bad.jpg",
                                    'data': samples.jpeg()}])]})
                copy = add(new, "Flur hinten.png", samples.png())
                duplicate, = Offer.copy([new])
                self.assertEqual(duplicate.state, 'open')
                self.assertEqual(len(duplicate.links), 1)
                Offer.accept([new])
                Offer.reopen([new])
                Offer.write([new], {'title': "Umzug Köln → Bonn"})
                Attachment.delete([copy])
                Offer.delete([duplicate])
            new = Offer(new.id)
            self.assertEqual(new.state, 'open')
            self.assertEqual(len(new.history), 2)
            self.assertEqual(Attachment(image.id).name, "Flur vorne.png")

    @with_transaction()
    def test_server_writes_them(self):
        "Server code (root, or without access checks) still writes them"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Offer = pool.get('buero365.offer')
        with offer_company() as offer:
            image = add(offer, "Küche.png", samples.png())
            user = offers_user(offer.company)
            Offer.write([offer], {'signed_by': "Erika Mustermann"})
            with Transaction().set_user(user.id), without_check_access():
                Attachment.write([image], {'media_type': 'image/png'})
                Offer.write([offer], {'email_state': 'sent'})
            offer = Offer(offer.id)
            self.assertEqual(offer.signed_by, "Erika Mustermann")
            self.assertEqual(offer.email_state, 'sent')


class MediaTraversalTestCase(CustomerRouteTestCase):
    """The attack end to end: a real JSON-RPC call through trytond's WSGI
    application, then the customer's media link"""

    @classmethod
    def setUpData(cls):
        def create():
            pool = Pool()
            Attachment = pool.get('ir.attachment')
            load_german()
            the_company = company()
            user = offers_user(
                the_company, login='verkauf', password=PASSWORD)
            image, = Attachment.create([{
                        'resource': f'buero365.offer,{offer_id}',
                        'name': "Küche.png", 'data': samples.png(),
                        'media_kind': 'image'}])
            return the_company.id, user.id, image.id
        offer_id, cls.path = new_offer(send=False)
        cls.company_id, cls.user_id, cls.image_id = run_committed(create)
        # A file beside the databases, as demo.sqlite is on SQLite.
        cls.secret = os.path.join(filestore.path, 'buero365-secret.sqlite')
        os.makedirs(filestore.path, exist_ok=True)
        with open(cls.secret, 'wb') as file:
            file.write(b'SQLite format 3\x00 password hashes and secrets')

    @classmethod
    def tearDownClass(cls):
        os.remove(cls.secret)
        super().tearDownClass()

    def rpc(self, method, *params, session=None):
        "A JSON-RPC call as sao makes it; return the decoded answer."
        headers = {}
        if session:
            user_id, token = session
            headers['Authorization'] = 'Session ' + base64.b64encode(
                f'verkauf:{user_id}:{token}'.encode()).decode()
        response = self.client().post(
            f'/{DB_NAME}/rpc/', headers=headers, content_type=(
                'application/json'),
            data=json.dumps({'id': 1, 'method': method,
                    'params': list(params)}))
        self.assertEqual(response.status_code, 200, response.get_data())
        return json.loads(response.get_data())

    def media(self):
        return self.get(f'{self.path}/media/{self.image_id}')

    def corrupt(self, **values):
        "Write values in SQL, as only someone with the database could."
        def write():
            pool = Pool()
            Attachment = pool.get('ir.attachment')
            table = Attachment.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [getattr(table, n) for n in values], list(values.values()),
                    where=table.id == self.image_id))
        run_committed(write)

    def test_rpc_write_refused_and_media_stays(self):
        "The attack's JSON-RPC write is refused, in German; the image stays"
        login = self.rpc('common.db.login', 'verkauf',
            {'password': PASSWORD}, 'de')
        user_id, token = login['result'][:2]
        context = {'company': self.company_id, 'language': 'de'}
        answer = self.rpc(
            'model.ir.attachment.read', [self.image_id],
            ['file_id', 'media_type'], context, session=(user_id, token))
        file_id = answer['result'][0]['file_id']
        for values in [
                {'file_id': TRAVERSAL, 'media_type': 'text/html'},
                {'file_id': TRAVERSAL}, {'media_type': 'text/html'},
                {'thumbnail': {'__class__': 'bytes', 'base64': ''}}]:
            with self.subTest(values=values):
                answer = self.rpc(
                    'model.ir.attachment.write', [self.image_id], values,
                    context, session=(user_id, token))
                self.assertNotIn('result', answer)
                error, (message, *_) = answer['error']
                self.assertEqual(error, 'UserError')
                self.assertIn("wird vom System gesetzt", message)
        answer = self.rpc(
            'model.ir.attachment.read', [self.image_id],
            ['file_id', 'media_type'], context, session=(user_id, token))
        self.assertEqual(answer['result'][0]['file_id'], file_id)
        self.assertEqual(answer['result'][0]['media_type'], 'image/png')
        response = self.media()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.get_data(), samples.png())

    def test_corrupted_file_id_never_served(self):
        "Even a file id corrupted in the database never serves a path"
        def restore(file_id):
            self.addCleanup(self.corrupt, file_id=file_id,
                media_type='image/png')
        file_id = read(
            lambda: Pool().get('ir.attachment')(self.image_id).file_id)
        restore(file_id)
        # As in the attack: the file store joins file_id[2:4] = '/.' as a
        # folder, which starts the path again from the root.
        attack = 'xx/..' + os.path.abspath(self.secret)
        self.assertEqual(filestore._filename(attack, DB_NAME),
            os.path.abspath(self.secret))
        for corrupted, media_type in [
                (attack, 'text/html'), (attack, 'image/png'),
                (TRAVERSAL, 'image/png'), (self.secret, 'image/png'),
                ('..', 'image/png'), (file_id, 'text/html'),
                (file_id, 'application/octet-stream'),
                ('0' * 32, 'image/png')]:
            with self.subTest(file_id=corrupted, media_type=media_type):
                self.corrupt(file_id=corrupted, media_type=media_type)
                response = self.media()
                self.assertEqual(response.status_code, 404)
                self.assertNotIn(b'SQLite', response.get_data())
        self.corrupt(file_id=file_id, media_type='image/png')
        self.assertEqual(self.media().get_data(), samples.png())

