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
# # Primer Fig. 2: a network's psychometric curve
#
# Yang & Wang (2020) open with the perceptual decision task of Britten et al. (1992): a monkey
# (or a network) reports the net direction of noisy moving dots, and the fraction of "right"
# choices rises with the signed motion coherence along a sigmoid, the psychometric curve
# (primer Fig. 2). Here a continuous-time rate RNN (primer Eq. 26-27) learns the task with
# backpropagation through time, and its choices on fresh trials give the same curve.
#
# This page is executed when the documentation is built. `BRAINLIKE_TUTORIAL_BUDGET=smallest`
# runs it with a few training steps (what the test suite does); the numbers below are then
# those of an untrained network.

# %%
# %matplotlib inline
import os

import numpy as np
import torch

from brainlike import viz
from brainlike.analysis import fit_psychometric
from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train

BUDGET = os.environ.get("BRAINLIKE_TUTORIAL_BUDGET", "full")
STEPS = {"full": 2000, "smallest": 150}[BUDGET]  # a KeyError names an unknown budget
torch.set_num_threads(1)  # small networks train fastest on one thread

# %% [markdown]
# ## The task and the network
#
# `perceptual_decision` at `dt = 100` ms (NeuroGym's setting): 100 ms fixation, 2 s of noisy
# evidence on two input channels, a 100 ms decision period. The ideal observer, who integrates
# all the evidence perfectly, is right on 89.6 % of the trials: the task's `ceiling`.

# %%
task = make("perceptual_decision", dt=100.0)
model = RateRNN(task.n_inputs, 64, task.n_outputs, tau=100.0, dt=task.dt, sigma_rec=0.05, seed=0)
print(task.input_names, "->", task.output_names, f"ceiling {task.ceiling:.3f}")

# %% [markdown]
# ## Training to a criterion
#
# Training stops when the accuracy on 500 fresh trials reaches 95 % of the ceiling.

# %%
result = train(model, task, steps=STEPS, lr=5e-3, criterion=0.95 * task.ceiling,
               progress=False)
print(result)
viz.learning_curve(result.history, criterion=0.95 * task.ceiling, ceiling=task.ceiling)

# %% [markdown]
# ## The psychometric curve
#
# 200 fresh trials at each signed coherence; the fit is a logistic function of the signed
# coherence, with 95 % binomial intervals on each point. A network that stops at its
# criterion can still prefer one side: compare the accuracy by ground truth.

# %%
cohs = np.asarray(task.params["coherences"], dtype=float)
coherence = np.repeat(np.tile(cohs, 2), 200)
truth = np.repeat([1, 2], cohs.size * 200)
batch = task.generate(coherence.size, seed=1,
                      conditions={"coherence": coherence, "ground_truth": truth})
with torch.no_grad():
    outputs = model(torch.tensor(batch.inputs), generator=torch.Generator().manual_seed(1)).outputs
score = task.score(outputs, batch)
responded = score.decision > 0
signed = np.asarray(batch.conditions["signed_coherence"])
fit = fit_psychometric(signed[responded], score.decision[responded] == 2)
for g in (1, 2):
    print(f"accuracy when the answer is {task.level_label('ground_truth', g)}: "
          f"{score.correct[truth == g].mean():.3f}")
print(f"bias {fit.bias:+.2f} % coherence, scale {fit.scale:.2f} %")
viz.psychometric(fit)

# %%
print(evaluate(model, task, n_trials=2000, seed=2))
