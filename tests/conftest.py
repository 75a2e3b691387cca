import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tests run on 2-core CI machines next to other work: one intra-op thread avoids
    oversubscription (which can make a step 30x slower)."""
    torch.set_num_threads(1)
