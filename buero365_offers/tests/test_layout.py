# This file is part of Büro 365 Offers.  See the README for licence terms.
"""The shape of the module's code (issue 12): short functions, files of one
concern, each rule in one place."""
import ast
import unittest
from pathlib import Path

MODULE = Path(__file__).resolve().parent.parent
MAX_FUNCTION_LINES = 60
MAX_FILE_LINES = 600
# Longer files that hold one concern, and why.
ONE_CONCERN = {
    # The offer document: the offer, its lines, addresses and history.
    'offer.py',
    # The file formats media may have, checked byte by byte (no Tryton).
    'filecheck.py',
    }


def module_files():
    return sorted(p for p in MODULE.rglob('*.py')
        if 'tests' not in p.relative_to(MODULE).parts)


def functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


class LayoutTestCase(unittest.TestCase):
    "The layout of the module's code"

    def test_functions_are_short(self):
        "No function of the module is longer than 60 lines"
        long = []
        for path in module_files():
            tree = ast.parse(path.read_text(encoding='utf-8'))
            for node in functions(tree):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f'{path.relative_to(MODULE)}:{node.lineno} '
                        f'{node.name} ({length} lines)')
        self.assertEqual(long, [])

    def test_files_hold_one_concern(self):
        "No file of the module is longer than 600 lines unless listed"
        long = []
        for path in module_files():
            name = str(path.relative_to(MODULE))
            lines = len(path.read_text(encoding='utf-8').splitlines())
            if lines > MAX_FILE_LINES and name not in ONE_CONCERN:
                long.append(f'{name} ({lines} lines)')
        self.assertEqual(long, [])

    def test_offer_model_in_one_place(self):
        """buero365.offer is defined in offer.py; only the optional CRM,
        the optional sale orders and the field guard extend it elsewhere"""
        extended = set()
        for path in module_files():
            tree = ast.parse(path.read_text(encoding='utf-8'))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                        k.arg == 'metaclass' for k in node.keywords) and any(
                        isinstance(item, ast.Assign)
                        and isinstance(item.value, ast.Constant)
                        and item.value.value == 'buero365.offer'
                        for item in node.body):
                    extended.add(path.name)
        self.assertEqual(
            sorted(extended),
            ['opportunity.py', 'sale.py', 'server_fields.py'])


if __name__ == '__main__':
    unittest.main()
