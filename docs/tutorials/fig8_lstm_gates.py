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
# # Primer Fig. 8: the gates of an LSTM that remembers a value
#
# The primer's memory task: a stimulus value arrives at every step; the network must store the
# value shown at a "memorize" pulse and report it at a "report" pulse. A single-unit LSTM
# (primer Eq. 43) learns it, and its gates show how: the input gate opens at the memorize cue,
# the forget gate stays open (near 1) while the value is held in the cell, and the output gate
# opens at the report cue (primer Fig. 8).
#
# `BRAINLIKE_TUTORIAL_BUDGET=smallest` trains for a few steps only (the test suite's setting).

# %%
# %matplotlib inline
import os

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike.models import LSTM
from brainlike.tasks import make
from brainlike.training import evaluate, train

BUDGET = os.environ.get("BRAINLIKE_TUTORIAL_BUDGET", "full")
STEPS = {"full": 1500, "smallest": 20}[BUDGET]
torch.set_num_threads(1)

# %% [markdown]
# ## Training
#
# The recipe of the primer's notebook: MSE, Adam (lr 0.01), batches of 16, no gradient
# clipping.

# %%
task = make("memory_report")
model = LSTM(task.n_inputs, 1, task.n_outputs, dt=task.dt, seed=0)
result = train(model, task, steps=STEPS, batch_size=16, lr=1e-2, grad_clip=None,
               eval_every=250, progress=False)
print(result)
print(evaluate(model, task, n_trials=1000, seed=1))

# %% [markdown]
# ## The gates on one trial
#
# `model.traced(inputs)` returns the outputs with the gates and the cell state, each
# `(trials, steps, units)`.

# %%
batch = task.generate(200, seed=2, noise=False)
with torch.no_grad():
    run = model.traced(torch.tensor(batch.inputs))
k = 0
n = int(batch.lengths[k])
t = np.arange(n)
fig = Figure(figsize=(7, 5), layout="constrained")
ax_in, ax_gates, ax_cell = fig.subplots(3, 1, sharex=True)
for c, name in enumerate(task.input_names):
    ax_in.plot(t, batch.inputs[k, :n, c], label=name)
ax_in.set(ylabel="input", title=f"stored value {batch.conditions['stored_value'][k]:+.2f}")
ax_in.legend(fontsize=7, loc="upper right")
for name in ("input_gate", "forget_gate", "output_gate"):
    ax_gates.plot(t, run.traces[name][k, :n, 0].numpy(), label=name.replace("_", " "))
ax_gates.set(ylabel="gate", ylim=(-0.05, 1.05))
ax_gates.legend(fontsize=7, loc="center right")
ax_cell.plot(t, run.traces["cell"][k, :n, 0].numpy(), label="cell state c")
ax_cell.plot(t, run.output.outputs[k, :n, 0].numpy(), label="output")
ax_cell.axhline(batch.conditions["stored_value"][k], color="0.6", ls=":", label="stored value")
ax_cell.set(xlabel="step", ylabel="value")
ax_cell.legend(fontsize=7, loc="upper right")
fig

# %% [markdown]
# ## Across trials
#
# The input gate at the memorize cue against the other steps, and the output gate at the
# report cue against the other steps, over 200 noise-free trials.

# %%
rows = np.arange(len(batch.lengths))
valid = np.arange(batch.inputs.shape[1])[None] < batch.lengths[:, None]
fig = Figure(figsize=(7, 2.8), layout="constrained")
axes = fig.subplots(1, 2, sharey=True)
for ax, (gate, cue) in zip(axes, (("input_gate", "t_memorize"), ("output_gate", "t_report"))):
    g = run.traces[gate][..., 0].numpy()
    at = np.zeros_like(valid)
    at[rows, batch.conditions[cue]] = True
    print(f"{gate.replace('_', ' ')}: {g[at].mean():.3f} at the {cue[2:]} cue, "
          f"{g[valid & ~at].mean():.3f} elsewhere")
    ax.boxplot([g[at], g[valid & ~at]], showfliers=False)
    ax.set_xticks([1, 2], [f"at the {cue[2:]} cue", "elsewhere"])
    ax.set(title=gate.replace("_", " "), ylim=(-0.05, 1.05))
axes[0].set_ylabel("gate value (200 trials)")
fig
