"""Feature visualization: brainlike.activation_maximization vs torch-lucent 0.1.8, same run.

Task: the 16 channels of ``relu2`` (the second conv block, 16 channels of 4×4) of the primer's
ConvNet trained for 400 steps on 8×8 digits; one image per channel, 512 Adam steps (lr 0.05),
the same parameterization on both sides (Fourier, 1/f-scaled spectrum, sd 0.01, /4, sigmoid; no
colour decorrelation: one channel) and the same transformation robustness (a random shift of the
image by at most 1 pixel each step: Lucent ``jitter(2)``, brainlike ``jitter=1``), objective the
channel's spatial mean (Lucent ``objectives.channel``).

* ``lucent``: ``render_vis`` once per channel (Lucent optimizes one objective per call), with
  ``preprocess=False`` and ``fixed_image_size=8`` (it otherwise normalizes with ImageNet
  statistics and upsamples to 224 px).
* ``brainlike_per_unit``: ``activation_maximization`` once per channel (same work as Lucent).
* ``brainlike``: one call, all 16 channels in one batch (the default way to use it).

Lucent 0.1.8 installs with torch 2.13.0, but the torchvision wheel it pulls in (0.28.0) does not
import against torch 2.13.0+cpu ("operator torchvision::nms does not exist"); Lucent uses
torchvision only for ``transforms.Normalize`` in its ImageNet preprocessing, which this benchmark
turns off, so a stand-in module with that one class is put in ``sys.modules`` before importing
Lucent. Nothing else of Lucent is changed.

The reached activation of every image is measured the same way for both: the channel's spatial
mean on the final, untransformed image, with brainlike's ``objective_values``.

Run: ``python bench/bench_featurevis.py [--quick]``; writes ``bench/results/featurevis.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from _common import loadavg, print_table, set_threads, write_results

from brainlike.analysis import activation_maximization
from brainlike.analysis.features._maximize import objective_values
from brainlike.models import ConvNet, layer_activations
from brainlike.tasks import make

LAYER, N_UNITS, LR = "relu2", 16, 0.05


def _torchvision_stand_in() -> None:
    tv, tr = types.ModuleType("torchvision"), types.ModuleType("torchvision.transforms")

    class Normalize(torch.nn.Module):  # only used by Lucent's preprocess=True path (off here)
        def __init__(self, mean, std):
            super().__init__()
            self.mean, self.std = torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)

        def forward(self, x):
            return (x - self.mean) / self.std

    tr.Normalize, tv.transforms = Normalize, tr
    sys.modules.setdefault("torchvision", tv)
    sys.modules.setdefault("torchvision.transforms", tr)


def trained_net() -> ConvNet:
    task = make("digits")
    net = ConvNet(task.image_shape, 10, layers="primer", seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for step in range(400):
        batch = task.generate(64, seed=[0, 0, step])
        loss = torch.nn.functional.cross_entropy(
            net(torch.tensor(batch.inputs)).outputs, torch.tensor(batch.targets)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def activation(net: ConvNet, images: np.ndarray) -> np.ndarray:
    acts = layer_activations(net, torch.tensor(images, dtype=torch.float32), [LAYER], flatten=False)[
        LAYER
    ]
    return objective_values(acts, "channel", np.arange(N_UNITS)).numpy()


def run_lucent(net: ConvNet, steps: int, jitter: bool) -> np.ndarray:
    from lucent.optvis import objectives, param, render, transform

    images = []
    for ch in range(N_UNITS):
        torch.manual_seed(ch)
        np.random.seed(ch)  # noqa: NPY002 (Lucent draws its jitter from the global numpy generator)
        out = render.render_vis(
            net,
            objectives.channel(LAYER, ch),
            param_f=lambda: param.image(8, channels=1, fft=True, decorrelate=False),
            optimizer=lambda p: torch.optim.Adam(p, lr=LR),
            transforms=[transform.jitter(2)] if jitter else [],
            thresholds=(steps,),
            preprocess=False,
            progress=False,
            show_image=False,
            fixed_image_size=8,
        )
        images.append(np.moveaxis(out[-1][0], -1, 0))  # (H, W, C) -> (C, H, W)
    return np.stack(images)


def run_brainlike(net: ConvNet, steps: int, per_unit: bool, jitter: bool) -> np.ndarray:
    kw = {"kind": "channel", "n_steps": steps, "lr": LR, "param": "fourier", "jitter": int(jitter)}
    if per_unit:
        return np.concatenate(
            [activation_maximization(net, LAYER, [ch], seed=ch, **kw).images for ch in range(N_UNITS)]
        )
    return activation_maximization(net, LAYER, list(range(N_UNITS)), seed=0, **kw).images


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="64 steps, 1 repeat (smoke run)")
    args = ap.parse_args()
    set_threads(1)
    steps, repeats = (64, 1) if args.quick else (512, 2)
    _torchvision_stand_in()
    import lucent  # noqa: F401 (fail early if Lucent is not installed)

    net = trained_net()
    digits = np.concatenate([make("digits").data.images, make("digits", split="test").data.images])
    acts_digits = layer_activations(net, digits, [LAYER], flatten=False)[LAYER]
    best_digit = acts_digits.reshape(len(digits), N_UNITS, -1).mean(-1).max(0).values.numpy()
    results: dict = {"loadavg_at_start_of_timing": loadavg()}
    for setting, jit in (("no_transforms", False), ("jitter", True)):
        variants = {
            "lucent": lambda jit=jit: run_lucent(net, steps, jit),
            "brainlike": lambda jit=jit: run_brainlike(net, steps, False, jit),
        }
        if not jit:  # the same work as Lucent: one call per unit
            variants["brainlike_per_unit"] = lambda: run_brainlike(net, steps, True, False)
        times: dict[str, list[float]] = {k: [] for k in variants}
        acts: dict[str, np.ndarray] = {}
        for _ in range(repeats):  # interleaved: background load hits every variant alike
            for name, fn in variants.items():
                t0 = time.perf_counter()
                images = fn()
                times[name].append(time.perf_counter() - t0)
                acts[name] = activation(net, images)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"\n{setting}:")
        rows = [
            [
                k,
                f"{med[k]:.2f}",
                f"{med['lucent'] / med[k]:.2f}",
                f"{acts[k].mean():.4f}",
                f"{np.mean(acts[k] >= acts['lucent'] - 1e-6):.2f}",
            ]
            for k in variants
        ]
        print_table(
            ["variant", "median s", "lucent / variant", "mean activation", "frac units >= lucent"], rows
        )
        results[setting] = {
            "seconds": times,
            "median_seconds": med,
            "speedup_vs_lucent": {k: med["lucent"] / med[k] for k in variants},
            "activation_per_unit": {k: v.round(5).tolist() for k, v in acts.items()},
            "mean_activation": {k: float(v.mean()) for k, v in acts.items()},
            "mean_activation_ratio_vs_lucent": {
                k: float(acts[k].mean() / acts["lucent"].mean()) for k in variants
            },
            "units_at_or_above_lucent": {
                k: int(np.sum(acts[k] >= acts["lucent"] - 1e-6)) for k in variants
            },
        }
    write_results(
        "featurevis",
        {
            "task": f"{N_UNITS} channels of {LAYER}, primer ConvNet on 8x8 digits, "
            f"{steps} Adam steps lr {LR}",
            "settings": {
                "no_transforms": "identical objective, parameterization and optimizer on both sides",
                "jitter": "Lucent jitter(2) (shift 0..1 px, zero fill, kornia) vs brainlike jitter=1 "
                "(shift -1..1 px, mid-grey fill): similar, not identical transforms",
            },
            "lucent_version": "0.1.8",
            "torch_version": torch.__version__,
            "repeats": repeats,
            "best_digit_activation_per_unit": best_digit.round(5).tolist(),
            **results,
            "notes": "torchvision stand-in (Normalize only) because torchvision 0.28.0 does not import "
            "against torch 2.13.0+cpu; Lucent's preprocess (the only user) is off.",
        },
    )


if __name__ == "__main__":
    main()
