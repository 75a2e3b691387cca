# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Primer Fig. 6: parametric working memory on a line attractor
#
# In the task of Romo et al. (1999) a monkey holds the frequency f1 of a vibration in memory
# through a delay, then compares it with a second one, f2. A network trained on it holds f1 as a
# position along a line of (approximate) fixed points: a line attractor, whose Jacobian has one
# eigenvalue near 1 along the line (primer Fig. 6A-C). Here: train, record the delay
# trajectories, find the fixed points with the input held at its delay value, and look.
#
# `BRAINLIKE_TUTORIAL_BUDGET=smallest` trains for a few steps only (the test suite's setting).

# %%
# %matplotlib inline
import os

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike import viz
from brainlike.analysis import find_fixed_points, line_attractor, model_step_fn, sample_states
from brainlike.analysis import trajectory_pca
from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train

BUDGET = os.environ.get("BRAINLIKE_TUTORIAL_BUDGET", "full")
STEPS = {"full": 1500, "smallest": 20}[BUDGET]
torch.set_num_threads(1)

# %% [markdown]
# ## Training
#
# 64 ReLU units, tau = dt = 100 ms; the delays last 0.2 to 3.2 s.

# %%
task = make("parametric_working_memory")
model = RateRNN(task.n_inputs, 64, task.n_outputs, tau=100.0, dt=task.dt, sigma_rec=0.05, seed=0)
result = train(model, task, steps=STEPS, batch_size=32, lr=3e-3, eval_every=250, progress=False)
print(result)
print(evaluate(model, task, n_trials=1000, seed=1))

# %% [markdown]
# ## Delay trajectories and fixed points
#
# Trials with a 3 s delay and seven values of f1. The fixed points are searched from 512
# delay states with the input held at its delay value (fixation on, no stimulus) and kept where
# the speed `q` is below 1e-4: the line of a trained network is approximate.

# %%
probe = make("parametric_working_memory", timing={"delay": 3000.0})
f1 = np.repeat([10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0], 30)
f2 = np.where(f1 > 22.0, f1 - 8.0, f1 + 8.0)
batch = probe.generate(f1.size, seed=3, conditions={"f1": f1, "f2": f2})
with torch.no_grad():
    activity = model(torch.tensor(batch.inputs), generator=torch.Generator().manual_seed(3)).activity
d0, d1 = (int(v) for v in batch.epochs["delay"][0])
delay = activity.numpy()[:, d0:d1]
pca = trajectory_pca(delay, f1, n_components=3)
fps = find_fixed_points(model_step_fn(model, torch.tensor([1.0, 0.0])),
                        sample_states(delay, 512, noise=0.01, seed=0), tol_q=1e-4)
print(f"{len(fps.points)} fixed points ({int(fps.is_stable.sum())} stable), "
      f"{len(fps.slow_points)} slow points")

# %% [markdown]
# `viz.fixed_points` draws the delay trajectories (coloured by f1) with the fixed points
# projected on the same principal components, and each fixed point's Jacobian spectrum in its
# own colour.

# %%
viz.fixed_points(fps, pca, values=list(pca.groups), value_label="f1 (Hz)",
                 title="delay trajectories and fixed points")

# %% [markdown]
# ## Along the line
#
# If the fixed points form a line, the state at the end of the delay sits along it at a
# position that encodes f1, and the eigenvalue closest to 1 belongs to the direction of the
# line. With too few fixed points (an untrained network) there is no line to measure, and the
# figure shows the delay-end states along their own first principal axis instead.

# %%
end = delay[:, -1]
if len(fps.points) >= 2:
    la = line_attractor(fps)
    origin, axis, label = fps.points.mean(0), la.axis, "delay-end state along the line"
    print(f"eigenvalue closest to 1: median {np.median(la.eigenvalues.real):.3f}")
else:
    print("fewer than 2 fixed points: train longer (BRAINLIKE_TUTORIAL_BUDGET=full)")
    origin = end.mean(0)
    axis = np.linalg.svd(end - origin, full_matrices=False)[2][0]
    label = "delay-end state along its first PC"
position = (end - origin) @ axis
print(f"f1 vs position: r = {np.corrcoef(position, f1)[0, 1]:.3f}")
fig = Figure(figsize=(4.2, 3.2), layout="constrained")
ax = fig.subplots()
ax.scatter(f1, position, c=f1, cmap="coolwarm", s=8)
ax.set(xlabel="f1 (Hz)", ylabel=label, title="memory of f1")
fig
