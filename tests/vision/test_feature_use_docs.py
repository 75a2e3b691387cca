"""The python blocks of docs/feature_use.md run, in order, in one namespace (they assert inside)."""

from __future__ import annotations

import re
from pathlib import Path

import torch

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_feature_use_page_examples_run(tmp_path, monkeypatch):
    text = (DOCS / "feature_use.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)  # a block writes a CSV file
    namespace: dict = {}
    threads = torch.get_num_threads()
    try:
        for i, code in enumerate(blocks):
            exec(compile(code, f"{DOCS / 'feature_use.md'}[{i}]", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
