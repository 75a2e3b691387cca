"""The python blocks of docs/vision.md run, in order, in one namespace (they assert inside)."""

from __future__ import annotations

import re
from pathlib import Path

import torch

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_vision_page_examples_run():
    text = (DOCS / "vision.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert len(blocks) >= 8
    namespace: dict = {}
    torch.manual_seed(0)
    for i, code in enumerate(blocks):
        exec(compile(code, f"{DOCS / 'vision.md'}[{i}]", "exec"), namespace)
