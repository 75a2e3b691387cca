"""The python blocks of docs/continual.md and docs/unsupervised.md run, in order, per page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.slow
@pytest.mark.parametrize("page", ["continual.md", "unsupervised.md"])
def test_doc_python_blocks_execute(page, tmp_path, monkeypatch):
    blocks = re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(), flags=re.S | re.M)
    assert blocks, f"no python blocks in {page}"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page}"}
    threads = torch.get_num_threads()
    try:
        for k, block in enumerate(blocks):
            exec(compile(block, f"{DOCS / page} (python block {k + 1})", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
