# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Tell the requests of mail filters and link scanners from a person's
(no Tryton in here).

Corporate mail filters fetch every link and image of an incoming email
(Microsoft Defender Safe Links, Mimecast, Proofpoint, Barracuda…), mostly
within seconds of delivery and often with a browser's User-Agent; mail
programs and browsers prefetch links.  None of it is the customer reading
the offer.  The general lists of crawlers (e.g. crawler-user-agents) are
not used: they count the image proxies of Gmail and Yahoo, which fetch
the tracking image when a person opens the email, as robots, and they do
not know the mail filters."""
import datetime as dt
import re

# Requests this soon after the email was sent are a filter's, not a
# reader's (a filter scans the email while it is delivered).
SCANNER_WINDOW = dt.timedelta(seconds=10)
REASONS = [
    ('head', "HEAD request"),
    ('prefetch', "Prefetch"),
    ('agent', "Scanner program"),
    ('early', "Seconds after sending"),
    ]
# Headers browsers send when they fetch a page nobody asked to see.
PREFETCH_HEADERS = ['Purpose', 'Sec-Purpose', 'X-Purpose', 'X-Moz']
PREFETCH_VALUES = re.compile(r'prefetch|preview|prerender', re.IGNORECASE)
# User-Agents of mail filters and link checkers, and of programs that are
# not a browser; case-insensitive, anywhere in the User-Agent.  Gmail's and
# Yahoo's image proxies, and Outlook ("ms-office"), load the image when a
# person opens the email: not listed.
SCANNER_AGENTS = re.compile('|'.join([
            r'barracuda', r'mimecast', r'proofpoint', r'safelinks',
            r'microsoft office existence discovery',
            r'microsoftpreview', r'bingpreview', r'google-safety',
            r'symantec', r'trend ?micro', r'sophos', r'forcepoint',
            r'fireeye', r'ironport', r'checkpoint', r'cloudmark', r'vade',
            r'linkcheck', r'link ?preview', r'urlscan', r'virustotal',
            r'headlesschrome', r'phantomjs', r'python-', r'curl/',
            r'wget/', r'go-http-client', r'java/', r'okhttp',
            r'libwww-perl', r'apache-httpclient', r'aiohttp', r'httpx',
            r'node-fetch', r'axios/', r'\bbot\b', r'bot/', r'spider',
            r'crawler',
            r'slackbot', r'whatsapp', r'telegrambot', r'skypeuripreview',
            r'facebookexternalhit', r'discordbot',
            ]), re.IGNORECASE)


def scanner_reason(method, headers, sent_at=None, now=None):
    """Return why a request most likely came from a mail filter or link
    scanner, as a key of REASONS, or None when a person most likely made
    it.

    method and headers are the request's; sent_at is when the email the
    request comes from was sent, None when it is not known."""
    if method == 'HEAD':
        return 'head'
    for name in PREFETCH_HEADERS:
        if PREFETCH_VALUES.search(headers.get(name) or ''):
            return 'prefetch'
    agent = (headers.get('User-Agent') or '').strip()
    if not agent or SCANNER_AGENTS.search(agent):
        return 'agent'
    if sent_at is not None:
        now = now or dt.datetime.now()
        if now - sent_at < SCANNER_WINDOW:
            return 'early'
    return None
