"""The run config's ``model:`` section: one schema per registered model kind.

Each kind's schema is derived from its constructor's annotated signature
(:func:`brainlike.models.arguments`): every argument becomes a field with the same type, default
and range, except the sizes ``n_input``, ``n_output`` and the time step ``dt``, which come from
the task. A new model kind therefore gets its config section, with errors that name the field,
from its registry entry alone. ``type`` selects the kind (``rate`` when absent; ``RateRNN`` is
the name older configs use for it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    WrapValidator,
    create_model,
    model_validator,
)

from .. import models

__all__ = ["AnyModelConfig", "ModelConfig", "model_config_class"]

#: Constructor arguments that come from the task, not from the config.
FROM_TASK = ("n_input", "n_output", "dt")
#: The same for feedforward kinds (image tasks).
FEEDFORWARD_FROM_TASK = ("input_shape", "n_classes")
#: Config defaults for arguments the constructor requires or leaves random.
CONFIG_DEFAULTS = {"n_hidden": 64, "seed": 0}
#: Older names of kinds, accepted in ``type``.
ALIASES = {"RateRNN": "rate"}


class ContextGatingConfig(BaseModel):
    """Context-dependent gating of any kind (:class:`brainlike.models.ContextGated`, XdG).

    ``context_inputs``: the input channels that signal the context, as indices or as the prefix
    of the task's input names (``"rule_"`` for the ``yang19.*`` tasks' rule inputs).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    context_inputs: list[Annotated[int, Field(ge=0)]] | str
    keep: float = Field(0.2, gt=0, le=1, allow_inf_nan=False)
    seed: int = Field(0, ge=0, lt=2**63)

    def channels(self, task: Any) -> list[int]:
        """The context channels of ``task``'s inputs (``ValueError`` naming what is wrong)."""
        if isinstance(self.context_inputs, list):
            return self.context_inputs
        names = list(getattr(task, "input_names", ()))
        found = [k for k, n in enumerate(names) if n.startswith(self.context_inputs)]
        if not found:
            raise ValueError(f"model.context_gating.context_inputs: no input of task "
                             f"{task.name!r} starts with {self.context_inputs!r}")
        return found


class ModelConfig(BaseModel):
    """The model section of a run config; one subclass per kind (:func:`model_config_class`).

    ``type`` names the kind (``brainlike.models.names()``); the other fields are the kind's
    constructor arguments except the sizes and ``dt``, which come from the task.
    ``context_gating`` (any kind) wraps the model in :class:`brainlike.models.ContextGated`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    context_gating: ContextGatingConfig | None = None

    def arguments(self) -> dict[str, Any]:
        """The constructor arguments this section gives (every field but ``type`` and
        ``context_gating``)."""
        return {k: getattr(self, k) for k in type(self).model_fields
                if k not in ("type", "context_gating")}

    def build(self, task: Any) -> models.RecurrentModel:
        """The untrained model, sized for ``task`` (``n_inputs``, ``n_outputs``, ``dt``)."""
        args = self.arguments()
        n_hidden = args.pop("n_hidden")
        model = models.make(self.type, n_input=task.n_inputs, n_hidden=n_hidden,
                            n_output=task.n_outputs, dt=task.dt, **args)
        gating = self.context_gating
        if gating is None:
            return model
        return models.ContextGated(model, context_inputs=gating.channels(task), keep=gating.keep,
                                   seed=gating.seed)

    def check_task(self, task: Any) -> None:
        """Raise ``ValueError`` if the model cannot be built for ``task`` (e.g. ``dt > tau``).

        Checks the arguments without building the model; structured arguments (mappings) were
        checked with the section itself.
        """
        if getattr(task, "dt", None) is None:
            raise ValueError(
                f"model type {self.type!r} needs a trial task (brainlike.tasks.names('trial')); "
                f"task {task.name!r} is an image task: use a feedforward kind "
                f"({models.names('feedforward')})"
            )
        scalars = {k: v for k, v in self.arguments().items() if not isinstance(v, (dict, list))}
        try:
            models.model_class(self.type).check_arguments(
                n_input=task.n_inputs, n_output=task.n_outputs, dt=task.dt, **scalars)
        except (TypeError, ValueError) as e:
            raise ValueError(f"model does not fit task {task.name!r} (dt = {task.dt} ms): {e}") from None
        if self.context_gating is not None:
            channels = self.context_gating.channels(task)
            bad = [c for c in channels if c >= task.n_inputs]
            if bad or len(set(channels)) != len(channels):
                raise ValueError(f"model.context_gating.context_inputs must be distinct input "
                                 f"channels of task {task.name!r} (< {task.n_inputs}); got {channels}")


class FeedforwardModelConfig(ModelConfig):
    """The model section of a feedforward kind (``convnet``, ``vit``) for an image task: the
    image shape and the number of classes come from the task (``input_shape``, ``n_classes``)."""

    def build(self, task: Any) -> Any:
        """The untrained model, sized for ``task`` (``image_shape``, ``n_outputs``)."""
        shape = getattr(task, "image_shape", None)
        if shape is None:
            raise ValueError(
                f"model type {self.type!r} needs an image task (brainlike.tasks.names('image')); "
                f"task {task.name!r} has trials with a time axis"
            )
        return models.make(self.type, input_shape=tuple(shape), n_classes=task.n_outputs,
                           **self.arguments())

    def check_task(self, task: Any) -> None:
        """Raise ``ValueError`` if the model cannot be built for ``task`` (builds it: a
        feedforward model's relations, e.g. a patch size that divides the image, need the
        image's shape)."""
        try:
            self.build(task)
        except (TypeError, ValueError) as e:
            raise ValueError(f"model does not fit task {task.name!r}: {e}") from None


def _one_of(choices: tuple[str, ...]):
    def check(v: str) -> str:
        if v not in choices:
            raise ValueError(f"must be one of {list(choices)}")
        return v

    return check


def _field(arg: Any) -> tuple[Any, Any] | None:
    """``(annotation, FieldInfo)`` of one constructor argument, or None if not configurable."""
    members: list[Any] = []
    for t in arg.types:
        if t in (bool, int, float, str):
            members.append(t)
        elif t is Mapping:
            members.append(dict[str, Any])
        elif t is Sequence:  # e.g. a ConvNet's layer list
            members.append(list[Any])
    if not members:
        return None
    optional = arg.optional and arg.name not in CONFIG_DEFAULTS
    kwargs: dict[str, Any] = {"strict": True}
    r = arg.range
    if r is not None:
        if not math.isinf(r.low):
            kwargs["gt" if r.low_open else "ge"] = r.low if float in arg.types else int(r.low)
        if not math.isinf(r.high):
            kwargs["lt" if r.high_open else "le"] = r.high if float in arg.types else int(r.high)
    if float in arg.types:
        kwargs["allow_inf_nan"] = False
    if len(members) == 1:
        ann: Any = members[0]
    else:  # strict applies to each member of a union (e.g. a layer preset name or a list)
        kwargs.pop("strict")
        ann = Union[tuple(Annotated[m, Strict()] for m in members)]  # noqa: UP007
    if arg.choices is not None:
        ann = Annotated[ann, AfterValidator(_one_of(arg.choices))]
    if optional:
        ann = ann | None
    if arg.required and arg.name not in CONFIG_DEFAULTS:
        raise TypeError(f"{arg.name!r} has no default; add one to CONFIG_DEFAULTS")
    return ann, Field(CONFIG_DEFAULTS.get(arg.name, arg.default), **kwargs)


@functools.cache
def model_config_class(kind: str) -> type[ModelConfig]:
    """The config schema of model kind ``kind``, derived from its constructor.

    Examples
    --------
    >>> from brainlike.experiments import model_config_class
    >>> cfg = model_config_class("lstm")(type="lstm", n_hidden=8)
    >>> cfg.n_hidden, cfg.forget_bias, cfg.seed
    (8, 0.0, 0)
    """
    cls = models.model_class(kind)
    feedforward = kind in models.names("feedforward")
    from_task = FEEDFORWARD_FROM_TASK if feedforward else FROM_TASK
    fields: dict[str, Any] = {"type": (Literal[kind], kind)}
    for name, arg in models.arguments(kind).items():
        if name in from_task:
            continue
        spec = _field(arg)
        if spec is not None:
            fields[name] = spec

    def _buildable(self: ModelConfig) -> ModelConfig:
        if feedforward:  # checked against the task's image shape (check_task)
            return self
        try:
            cls.check_arguments(**self.arguments())
        except TypeError as e:
            raise ValueError(str(e)) from None
        return self

    return create_model(
        f"{cls.__name__}Config", __base__=FeedforwardModelConfig if feedforward else ModelConfig,
        __module__=__name__,
        __doc__=f"The model section for ``type: {kind}`` (:class:`brainlike.models.{cls.__name__}`).",
        __validators__={"_buildable": model_validator(mode="after")(_buildable)},
        **fields,
    )


def _dispatch(value: Any, handler: Any) -> ModelConfig:
    """Validate a ``model:`` mapping with the schema of its ``type`` (default ``rate``)."""
    if isinstance(value, ModelConfig):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a mapping with a 'type' (one of {models.names()})")
    kind = value.get("type", "rate")
    kind = ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if kind not in _kinds():
        raise ValueError(f"type must be one of {_kinds()} (got {value.get('type')!r})")
    return model_config_class(kind).model_validate({**value, "type": kind})


def _kinds() -> list[str]:
    """Recurrent kinds (trial tasks), then feedforward ones (image tasks)."""
    return [*models.names(), *models.names("feedforward")]


def _union() -> Any:
    classes = tuple(model_config_class(k) for k in _kinds())
    return Annotated[Union[classes], WrapValidator(_dispatch)]  # noqa: UP007


#: The annotation of ``RunConfig.model``: any registered kind's section, chosen by ``type``.
AnyModelConfig = _union()


def default_model_config() -> ModelConfig:
    """``type: rate`` with every default."""
    return model_config_class("rate")()
