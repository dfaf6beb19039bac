# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The tests' own layout: every fixture lives in tools.py (or in the helper
modules server.py, sao.py, smtp.py, ...), never in a test module that
another one imports: importing a test module runs its test cases a second
time under another name and hides which fixture is the shared one."""
import ast
import unittest
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = 'trytond.modules.buero365_offers.tests'


def imported_modules(path):
    "The modules of the test package that the file imports: [(line, name)]"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module
            elif node.level == 0 and (node.module or '').startswith(
                    PACKAGE + '.'):
                base = node.module[len(PACKAGE) + 1:]
            elif node.level == 0 and node.module == PACKAGE:
                base = None
            else:
                continue
            if base is None:
                found.extend((node.lineno, a.name) for a in node.names)
            else:
                found.append((node.lineno, base.split('.')[0]))
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, a.name[len(PACKAGE) + 1:].split('.')[0])
                for a in node.names if a.name.startswith(PACKAGE + '.'))
    return found


class FixturesTestCase(unittest.TestCase):
    "Test that no module of the tests imports a test module"

    def test_no_test_module_imported(self):
        "No file of the tests imports a test_*.py module"
        files = sorted(TESTS.glob('*.py'))
        self.assertIn(TESTS / 'tools.py', files)
        offending = [f'{path.name}:{line} imports {name}'
            for path in files for line, name in imported_modules(path)
            if name.startswith('test_')]
        self.assertEqual(offending, [],
            "move the shared fixtures into tests/tools.py")
