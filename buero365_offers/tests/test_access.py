# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The signatures of access.py keep the formats of the tokens already sent:
the values below were made by the code before access.py (customer._sign,
OfferMail._signature, portal.portal_form_token) with the same secrets."""
import unittest

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

# What the code before access.py signed, with the secret 'old-<name>-secret'.
OLD_TRACKING = ('Tok3n-abc_DEF', 'dy2QiT3I0mSaGW5Y0wOZDw')
OLD_FORM = ('L1nk-token-0123456789abcdef', '5lLWAdFGO1pwAZ7wtE9BgsxJ')
OLD_PORTAL_FORM = ('session-key-42', 'KljnR-ElxbUJRkNYZyLMJAUP')
OLD_DEVICE = ((7, 'nonce-1'), '4VmQqDHP-GCJcZFCEbgipvyp')
OLD_EVIDENCE = ('[1, "Erika"]', 'Zkfyz1GExaCmwbCMloaSLppGrdwwo3rDgqEwDmsCBbo')


def forged(signature):
    "The signature with its last character changed."
    return signature[:-1] + ('A' if signature[-1] != 'A' else 'B')


class AccessTestCase(unittest.TestCase):
    "Tokens in emails and pages sent before access.py still verify."

    @classmethod
    def setUpClass(cls):
        activate_module('buero365_offers')

    def set_old_secrets(self):
        Secret = Pool().get('buero365.offer.secret')
        secrets_ = Secret.search([])
        self.assertEqual(
            {s.name for s in secrets_},
            {'tracking', 'customer_form', 'portal', 'evidence'})
        for secret in secrets_:
            secret.value = f'old-{secret.name}-secret'
        Secret.save(secrets_)

    @with_transaction()
    def test_old_tokens_verify(self):
        "Tracking URLs, form tokens, device cookies and seals sent before"
        from ..access import (
            check_portal_form_token,
            portal_form_token,
            sign,
            verify,
        )
        pool = Pool()
        Mail = pool.get('buero365.offer.mail')
        Link = pool.get('buero365.offer.link')
        WebUser = pool.get('web.user')
        self.set_old_secrets()

        token, signature = OLD_TRACKING
        self.assertEqual(
            Mail(tracking_token=token).signed_token(), f'{token}.{signature}')
        self.assertTrue(verify('tracking', token, signature))
        self.assertFalse(verify('tracking', token, forged(signature)))

        token, signature = OLD_FORM
        link = Link(token=token)
        self.assertEqual(link.form_token(), signature)
        self.assertTrue(link.check_form_token(signature))
        self.assertFalse(link.check_form_token(forged(signature)))
        # Another link's form token does not do.
        self.assertFalse(Link(token=token + 'x').check_form_token(signature))

        bound, signature = OLD_PORTAL_FORM
        self.assertEqual(portal_form_token(bound), signature)
        self.assertTrue(check_portal_form_token(bound, signature))
        self.assertFalse(check_portal_form_token(bound, forged(signature)))
        self.assertFalse(check_portal_form_token('', signature))

        (user_id, nonce), signature = OLD_DEVICE
        self.assertTrue(
            WebUser(user_id).check_device_cookie(f'{nonce}.{signature}'))
        self.assertFalse(
            WebUser(user_id + 1).check_device_cookie(f'{nonce}.{signature}'))

        payload, seal = OLD_EVIDENCE
        self.assertEqual(sign('evidence', payload), seal)
        self.assertTrue(verify('evidence', payload, seal))
        # The purposes do not sign alike: a token of one is none of another.
        self.assertFalse(verify('portal', payload, seal))

    @with_transaction()
    def test_verify_takes_anything(self):
        "verify() answers False to whatever is not the signature"
        from ..access import verify
        self.set_old_secrets()
        token, signature = OLD_TRACKING
        for given in [None, '', b'x', 42, signature + 'x' * 60, 'Grüße',
                '\ud800', signature.lower()]:
            with self.subTest(given=given):
                self.assertFalse(verify('tracking', token, given))
