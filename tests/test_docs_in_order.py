"""Every documentation page's ```python blocks run as a reader would paste them.

The pages are taken in the order of the site's nav (mkdocs.yml), so a page added to the nav is
tested without touching this file. All pages share one fresh working directory holding a copy of
the repository's ``examples/`` (a reader in a fresh clone), so a page that writes a run directory
another page also writes (``runs/pdm``) fails here as it would for the reader; each page starts
a fresh Python namespace, as a reader starts a fresh session per page. Warnings are shown, not
errors (a reader sees them), except deprecations, which fail.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    if isinstance(nav, list):
        return [p for v in nav for p in _nav_pages(v)]
    return []


def _pages() -> list[str]:
    class Loader(yaml.SafeLoader):  # mkdocs.yml may hold !!python tags; unknown tags are values
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"]
    return [p for p in _nav_pages(nav) if p.endswith(".md") and not p.startswith("api/")]


def python_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


PAGES = _pages()


@pytest.fixture(scope="module")
def reader_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("reader")
    shutil.copytree(ROOT / "examples", d / "examples",
                    ignore=shutil.ignore_patterns("results", "__pycache__"))
    return d


def test_every_page_is_in_the_nav():
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages <= set(PAGES), f"docs pages missing from mkdocs.yml's nav: {pages - set(PAGES)}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_blocks_run_in_order(page, reader_dir, monkeypatch):
    blocks = python_blocks(DOCS / page)
    if not blocks:
        return  # a page without Python blocks has nothing to run
    monkeypatch.chdir(reader_dir)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(reader_dir / "runs" / "wandb"))
    namespace: dict = {"__name__": f"docs_{page}"}
    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.simplefilter("error", DeprecationWarning)
            warnings.simplefilter("error", FutureWarning)
            for k, block in enumerate(blocks):
                code = compile(block, f"{DOCS / page} (python block {k + 1})", "exec")
                exec(code, namespace)
    finally:
        torch.set_num_threads(threads)
