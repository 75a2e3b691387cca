"""The python examples in docs/similarity.md and docs/recordings.md run (they assert inside)."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCKS = [
    (name, i, code)
    for name in ("similarity.md", "recordings.md")
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), flags=re.S))
]


@pytest.mark.parametrize(("name", "index", "code"), BLOCKS, ids=[f"{n}-{i}" for n, i, _ in BLOCKS])
def test_doc_example_runs(name, index, code, capsys):
    exec(compile(code, f"{DOCS / name}[{index}]", "exec"), {})
