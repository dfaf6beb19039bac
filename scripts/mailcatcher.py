#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""A local mail catcher for the demo: an SMTP server (aiosmtpd) that keeps
every email it receives as .eml and .html files in a folder, and a small
web inbox that lists them, newest first.

    python scripts/mailcatcher.py --port 8025 --folder var/mail --web 8026

Nothing is ever relayed: every recipient ends up here.
"""
import argparse
import email
import email.policy
import functools
import html
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


class Catcher:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default)
        stamp = time.strftime('%Y%m%d-%H%M%S')
        count = len(list(self.folder.glob('*.eml'))) + 1
        name = f'{stamp}-{count:04d}'
        (self.folder / f'{name}.eml').write_bytes(envelope.content)
        body = message.get_body(preferencelist=('html', 'plain'))
        content = body.get_content() if body else ''
        if body and body.get_content_type() == 'text/plain':
            content = f'<pre>{html.escape(content)}</pre>'
        attachments = [part.get_filename()
            for part in message.iter_attachments()]
        for part in message.iter_attachments():
            if part.get_filename():
                safe = Path(part.get_filename()).name
                (self.folder / f'{name}-{safe}').write_bytes(
                    part.get_content() if isinstance(part.get_content(),
                        bytes) else part.get_content().encode())
        header = (f'<p><b>To:</b> {html.escape(", ".join(envelope.rcpt_tos))}'
            f'<br/><b>Subject:</b> {html.escape(message["Subject"] or "")}'
            f'<br/><b>Attachments:</b> '
            f'{html.escape(", ".join(filter(None, attachments)))}</p><hr/>')
        (self.folder / f'{name}.html').write_text(header + content)
        self.write_index()
        print(f'mail catcher: {message["Subject"]!r} to '
            f'{", ".join(envelope.rcpt_tos)} -> '
            f'{self.folder / (name + ".html")}', flush=True)
        return '250 Message accepted for delivery'

    def write_index(self):
        rows = []
        for eml in sorted(self.folder.glob('*.eml'), reverse=True):
            message = email.message_from_bytes(
                eml.read_bytes(), policy=email.policy.default)
            rows.append(
                f'<tr><td>{html.escape(eml.stem[:15])}</td>'
                f'<td>{html.escape(message["To"] or "")}</td>'
                f'<td><a href="{eml.stem}.html">'
                f'{html.escape(message["Subject"] or "(no subject)")}</a></td>'
                f'<td><a href="{eml.name}">.eml</a></td></tr>')
        (self.folder / 'index.html').write_text(
            '<!DOCTYPE html><meta charset="utf-8">'
            '<meta http-equiv="refresh" content="10">'
            '<title>Demo mail inbox</title>'
            '<style>body{font-family:sans-serif}td{padding:2px 8px}</style>'
            f'<h1>Demo mail inbox ({len(rows)})</h1>'
            '<table><tr><th>Received</th><th>To</th><th>Subject</th>'
            '<th></th></tr>' + ''.join(rows) + '</table>')


class InboxHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8025)
    parser.add_argument('--folder', default='var/mail')
    parser.add_argument('--web', type=int, default=8026,
        help="port of the web inbox on --host (0: none)")
    args = parser.parse_args()
    catcher = Catcher(args.folder)
    catcher.write_index()
    if args.web:
        server = ThreadingHTTPServer((args.host, args.web),
            functools.partial(InboxHandler, directory=str(catcher.folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f'mail catcher: inbox on http://{args.host}:{args.web}/',
            flush=True)
    controller = Controller(catcher, hostname=args.host, port=args.port)
    controller.start()
    print(f'mail catcher: listening on {args.host}:{args.port}, '
        f'mails in {Path(args.folder).resolve()}', flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == '__main__':
    main()
