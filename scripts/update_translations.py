#!/usr/bin/env python3
# This file is part of Büro 365 Offers.  See the README for licence terms.
"""Regenerate buero365_offers/locale/{de,fr}.po from the current sources.

Creates a throwaway SQLite database, activates buero365_offers with
sale_opportunity (its [register sale_opportunity] part has strings too) and
loads the existing de.po and fr.po, then lets trytond-admin
--export-translations rewrite them: report translations are set from the
HTML templates (ir.translation.set), obsolete strings are dropped
(ir.translation.clean) and new strings are added (ir.translation.update).
Existing translations are kept; new strings come back with an empty msgstr,
or pre-filled from another module and marked fuzzy.  Fill those, remove the
fuzzy flags and run again (or with --check) until it reports 0 and 0.

    .venv/bin/python scripts/update_translations.py          # rewrite
    .venv/bin/python scripts/update_translations.py --check  # also fail
                                                             # on gaps

A fresh database on each run matters: translations of noupdate records (the
email templates) are only loaded when they do not exist yet.  About a
minute on 2 cores.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
MODULE = 'buero365_offers'
LANGUAGES = ['de', 'fr']
EXTRAS = ['sale_opportunity']


def run(admin, *args, stdin=None):
    env = {k: v for k, v in os.environ.items()
        if not k.startswith('TRYTOND_')}
    subprocess.run([str(admin), *args], input=stdin, text=True, check=True,
        env=env, cwd=ROOT)


def summary(path):
    "Return (entries, untranslated, fuzzy) of a po file."
    po = polib.pofile(str(path))
    untranslated = [e for e in po if not e.translated() and not e.fuzzy]
    fuzzy = [e for e in po if e.fuzzy]
    return len(po), untranslated, fuzzy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
        help="exit 1 when an entry is untranslated or fuzzy, or msgfmt "
        "-c fails")
    parser.add_argument('--keep', action='store_true',
        help="keep the scratch database (its path is printed)")
    options = parser.parse_args()

    admin = Path(sys.executable).parent / 'trytond-admin'
    workdir = Path(tempfile.mkdtemp(prefix='buero365-translations-'))
    try:
        config = workdir / 'trytond.conf'
        config.write_text(
            f'[database]\nuri = sqlite://\npath = {workdir}\n')
        password = workdir / 'password'
        password.write_text('translations\n')
        os.environ['TRYTONPASSFILE'] = str(password)
        database = 'translations'
        (workdir / f'{database}.sqlite').touch()
        common = ['-c', str(config), '-d', database]

        print('== Activating', MODULE, 'and', ', '.join(EXTRAS), flush=True)
        # The empty line answers the admin email prompt.
        run(admin, *common, '-u', MODULE, *EXTRAS,
            '--activate-dependencies', '-l', *LANGUAGES, stdin='\n')
        print('== Exporting', ', '.join(LANGUAGES), flush=True)
        # Only MODULE after -u: every updated module would be exported.
        run(admin, *common, '-u', MODULE, '-l', *LANGUAGES,
            '--export-translations')
    finally:
        if options.keep:
            print('Scratch database kept in', workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    gaps = 0
    for language in LANGUAGES:
        path = ROOT / MODULE / 'locale' / f'{language}.po'
        total, untranslated, fuzzy = summary(path)
        print(f'{path.relative_to(ROOT)}: {total} entries, '
            f'{len(untranslated)} untranslated, {len(fuzzy)} fuzzy')
        for entry in untranslated + fuzzy:
            print(f'    {entry.msgctxt} {entry.msgid!r}')
        gaps += len(untranslated) + len(fuzzy)
        if shutil.which('msgfmt'):
            # -c checks the python-format placeholders; the warnings about
            # header fields (Tryton writes only Content-Type) are harmless.
            result = subprocess.run(
                ['msgfmt', '-c', '-o', os.devnull, str(path)],
                capture_output=True, text=True)
            for line in result.stderr.splitlines():
                if 'header field' not in line:
                    print('   ', line)
            if result.returncode:
                gaps += 1
    if options.check and gaps:
        sys.exit(1)


if __name__ == '__main__':
    main()
