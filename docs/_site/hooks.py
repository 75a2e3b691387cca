"""Hooks of the documentation site (``mkdocs.yml``: ``hooks``).

They make ``mkdocs build --strict`` fail, with a message that says what to add, when

- a public package ``brainlike.<pkg>`` has no API reference page (``docs/api/<pkg>.md``
  holding ``::: brainlike.<pkg>``, listed in the nav), or
- a public function or class (a name in a package's ``__all__``), or a public method of such a
  class, has no docstring (a method may inherit its base class's docstring).

They also let the pages link to repository files outside ``docs/`` as they do on a code host
(``../examples/train_and_analyze.py``): such a file is copied into the site and the link pointed
at the copy; a link to a Markdown file or a folder outside ``docs/`` becomes its repository path
in text. A link to something that does not exist is left alone, so the strict build reports it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ROOT = "brainlike"
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s#]+)(#[^)\s]*)?\)")


# -- the checks ------------------------------------------------------------------------------------


def public_packages() -> list[str]:
    """``brainlike`` and its public subpackages (``brainlike.tasks``, ...), sorted."""
    root = importlib.import_module(ROOT)
    subs = sorted(m.name for m in pkgutil.iter_modules(root.__path__)
                  if m.ispkg and not m.name.startswith("_"))
    return [ROOT, *(f"{ROOT}.{s}" for s in subs)]


def api_page(package: str) -> str:
    """The API reference page of a package, relative to ``docs/``."""
    return "api/index.md" if package == ROOT else f"api/{package.split('.', 1)[1]}.md"


def _nav_files(nav: Any) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, dict):
        return set().union(*(_nav_files(v) for v in nav.values())) if nav else set()
    if isinstance(nav, list):
        return set().union(*(_nav_files(v) for v in nav)) if nav else set()
    return set()


def missing_api_pages(docs_dir: Path, nav: Any, packages: Iterable[str]) -> list[str]:
    """What is missing for each package to have its API reference page in the site."""
    listed = _nav_files(nav)
    problems = []
    for pkg in packages:
        page = api_page(pkg)
        fix = f"create docs/{page} holding the line '::: {pkg}'"
        path = docs_dir / page
        if not path.is_file():
            problems.append(f"{pkg} has no API reference page: {fix} and list {page} under "
                            "'API reference' in mkdocs.yml's nav")
            continue
        if not re.search(rf"^::: {re.escape(pkg)}\s*$", path.read_text(), flags=re.M):
            problems.append(f"docs/{page} does not render {pkg}: add the line '::: {pkg}'")
        if page not in listed:
            problems.append(f"docs/{page} is not in mkdocs.yml's nav: list {page} under "
                            "'API reference'")
    return problems


def _where(obj: Any) -> str:
    try:
        path = Path(inspect.getsourcefile(obj) or "?")
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return "?"
    try:
        path = path.resolve().relative_to(REPO)
    except ValueError:
        pass
    return f"{path}:{line}"


def _own_doc(obj: Any) -> str:
    """``obj``'s own docstring: not a base class's, not a dataclass's generated signature."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    doc = (doc or "").strip()
    if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""  # the signature that @dataclass writes where a class has no docstring
    return doc


def _methods(cls: type) -> Iterable[tuple[str, Any]]:
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, (classmethod, staticmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr):
            yield name, attr


def undocumented(packages: Iterable[str]) -> list[str]:
    """Public names without a docstring: ``"brainlike.pkg.name (file:line) ..."`` each.

    Public means listed in a package's ``__all__`` (functions and classes defined in brainlike)
    and, for those classes, their public methods (properties are documented in the class's
    Attributes section, numpydoc's convention).
    """
    problems, seen = [], set()
    for pkg in packages:
        module = importlib.import_module(pkg)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith(ROOT) or id(obj) in seen:
                continue
            seen.add(id(obj))
            what = "class" if inspect.isclass(obj) else "function"
            if not _own_doc(obj):
                problems.append(f"{pkg}.{name} ({_where(obj)}): public {what} without a docstring")
            if inspect.isclass(obj):
                for meth, fn in _methods(obj):
                    if not (inspect.getdoc(getattr(obj, meth)) or "").strip():
                        problems.append(f"{pkg}.{name}.{meth} ({_where(fn)}): public method "
                                        "without a docstring")
    return problems


def on_config(config: Any) -> Any:
    """Fail the build, naming what to add, when an API page or a docstring is missing."""
    from mkdocs.exceptions import PluginError

    packages = public_packages()
    problems = missing_api_pages(Path(config["docs_dir"]), config["nav"], packages)
    problems += undocumented(packages)
    if problems:
        raise PluginError(
            "the documentation is incomplete (every public package needs an API reference page, "
            "every public function, class and method a numpydoc docstring):\n  "
            + "\n  ".join(problems))
    return config


# -- links to repository files outside docs/ -------------------------------------------------------


def _outside(src_uri: str, target: str) -> str | None:
    """The repository path a relative link of page ``src_uri`` points at outside ``docs/``."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join("docs", posixpath.dirname(src_uri), target))
    return None if path.startswith(("docs/", "../")) or path == "docs" else path


def on_files(files: Any, config: Any) -> Any:
    """Add the repository files (not Markdown) that pages link to outside ``docs/``."""
    from mkdocs.structure.files import File

    present = {f.src_uri for f in files}
    for page in list(files.documentation_pages()):
        text = Path(page.abs_src_path).read_text(encoding="utf-8")
        for _, target, _ in _LINK.findall(text):
            path = _outside(page.src_uri, target)
            if path is None or path in present or path.endswith(".md"):
                continue
            if (REPO / path).is_file():
                files.append(File(path, str(REPO), config["site_dir"], config["use_directory_urls"]))
                present.add(path)
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Point links to repository files outside ``docs/`` at their copies in the site."""
    here = posixpath.dirname(page.file.src_uri) or "."

    def rewrite(m: re.Match) -> str:
        text, target, anchor = m.group(1), m.group(2), m.group(3) or ""
        path = _outside(page.file.src_uri, target)
        if path is None or not (REPO / path).exists():
            return m.group(0)  # inside docs/, external, or broken: the strict build checks it
        if (REPO / path).is_file() and not path.endswith(".md"):
            return f"[{text}]({posixpath.relpath(path, here)}{anchor})"
        return f"{text} (`{path}` in the repository)"

    return _LINK.sub(rewrite, markdown)
