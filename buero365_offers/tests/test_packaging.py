# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The module as an integrator installs it: a normal (non-editable) wheel,
built from the sources and installed into a fresh virtual environment.

The development environment links the module to the source tree, which
hides every file the wheel forgets (the menu icon once did: sao showed an
"Application Error" at login).  This test lists the files the module loads
at run time by reading its sources — tryton.cfg, the XML records, the
Python code and the templates — and checks each one is installed."""
import ast
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from lxml import etree

MODULE = 'buero365_offers'
SOURCE = Path(__file__).resolve().parent.parent
PROJECT = SOURCE.parent
DISTRIBUTION = 'buero365-offers'
ENTRY_POINT = f'trytond.modules.{MODULE}'


def module_configs(directory=SOURCE):
    "The tryton.cfg of the module and of its include_dirs: (folder, config)"
    config = configparser.ConfigParser()
    config.read(directory / 'tryton.cfg', encoding='utf-8')
    yield directory, config
    section = config['tryton'] if config.has_section('tryton') else {}
    for name in ('include_dirs', 'test_include_dirs'):
        for sub in section.get(name, '').split():
            yield from module_configs(directory / sub)


def xml_files():
    "The XML files tryton.cfg loads, relative to the module"
    for directory, config in module_configs():
        for name in config.get('tryton', 'xml', fallback='').split():
            yield (directory / name).relative_to(SOURCE).as_posix()


def record_fields(path, model):
    "The <field> values of every <record model=model> of an XML file"
    tree = etree.parse(str(SOURCE / path))
    for record in tree.iter('record'):
        if record.get('model') == model:
            yield {f.get('name'): (f.text or '').strip()
                for f in record.iter('field')}


def referenced_by_xml():
    "Files named by the XML records: {file: why}"
    files = {}
    for xml in xml_files():
        files[xml] = 'tryton.cfg xml'
        folder = Path(xml).parent
        for values in record_fields(xml, 'ir.ui.view'):
            if values.get('name'):
                files[(folder / 'view' / f"{values['name']}.xml").as_posix()
                    ] = f'ir.ui.view in {xml}'
        for values in record_fields(xml, 'ir.ui.icon'):
            files[(folder / values['path']).as_posix()] = (
                f'ir.ui.icon in {xml}')
        for model in ['ir.action.report']:
            for values in record_fields(xml, model):
                report = values.get('report')
                if report:
                    # relative to the modules folder: "module/report/x.html"
                    assert report.startswith(f'{MODULE}/'), report
                    files[report[len(MODULE) + 1:]] = f'{model} in {xml}'
    return files


def python_sources():
    return sorted(p for p in SOURCE.rglob('*.py')
        if 'tests' not in p.relative_to(SOURCE).parts)


def constant_path(node):
    "The path of 'a/b' or os.path.join('a', 'b'), else None"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (isinstance(node, ast.Call) and ast.unparse(node.func) in {
                'os.path.join', 'join', 'posixpath.join'}
            and all(isinstance(a, ast.Constant) for a in node.args)):
        return '/'.join(a.value for a in node.args)
    return None


def referenced_by_python():
    """Files the Python code opens: file_open('module/...') calls (and
    the templates of load_template and render_fragment) and the files of
    static/ the routes serve (web.routes.STATIC_TYPES)."""
    files = {}
    for source in python_sources():
        tree = ast.parse(source.read_text(encoding='utf-8'))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call)
                    and ast.unparse(node.func).endswith((
                            'file_open', 'load_template', 'render_fragment'))
                    and node.args):
                path = constant_path(node.args[0])
                if path and path.startswith(f'{MODULE}/'):
                    files[path[len(MODULE) + 1:]] = (
                        f'file_open in {source.name}')
    from trytond.modules.buero365_offers.web import routes
    static = Path(routes.STATIC_DIR).resolve().relative_to(SOURCE)
    for name in routes.STATIC_TYPES:
        files[(static / name).as_posix()] = 'routes.STATIC_TYPES'
    return files


def referenced_by_templates(templates):
    """Static files the HTML templates load (${static}/name), and files they
    include (xi:include href)."""
    files = {}
    for template in templates:
        text = (SOURCE / template).read_text(encoding='utf-8')
        for name in re.findall(r'\$\{static\}/([\w.\-]+)', text):
            files[f'static/{name}'] = f'${{static}} in {template}'
        for href in re.findall(r'<xi:include\s+href="([^"$]+)"', text):
            files[(Path(template).parent / href).as_posix()] = (
                f'xi:include in {template}')
    return files


def tracked_files():
    "The module's files in git (or on disk when this is not a checkout)"
    try:
        output = subprocess.run(
            ['git', 'ls-files', '-z', MODULE], cwd=PROJECT, check=True,
            capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        output = ''
    if output:
        files = [Path(f).relative_to(MODULE).as_posix()
            for f in output.split('\0') if f]
        return [f for f in files if (SOURCE / f).is_file()]
    return [p.relative_to(SOURCE).as_posix() for p in SOURCE.rglob('*')
        if p.is_file() and '__pycache__' not in p.parts
        and p.suffix not in {'.pyc', '.pyo'}]


@unittest.skipUnless((PROJECT / 'pyproject.toml').is_file(),
    "run from the source tree (the wheel is built from it)")
class PackagingTestCase(unittest.TestCase):
    "The wheel installed into a fresh virtual environment"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.directory = Path(tempfile.mkdtemp(prefix='buero365-wheel-'))
        try:
            cls.build_and_install()
        except Exception:
            shutil.rmtree(cls.directory, ignore_errors=True)
            raise

    @classmethod
    def build_and_install(cls):
        wheels = cls.directory / 'wheels'
        # The build backend (hatchling, hatch-tryton) is pinned in
        # requirements.txt: no build isolation, nothing is downloaded.
        cls.run_quiet([sys.executable, '-m', 'pip', 'wheel',
                '--disable-pip-version-check', '--no-deps',
                '--no-build-isolation', '--no-cache-dir',
                '--wheel-dir', str(wheels), str(PROJECT)])
        cls.wheel, = wheels.glob('buero365_offers-*.whl')
        venv = cls.directory / 'venv'
        # A fresh environment that sees neither this one nor the system's
        # site-packages; pip installs into it from here (--python).
        cls.run_quiet([sys.executable, '-m', 'venv', '--without-pip',
                str(venv)])
        cls.python = venv / 'bin' / 'python'
        cls.run_quiet([sys.executable, '-m', 'pip',
                '--python', str(cls.python), 'install',
                '--disable-pip-version-check', '--no-deps', '--no-index',
                '--no-cache-dir', str(cls.wheel)])
        cls.site = Path(subprocess.run([str(cls.python), '-c',
                    'import sysconfig; print(sysconfig.get_path("purelib"))'],
                check=True, capture_output=True, text=True).stdout.strip())
        cls.installed = cls.site / 'trytond' / 'modules' / MODULE

    @staticmethod
    def run_quiet(command):
        result = subprocess.run(
            command, capture_output=True, text=True, cwd=PROJECT,
            env=dict(os.environ, PIP_NO_INPUT='1'))
        if result.returncode:
            raise RuntimeError(
                f"{' '.join(command)} failed:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory, ignore_errors=True)
        super().tearDownClass()

    def assertInstalled(self, files):
        self.assertTrue(files)
        missing = {f: why for f, why in files.items()
            if not (self.installed / f).is_file()}
        self.assertFalse(missing, "referenced but not in the wheel")

    def assertInSources(self, files):
        missing = {f: why for f, why in files.items()
            if not (SOURCE / f).is_file()}
        self.assertFalse(missing, "referenced but missing from the sources")

    def test_installed_for_real(self):
        "The module is installed as files, not as a link to the sources"
        self.assertTrue(self.installed.is_dir())
        self.assertFalse(self.installed.is_symlink())
        self.assertFalse((self.site / 'trytond' / '__init__.py').exists(),
            "the wheel must not ship trytond's own package")
        self.assertFalse(list(self.site.glob('*.pth')),
            "an editable install, not a wheel")

    def test_xml_references(self):
        "tryton.cfg's XML files and the views, icons, reports they name"
        files = referenced_by_xml()
        self.assertIn('icons/buero365-offer.svg', files)
        self.assertIn('view/offer_form.xml', files)
        self.assertIn('report/offer.html', files)
        self.assertInSources(files)
        self.assertInstalled(files)

    def test_python_references(self):
        "The files the Python code opens or serves"
        files = referenced_by_python()
        self.assertIn('static/offers.css', files)
        self.assertIn('report/error_page.html', files)
        self.assertIn('report/quote.html', files)
        self.assertInSources(files)
        self.assertInstalled(files)

    def test_template_references(self):
        "The style sheets and scripts the pages load"
        templates = [f for f, why in referenced_by_xml().items()
            if why.startswith('ir.action.report')]
        files = referenced_by_templates(templates)
        self.assertIn('static/offer_page.js', files)
        self.assertInSources(files)
        self.assertInstalled(files)
        from trytond.modules.buero365_offers.web import routes
        self.assertFalse(
            {f for f in files if f.startswith('static/')
                and Path(f).name not in routes.STATIC_TYPES},
            "loaded by a page but not served by offer_static")

    def test_translations(self):
        "Every locale/*.po (trytond loads them all)"
        files = {p.relative_to(SOURCE).as_posix(): 'locale'
            for p in (SOURCE / 'locale').glob('*.po')}
        self.assertIn('locale/de.po', files)
        self.assertInstalled(files)

    def test_every_tracked_file(self):
        "Every file of the module in git is in the wheel"
        files = {f: 'git' for f in tracked_files()}
        self.assertIn('tryton.cfg', files)
        self.assertInstalled(files)

    def test_entry_point(self):
        "trytond finds the module through the trytond.modules entry point"
        output = subprocess.run([str(self.python), '-c',
                'import importlib.metadata as m\n'
                f'd = m.distribution("{DISTRIBUTION}")\n'
                'for e in d.entry_points:\n'
                '    print(e.group, e.name, e.value)\n'],
            check=True, capture_output=True, text=True).stdout
        self.assertEqual(output.split('\n')[:-1],
            [f'trytond.modules {MODULE} {ENTRY_POINT}'])
        # The entry point names an importable package of the wheel.
        package = self.site.joinpath(*ENTRY_POINT.split('.'))
        self.assertTrue((package / '__init__.py').is_file())
        self.assertTrue((package / 'tryton.cfg').is_file())
        # The dependencies trytond needs are declared (hatch-tryton reads
        # them from tryton.cfg).
        requires = subprocess.run([str(self.python), '-c',
                'import importlib.metadata as m\n'
                f'print("\\n".join(m.requires("{DISTRIBUTION}") or []))'],
            check=True, capture_output=True, text=True).stdout.split('\n')
        names = {re.split(r'[\s<>=!~;\[]', r, maxsplit=1)[0].lower()
            for r in requires if r}
        for module in ['trytond', 'trytond_party', 'trytond_web_user']:
            self.assertIn(module.replace('_', '-'),
                {n.replace('_', '-') for n in names})
