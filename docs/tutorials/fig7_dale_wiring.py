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
# # Primer Fig. 7: the wiring of an excitatory-inhibitory network
#
# Song, Yang & Wang (2016) trained a network that obeys Dale's law (80 % excitatory, 20 %
# inhibitory units, every unit's outgoing weights of one sign) on the perceptual decision task,
# then sorted its recurrent weights by cell type and by each unit's choice selectivity: units
# that prefer the same choice excite each other more than units that prefer different ones
# (primer Fig. 7). Here: the same network, trained to 95 % of the ideal observer's accuracy.
#
# `BRAINLIKE_TUTORIAL_BUDGET=smallest` trains for a few steps only (the test suite's setting).

# %%
# %matplotlib inline
import os

import torch

from brainlike import viz
from brainlike.analysis import choice_wiring, sort_by_selectivity, unit_selectivity
from brainlike.analysis import weights_by_type
from brainlike.models import Dale, RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train

BUDGET = os.environ.get("BRAINLIKE_TUTORIAL_BUDGET", "full")
STEPS = {"full": 2000, "smallest": 20}[BUDGET]
torch.set_num_threads(1)

# %% [markdown]
# ## An E/I network
#
# `Dale(100, e_fraction=0.8)`: the trained weights pass through a rectification and take the
# sign of their presynaptic unit; inputs reach and the readout reads the excitatory units only.

# %%
task = make("perceptual_decision", dt=100.0)
dale = Dale(100, e_fraction=0.8, positive="rectify", seed=0)
model = RateRNN(task.n_inputs, 100, task.n_outputs, tau=100.0, dt=task.dt, sigma_rec=0.15,
                connectivity=dale, seed=0)
result = train(model, task, steps=STEPS, batch_size=32, lr=5e-3, eval_every=100,
               criterion=0.95 * task.ceiling, progress=False)
print(result)
print(evaluate(model, task, n_trials=2000, seed=1))

# %% [markdown]
# ## Choice selectivity and the sorted weights
#
# Each unit's d′ between the two choices over the stimulus epoch of 1000 fresh trials; the
# weight matrix is sorted E then I, each by d′ (`viz.connectivity_matrix`).

# %%
batch = task.generate(1000, seed=2)
with torch.no_grad():
    activity = model(torch.tensor(batch.inputs), generator=torch.Generator().manual_seed(2)).activity
selectivity = unit_selectivity(activity.numpy(), batch.conditions["ground_truth"],
                               batch.epochs["stimulus"])
w = model.effective_weights().w_rec.detach().numpy()
sign = dale.cell_sign.numpy()
viz.connectivity_matrix(sort_by_selectivity(w, selectivity.d_prime, sign),
                        title="recurrent weights (E | I, by d′)")

# %% [markdown]
# ## Same choice, different choice
#
# The mean E→E weight between units selective (|d′| ≥ 0.5) to the same choice against that
# between units selective to different choices; and the weights of each connection type.

# %%
wiring = choice_wiring(w, selectivity.d_prime, sign, threshold=0.5)
print(wiring)
viz.weight_distributions(weights_by_type(w, sign))
