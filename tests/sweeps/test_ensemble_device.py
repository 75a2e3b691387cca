"""``train_ensemble(device=...)``: checked by name like ``train(device=...)``; on the CPU it is
the same computation; on a GPU (when one is present) members equal those trained on the CPU."""

import pytest
import torch

from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import train_ensemble

TASK = make("perceptual_decision", dt=100.0)
KW = dict(steps=6, batch_size=8, eval_every=3, eval_trials=16, lr=3e-3, progress=False)


def _nets(n=2):
    return [RateRNN(TASK.n_inputs, 8, TASK.n_outputs, dt=100.0, tau=200.0, sigma_rec=0.1, seed=s)
            for s in range(n)]


def test_device_cpu_is_the_same_computation_as_no_device():
    a, b = _nets(), _nets()
    ra = train_ensemble(a, TASK, seeds=[0, 1], **KW)
    rb = train_ensemble(b, TASK, seeds=[0, 1], device="cpu", **KW)
    for ma, mb in zip(a, b):
        for pa, pb in zip(ma.parameters(), mb.parameters()):
            assert pb.device.type == "cpu"
            torch.testing.assert_close(pa, pb, rtol=0, atol=0)  # the same operations
    assert [r.accuracy for r in ra] == [r.accuracy for r in rb]


def test_device_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"The 'device' parameter of train_ensemble must be a "
                                         r"torch.device or a device string .* Got 'gpu0' instead"):
        train_ensemble(_nets(), TASK, seeds=[0, 1], device="gpu0", **KW)
    nets = _nets()
    nets[1].to("meta")
    with pytest.raises(ValueError, match=r"trains members on one device; the models are on "
                                         r"\['cpu', 'meta'\]. Pass device= to move them all"):
        train_ensemble(nets, TASK, seeds=[0, 1], **KW)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_cuda_without_a_gpu_is_refused_by_name():
    with pytest.raises(ValueError, match=r"The 'device' parameter of train_ensemble is 'cuda', but "
                                         r"this machine has 0 CUDA device\(s\)"):
        train_ensemble(_nets(), TASK, seeds=[0, 1], device="cuda", **KW)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_members_trained_on_a_gpu_equal_those_trained_on_the_cpu():
    cpu, gpu = _nets(), _nets()
    train_ensemble(cpu, TASK, seeds=[0, 1], **KW)
    train_ensemble(gpu, TASK, seeds=[0, 1], device="cuda", **KW)
    for mc, mg in zip(cpu, gpu):
        for pc, pg in zip(mc.parameters(), mg.parameters()):
            assert pg.device.type == "cuda"
            # Other kernels add in another order: ~1e-7 per step over 6 Adam steps (lr 3e-3).
            torch.testing.assert_close(pg.cpu(), pc, rtol=0, atol=1e-4)
