"""``--out DIR`` for every reproduction script: where its JSON and figures go.

``python examples/reproductions/<script>.py --out DIR`` writes to ``DIR``; without it a script
writes to ``results/`` beside the scripts, which holds the committed results.
"""

from __future__ import annotations

import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def out_dir() -> Path:
    """``--out DIR`` from the command line, else ``results/`` (created either way).

    The two arguments are taken out of ``sys.argv``, so a script's own arguments parse as before.
    """
    path = RESULTS
    if "--out" in sys.argv:
        i = sys.argv.index("--out")
        if i + 1 >= len(sys.argv):
            sys.exit("error: --out needs a directory")
        path = Path(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    path.mkdir(parents=True, exist_ok=True)
    return path
