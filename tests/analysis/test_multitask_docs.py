"""The python examples of docs/multitask.md run (they assert inside)."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "multitask.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_examples_run_in_order():
    assert len(BLOCKS) >= 4
    namespace: dict = {}
    for i, code in enumerate(BLOCKS):  # later blocks use the earlier ones' imports
        try:
            exec(compile(code, f"{DOC}[{i}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message names the block
            pytest.fail(f"docs/multitask.md block {i} failed: {err!r}")
