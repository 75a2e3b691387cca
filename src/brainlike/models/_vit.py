"""A small vision transformer (Dosovitskiy et al. 2021) with its attention maps as traces."""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Annotated, Any

import torch
from torch import Tensor, nn

from ._convnet import ConvNetOutput, check_images
from ._params import OneOf, Range, Seed, Size, checked
from ._protocol import Traced

__all__ = ["VisionTransformer"]


class AttentionMap(nn.Identity):
    """The attention weights ``(B, heads, T, T)`` of a block pass through this module, so that
    forward hooks (``Recording.from_layers``, ``layer_activations``) can record them by name."""


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention (Vaswani et al. 2017, Eq. 1).

    ``A_h = softmax(Q_h K_hᵀ / sqrt(d_h))`` over the keys (each row sums to 1), ``out =
    W_o [A_1 V_1, ..., A_H V_H]``, with ``Q, K, V`` linear maps of the tokens. The weights pass
    through the submodule ``weights`` (an :class:`AttentionMap`).
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.weights = AttentionMap()

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn = self.weights(torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), -1))
        return self.proj((attn @ v).transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbedding(nn.Module):
    """Non-overlapping ``patch × patch`` patches, each mapped linearly to ``dim`` (a strided
    convolution): images ``(B, C, H, W)`` → tokens ``(B, (H/p)(W/p), dim)`` in row-major order."""

    def __init__(self, channels: int, dim: int, patch: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, dim, patch, stride=patch)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    """A small vision transformer for image classification, usable wherever a ConvNet is.

    Images are cut into ``patch × patch`` patches, each embedded linearly (``embed``), a learned
    class token is prepended (``pool="cls"``), learned position embeddings are added
    (``position=True``), ``depth`` pre-norm transformer blocks (``block1`` …) mix the tokens by
    multi-head self-attention, and a final layer norm (``norm``) and a linear ``readout`` map
    the class token (or the mean of the patch tokens, ``pool="mean"``) to logits
    (Dosovitskiy et al. 2021, "An image is worth 16x16 words").

    Like :class:`ConvNet` it returns ``(outputs, activity)`` (a :class:`ConvNetOutput`: logits
    ``(B, n_classes)`` and the pooled representation ``(B, dim)``), has ``n_input``,
    ``n_output`` and ``config()`` for the trainer and run directories, and named submodules for
    forward hooks (``Recording.from_layers(vit, images, ["block1", "block2.attn.weights"])``).
    The attention weights of every block are traces: :meth:`traced` returns them as
    ``attention/block<k>``, ``(B, heads, T, T)`` with ``T`` the number of tokens (class token
    first), each row a distribution over the keys. Without position embeddings the blocks are
    permutation-equivariant: permuting the patches permutes the patch tokens the same way (and
    leaves the class token and the logits unchanged).

    Parameters
    ----------
    input_shape : (C, H, W)
        ``H`` and ``W`` must be multiples of ``patch``.
    n_classes : int
    patch : int
        Patch side in pixels.
    dim : int
        Token width; a multiple of ``heads``.
    depth : int
        Transformer blocks.
    heads : int
        Attention heads per block.
    mlp : int
        Hidden width of each block's MLP (GELU).
    position : bool
        Learned position embeddings (False: the model cannot tell where a patch was).
    pool : {"cls", "mean"}
        Class token, or the mean of the patch tokens.
    seed : int, optional
        Seed of the initialization (PyTorch's defaults; class token and position embeddings
        ``N(0, 0.02²)``).

    Examples
    --------
    >>> import torch
    >>> vit = VisionTransformer((1, 8, 8), 10, patch=2, dim=16, depth=2, heads=2, seed=0)
    >>> out = vit(torch.zeros(3, 1, 8, 8))
    >>> tuple(out.outputs.shape), tuple(out.activity.shape)
    ((3, 10), (3, 16))
    >>> att = vit.traced(torch.zeros(3, 1, 8, 8)).traces["attention/block1"]
    >>> tuple(att.shape), bool(torch.allclose(att.sum(-1), torch.ones(3, 2, 17)))
    ((3, 2, 17, 17), True)
    """

    @checked
    def __init__(
        self,
        input_shape: Sequence,
        n_classes: Size,
        *,
        patch: Annotated[int, Range(1, 1024)] = 4,
        dim: Annotated[int, Range(1, 4096)] = 32,
        depth: Annotated[int, Range(1, 64)] = 2,
        heads: Annotated[int, Range(1, 64)] = 2,
        mlp: Annotated[int, Range(1, 65536)] = 64,
        position: bool = True,
        pool: Annotated[str, OneOf(("cls", "mean"))] = "cls",
        seed: Seed = None,
    ):
        super().__init__()
        self.input_shape = _image_shape(input_shape)
        _, h, w = self.input_shape
        self.n_classes = int(n_classes)
        self.patch, self.dim, self.depth, self.heads, self.mlp = patch, dim, depth, heads, mlp
        self.position, self.pool, self.seed = bool(position), pool, seed
        self.n_patches = (h // patch) * (w // patch)
        self.n_tokens = self.n_patches + (pool == "cls")
        if seed is None:
            self._build()
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                self._build()

    def _build(self) -> None:
        dim = self.dim
        self.embed = PatchEmbedding(self.input_shape[0], dim, self.patch)
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, dim)) if self.pool == "cls" else None
        self.pos_embedding = (
            nn.Parameter(0.02 * torch.randn(1, self.n_tokens, dim)) if self.position else None
        )
        for k in range(self.depth):
            self.add_module(f"block{k + 1}", Block(dim, self.heads, self.mlp))
        self.norm = nn.LayerNorm(dim)
        self.readout = nn.Linear(dim, self.n_classes)

    @staticmethod
    def _check_together(args: dict[str, Any]) -> None:
        shape = _image_shape(args["input_shape"])
        patch, dim, heads = args.get("patch", 4), args.get("dim", 32), args.get("heads", 2)
        if shape[1] % patch or shape[2] % patch:
            raise ValueError(
                f"The 'patch' parameter of VisionTransformer must divide the image's height and "
                f"width {shape[1:]}. Got {patch!r} instead."
            )
        if dim % heads:
            raise ValueError(
                f"The 'dim' parameter of VisionTransformer must be a multiple of heads ({heads}). "
                f"Got {dim!r} instead."
            )

    # ---- protocol
    @property
    def n_input(self) -> int:
        return self.input_shape[0]

    @property
    def n_output(self) -> int:
        return self.n_classes

    @property
    def n_hidden(self) -> int:
        return self.dim

    @property
    def block_names(self) -> tuple[str, ...]:
        return tuple(f"block{k + 1}" for k in range(self.depth))

    @property
    def layer_names(self) -> tuple[str, ...]:
        """The top-level layers in order: ``embed``, ``block1`` …, ``norm``, ``readout``."""
        return ("embed", *self.block_names, "norm", "readout")

    @property
    def trace_shapes(self) -> dict[str, tuple[int, ...]]:
        """The trailing shape of every trace of :meth:`traced`."""
        t = self.n_tokens
        return {f"attention/{b}": (self.heads, t, t) for b in self.block_names}

    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments except ``seed``: ``VisionTransformer(**vit.config())``
        rebuilds the architecture (the weights travel in the ``state_dict``)."""
        return {
            "input_shape": list(self.input_shape), "n_classes": self.n_classes,
            "patch": self.patch, "dim": self.dim, "depth": self.depth, "heads": self.heads,
            "mlp": self.mlp, "position": self.position, "pool": self.pool,
        }

    # ---- computation
    def tokens(self, x: Tensor) -> Tensor:
        """The tokens after the last block, ``(B, T, dim)`` (class token first, if any)."""
        check_images(x, self.input_shape)
        z = self.embed(x)
        if self.cls_token is not None:
            z = torch.cat([self.cls_token.expand(z.shape[0], -1, -1), z], dim=1)
        if self.pos_embedding is not None:
            z = z + self.pos_embedding
        for name in self.block_names:
            z = getattr(self, name)(z)
        return z

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> ConvNetOutput:
        """Map images ``(B, C, H, W)`` to logits ``(B, n_classes)`` and the pooled
        representation ``(B, dim)``; ``generator`` is accepted so that the trainer calls every
        model alike (a transformer draws no noise)."""
        z = self.tokens(x)
        pooled = self.norm(z[:, 0] if self.pool == "cls" else z.mean(dim=1))
        return ConvNetOutput(self.readout(pooled), pooled)

    def traced(self, x: Tensor) -> Traced:
        """``forward`` plus the attention weights of every block, ``attention/block<k>``
        ``(B, heads, T, T)`` (read-only mapping)."""
        maps: dict[str, Tensor] = {}
        handles = [
            getattr(self, b).attn.weights.register_forward_hook(
                lambda _m, _a, out, b=b: maps.__setitem__(f"attention/{b}", out)
            )
            for b in self.block_names
        ]
        try:
            out = self(x)
        finally:
            for h in handles:
                h.remove()
        return Traced(out, MappingProxyType(maps))

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, n_classes={self.n_classes}, patch={self.patch}"


def _image_shape(input_shape: Any) -> tuple[int, int, int]:
    try:
        shape = tuple(int(s) for s in input_shape)
        ok = all(isinstance(s, int) or hasattr(s, "__index__") for s in input_shape)
    except (TypeError, ValueError):
        shape, ok = (), False
    if not ok or len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            "The 'input_shape' parameter of VisionTransformer must be (channels, height, width) "
            f"of ints >= 1. Got {input_shape!r} instead."
        )
    return shape  # type: ignore[return-value]
