"""Model-to-brain comparison: RSA, CKA, shape metrics, regression predictivity."""

from ._cka import center_gram, cka, cka_matrix, cka_minibatch, gram_linear, gram_rbf
from ._rdm import RDM, compare_rdms, rdm

__all__ = [
    "RDM",
    "center_gram",
    "cka",
    "cka_matrix",
    "cka_minibatch",
    "compare_rdms",
    "gram_linear",
    "gram_rbf",
    "rdm",
]
