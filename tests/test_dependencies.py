"""Every third-party import of the package is a declared dependency.

A module that works only because another package happened to pull its dependency in (``click``
came with ray in the test environment, not with typer >= 0.29) breaks ``brainlike demo`` on a
fresh machine; these tests catch it in any environment.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from importlib import metadata
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "brainlike"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _requirements() -> tuple[set[str], set[str]]:
    """(core, all) distribution names that brainlike declares (all = core + every extra)."""
    core, every = set(), set()
    for req in metadata.requires("brainlike") or []:
        name = _normalize(re.match(r"[A-Za-z0-9_.\-]+", req).group(0))
        every.add(name)
        if "extra ==" not in req:
            core.add(name)
    return core, every


@functools.cache
def _imports() -> dict[str, tuple[set[str], set[str]]]:
    """Per file: (top-level modules imported at module level, imported anywhere)."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        module_level, anywhere = set(), set()
        functions = (ast.FunctionDef, ast.AsyncFunctionDef)
        nested = {id(n) for f in ast.walk(tree) if isinstance(f, functions) for n in ast.walk(f)}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split(".")[0]]
            names = [n for n in names if n not in sys.stdlib_module_names and n != "brainlike"]
            anywhere.update(names)
            if id(node) not in nested:
                module_level.update(names)
        out[str(path.relative_to(SRC))] = (module_level, anywhere)
    return out


@functools.cache
def _packages() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _distributions(module: str) -> set[str]:
    return {_normalize(d) for d in _packages().get(module, [module])}


def _undeclared(anywhere: bool, allowed: set[str]) -> set[str]:
    """``path: module`` for each import (module-level only, or anywhere) outside ``allowed``."""
    return {
        f"{path}: {mod}"
        for path, found in _imports().items()
        for mod in found[anywhere]
        if not _distributions(mod) & allowed
    }


def test_module_level_imports_are_core_dependencies():
    undeclared = _undeclared(False, _requirements()[0])
    assert not undeclared, f"imported at module level but not a core dependency: {undeclared}"


def test_every_import_is_declared_in_dependencies_or_an_extra():
    undeclared = _undeclared(True, _requirements()[1])
    assert not undeclared, f"imported but declared nowhere in pyproject: {undeclared}"


def test_modules_map_to_their_distributions():
    # The checks above are not vacuous: import names resolve to distribution names.
    assert _distributions("yaml") == {"pyyaml"}
    assert _distributions("sklearn") == {"scikit-learn"}
    core, every = _requirements()
    assert {"torch", "typer", "pyyaml"} <= core and "ray" in every - core
