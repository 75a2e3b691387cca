"""The documentation site: the strict build's own checks, and the build itself.

The build executes every tutorial with its smallest budget (``BRAINLIKE_TUTORIAL_BUDGET=
smallest``) and runs with ``--strict``, so a broken link, a page outside the nav, a tutorial
that raises, a package without an API page or a public name without a docstring fails it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted(p.stem for p in (ROOT / "docs" / "tutorials").glob("*.py"))


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "_site" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_package_has_an_api_page_and_every_public_name_a_docstring():
    hooks = _hooks()
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"]
    packages = hooks.public_packages()
    assert {"brainlike", "brainlike.models", "brainlike.training", "brainlike.viz"} <= set(packages)
    assert hooks.missing_api_pages(ROOT / "docs", nav, packages) == []
    assert hooks.undocumented(packages) == []


def test_the_checks_name_what_is_missing(tmp_path, monkeypatch):
    """A package with undocumented public names, and one without an API page, are reported."""
    hooks = _hooks()
    pkg = tmp_path / "brainlike_fake"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        """A fake package."""
        from dataclasses import dataclass
        __all__ = ["documented", "bare", "Bare", "Record", "Widget"]

        def documented():
            """Has one."""

        def bare():
            pass

        class Bare:
            pass

        @dataclass
        class Record:
            x: int

        class Widget:
            """Documented class."""
            def run(self):
                pass
            def __repr__(self):
                return "Widget()"
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    problems = hooks.undocumented(["brainlike_fake"])
    assert [p.split(" (")[0] for p in problems] == [
        "brainlike_fake.bare", "brainlike_fake.Bare", "brainlike_fake.Record",
        "brainlike_fake.Widget.run"]
    assert problems[0].endswith("brainlike_fake/__init__.py:9): public function without a docstring")
    assert problems[3].endswith("public method without a docstring")
    docs = tmp_path / "docs"
    (docs / "api").mkdir(parents=True)
    (docs / "api" / "models.md").write_text("# Models\n\n::: brainlike.models\n")
    (docs / "api" / "tasks.md").write_text("# Tasks\n")
    nav = [{"API reference": ["api/models.md", "api/tasks.md"]}]
    assert hooks.missing_api_pages(docs, nav, ["brainlike.models", "brainlike.tasks",
                                               "brainlike.viz"]) == [
        "docs/api/tasks.md does not render brainlike.tasks: add the line '::: brainlike.tasks'",
        "brainlike.viz has no API reference page: create docs/api/viz.md holding the line "
        "'::: brainlike.viz' and list api/viz.md under 'API reference' in mkdocs.yml's nav",
    ]


def test_links_outside_docs_point_at_copies_in_the_site():
    hooks = _hooks()
    assert hooks._outside("index.md", "../examples/train_and_analyze.py") == (
        "examples/train_and_analyze.py")
    assert hooks._outside("api/models.md", "../../bench/README.md") == "bench/README.md"
    assert hooks._outside("index.md", "tasks.md") is None
    assert hooks._outside("index.md", "https://example.org/x") is None


@pytest.mark.slow
def test_site_builds_strict_with_every_tutorial_executed(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "BRAINLIKE_TUTORIAL_BUDGET": "smallest", "NO_MKDOCS_2_WARNING": "1",
           "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    assert not (ROOT / "site").exists() or (ROOT / "site").is_dir()  # nothing written elsewhere
    for name in ("tasks", "training", "report", "site", "api/models", "api/training", "api/viz"):
        assert (site / name / "index.html").is_file(), name
    api = (site / "api" / "training" / "index.html").read_text()
    for public in ("train", "TrainResult", "TensorBoardLogger", "WandbLogger"):
        assert f'id="brainlike.training.{public}"' in api, public
    assert (site / "examples" / "train_and_analyze.py").is_file()  # linked from index.md
    for name in TUTORIALS:
        page = (site / "tutorials" / name / "index.html").read_text()
        images = re.findall(r'<img[^>]+src="data:image/png;base64,', page)
        assert len(images) >= 2, f"{name}: {len(images)} figures"
        # Executed: its training printed its TrainResult (a cell that raises fails the build:
        # mkdocs-jupyter runs with allow_errors false).
        assert "TrainResult(status=" in page, name
