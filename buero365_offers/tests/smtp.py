# This file is part of Büro 365 Offers.  See the README for licence terms.
"A real SMTP server on localhost for the tests (aiosmtpd)."
import email
import email.policy
import socket
import threading
from contextlib import contextmanager

from aiosmtpd.controller import Controller

import trytond.config as config


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Inbox:
    "Collects every message the server receives, parsed."

    def __init__(self):
        self.messages = []
        self.envelopes = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default)
        with self._lock:
            self.envelopes.append(envelope)
            self.messages.append(message)
        return '250 Message accepted for delivery'


@contextmanager
def smtp_server():
    "Run an SMTP server and point trytond's [email] uri at it."
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname='127.0.0.1', port=port)
    controller.start()
    old_uri = config.get('email', 'uri')
    old_from = config.get('email', 'from')
    config.set('email', 'uri', f'smtp://127.0.0.1:{port}')
    config.set('email', 'from', 'Büro 365 <angebote@buero365.example>')
    try:
        yield inbox
    finally:
        controller.stop()
        config.set('email', 'uri', old_uri)
        config.set('email', 'from', old_from)


@contextmanager
def smtp_down():
    "Point trytond's [email] uri at a port where nothing listens."
    old_uri = config.get('email', 'uri')
    config.set('email', 'uri', f'smtp://127.0.0.1:{free_port()}')
    try:
        yield
    finally:
        config.set('email', 'uri', old_uri)
