# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The web client the browser tests serve, as `make sao` installs it:
sao in var/sao/package and TinyMCE (the rich-text editor of trytond's
/<db>/ir/html/... route) in var/sao/package/tinymce.

A test server serves both when its trytond.conf has

    [web]
    root = <SAO_ROOT>

plus the lines of html_config() (the [html] section that make wrote to
var/sao/html.conf: `src = /tinymce/tinymce.min.js`).  Without that section
trytond loads TinyMCE from a public CDN.  BUERO365_SAO_DIR overrides the
folder (default: var/sao of the source tree)."""
import configparser
import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent.parent
SAO_DIR = Path(os.environ.get('BUERO365_SAO_DIR') or PROJECT / 'var' / 'sao')
SAO_ROOT = SAO_DIR / 'package'
HTML_CONF = SAO_DIR / 'html.conf'


def tinymce_src():
    "The [html] src of the servers: TinyMCE's path under the web root"
    config = configparser.ConfigParser()
    config.read(HTML_CONF, encoding='utf-8')
    return config.get('html', 'src', fallback=None)


def missing():
    "Why the web client cannot be served (None when it can)"
    if not (SAO_ROOT / 'index.html').is_file():
        return f"sao is not installed in {SAO_ROOT} (make sao)"
    src = tinymce_src()
    if not src or not (SAO_ROOT / src.lstrip('/')).is_file():
        return f"TinyMCE is not installed under {SAO_ROOT} (make sao)"
    return None


def web_config(listen):
    "The [web] section of a server that serves sao"
    return ['[web]', f'listen = {listen}', f'root = {SAO_ROOT}', '']


def html_config():
    "The [html] section: TinyMCE from this server, not from a CDN"
    return HTML_CONF.read_text(encoding='utf-8').splitlines() + ['']
