#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Run a trytond command on a machine without working DNS (the demo).

    python scripts/offline.py trytond -c var/trytond.conf -d demo
    python scripts/offline.py trytond-admin -c var/trytond.conf -d demo ...

With email-validator installed, trytond checks that the domain of every
email address it stores (users, party contacts, web users) receives mail,
by asking DNS for its MX record.  Where DNS answers "does not exist" for
every name, as in the sandboxes this project is built in, no customer with
an email could be created.  This wrapper turns off only that DNS lookup
(email_validator's deliverability check) for the process it starts; the
syntax of addresses is still checked.  Production servers run trytond
directly and keep the check.

It also makes SIGTERM stop the command as Ctrl-C does (KeyboardInterrupt):
`make demo` stops trytond-cron with SIGTERM (it runs in the background,
where the shell ignores Ctrl-C for it), and only then does trytond-cron
shut down its worker processes instead of leaving them behind.
"""
import os
import signal
import sys

import email_validator.deliverability


def _no_dns(domain, *args, **kwargs):
    return {}


email_validator.deliverability.validate_email_deliverability = _no_dns

COMMANDS = {
    'trytond': 'trytond.cli',
    'trytond-admin': 'trytond.cli.admin',
    'trytond-cron': 'trytond.cli.cron',
    'trytond-worker': 'trytond.cli.worker',
    # make serve: the WSGI server of the production set-up
    'gunicorn': 'gunicorn.app.wsgiapp',
    }


_MAIN = os.getpid()


def _terminate(signum, frame):
    if os.getpid() == _MAIN:
        raise KeyboardInterrupt
    # a forked worker: die as it would have without this handler
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(COMMANDS)}}} [args]")
    command = sys.argv.pop(1)
    sys.argv[0] = command
    signal.signal(signal.SIGTERM, _terminate)
    module = __import__(COMMANDS[command], fromlist=['main'])
    sys.exit((getattr(module, 'main', None) or module.run)())


if __name__ == '__main__':
    main()
