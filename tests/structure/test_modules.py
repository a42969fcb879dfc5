"""The code's shape, as the developers' guide asks it: every product module opens with a
docstring saying what it guarantees and stays within 600 lines (generated files aside); every
package of the core says what it owns; the README stays within 150 lines. The import
contracts themselves run in `make imports` (import-linter), part of `make test` and `make lint`.
"""

from __future__ import annotations

import ast
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("layers", "functions", "edge_agent", "infra")
MAX_LINES = 600
# User scripts shipped as lab examples are the students' programs, not modules of ours.
NOT_MODULES = ("layers/openevent/lab/examples/",)
SKIPPED = (tokenize.ENCODING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)


def _product_modules() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", *PRODUCT], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    return [p for p in out if p.endswith(".py") and not p.startswith(NOT_MODULES)]


def test_the_product_has_modules_to_check() -> None:
    assert len(_product_modules()) > 150


def test_no_module_is_over_600_lines() -> None:
    long = {p: n for p in _product_modules()
            if (n := len((ROOT / p).read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these by what they do: {long}"


def _docstring(path: Path) -> str | None:
    """The module's docstring: its first statement, if that is a string (read with tokenize,
    which does not build the whole tree)."""
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            if token.type in SKIPPED:
                continue
            if token.type == tokenize.STRING:
                return str(ast.literal_eval(token.string))
            return None
    return None


def test_every_module_opens_with_what_it_guarantees() -> None:
    missing = []
    for path in _product_modules():
        text = (ROOT / path).read_text()
        if not text.strip() and path.endswith("__init__.py") and "layers/" not in path:
            continue  # an empty marker of a folder outside the core (infra/__init__.py)
        if not _docstring(ROOT / path):
            missing.append(path)
    assert missing == []


@pytest.mark.parametrize("package", sorted(
    p.parent.name for p in (ROOT / "layers/openevent").glob("*/__init__.py")))
def test_every_core_package_says_what_it_owns(package: str) -> None:
    doc = _docstring(ROOT / "layers/openevent" / package / "__init__.py")
    assert doc is not None and len(doc.split()) >= 12, package


def test_the_readme_is_read_in_five_minutes() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150
