"""Converting tensors between formats, in bounded memory: ``flowsaver.convert()`` and the
``flowsaver convert`` command.

A conversion is planned from what the source lists (names, dtypes, shapes; no tensor
data), then carried out one tensor at a time: read it whole, then hand the target writer
C-order pieces of at most PIECE_BYTES, cast and transposed piece by piece. Memory thus
peaks at about the largest tensor plus a few pieces, whatever the checkpoint's size
(PyTorch targets excepted: ``torch.save`` pickles the whole dict at once).

Every regular expression is matched with ``re.search`` against the tensor's name in the
source (after ``names=`` mapping for TF2 checkpoints); renames apply in order, each to
the result of the one before.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Callable, Iterable, Iterator

import numpy as np

from flowsaver import errors
from flowsaver.cli.progress import Progress
from flowsaver.cli.targets import open_any, sink_class, target_kind
from flowsaver.format import dtypes
from flowsaver.format.tensor_sources import TensorSpec

PIECE_BYTES = 16 << 20        # the most a cast or transposed piece adds to memory
CAST_TARGETS = ("float16", "bfloat16", "float32", "float64")
CASTABLE = frozenset(CAST_TARGETS)   # --dtype changes these and leaves the rest alone
CONVERTED_BY = "flowsaver"
SHOWN_PROBLEMS = 10


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("flowsaver")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclasses.dataclass(frozen=True)
class ConvertOptions:
    """What to convert and how; ``make`` accepts the loose forms the API allows."""

    to: str | None = None
    include: tuple[re.Pattern, ...] = ()
    exclude: tuple[re.Pattern, ...] = ()
    rename: tuple[tuple[re.Pattern, str], ...] = ()
    dtype: str | None = None
    transpose: tuple[tuple[re.Pattern, tuple[int, ...] | None], ...] = ()
    skip_unsupported: bool = False
    names: str = "stored"
    metadata: tuple[tuple[str, str], ...] = ()

    @classmethod
    def make(cls, to=None, include=None, exclude=None, rename=None, dtype=None,
             transpose=None, skip_unsupported=False, names="stored",
             metadata=None) -> "ConvertOptions":
        """Options from API arguments: a regex or list of them for include/exclude;
        rename as ``{regex: replacement}``, pairs, or "REGEX=REPLACEMENT" strings;
        transpose as regexes, "REGEX=2,3,1,0" strings or ``(regex, perm)`` pairs."""
        if dtype is not None and dtype not in CAST_TARGETS:
            raise errors.InvalidArgumentError(f"dtype {dtype!r}: use one of "
                                              f"{', '.join(CAST_TARGETS)}")
        return cls(to=to, include=_patterns(include, "include"),
                   exclude=_patterns(exclude, "exclude"),
                   rename=tuple((_compile(p, "rename"), r) for p, r in _pairs(rename)),
                   dtype=dtype, transpose=_transposes(transpose),
                   skip_unsupported=bool(skip_unsupported), names=names,
                   metadata=tuple((str(k), str(v)) for k, v in dict(metadata or {}).items()))


def _compile(pattern, what: str) -> re.Pattern:
    if isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise errors.InvalidArgumentError(f"{what} pattern {pattern!r}: {exc}") from None


def _patterns(value, what: str) -> tuple[re.Pattern, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, re.Pattern)) else list(value)
    return tuple(_compile(p, what) for p in items)


def split_rule(text: str, what: str) -> tuple[str, str]:
    """"REGEX=VALUE" split at its last "=" (a regex may hold "=", as in "(?=...)")."""
    pattern, sep, value = text.rpartition("=")
    if not sep or not pattern:
        raise errors.InvalidArgumentError(f"{what} {text!r}: expected REGEX=VALUE")
    return pattern, value


def _pairs(value) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    items = [value] if isinstance(value, str) else list(value)
    return [split_rule(v, "rename") if isinstance(v, str) else tuple(v) for v in items]


def _transposes(value):
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, re.Pattern)) else list(value)
    out = []
    for item in items:
        pattern, perm = item, None
        if isinstance(item, str) and re.search(r"=\d+(,\d+)*$", item):
            pattern, spec = split_rule(item, "transpose")
            perm = tuple(int(x) for x in spec.split(","))
        elif isinstance(item, tuple):
            pattern, perm = item[0], None if item[1] is None else tuple(item[1])
        out.append((_compile(pattern, "transpose"), perm))
    return tuple(out)


# --- the plan --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Planned:
    """One tensor to write: where it comes from and what it becomes."""

    spec: TensorSpec
    name: str
    dtype: dtypes.DType
    shape: tuple[int, ...]
    perm: tuple[int, ...] | None   # axes order of the written tensor; None: unchanged

    @property
    def nbytes(self) -> int:
        return self.spec.nbytes or 0


@dataclasses.dataclass(frozen=True)
class Plan:
    tensors: tuple[Planned, ...]
    skipped: tuple[tuple[str, str], ...]   # (source name, why), with skip_unsupported
    excluded: tuple[str, ...]              # left out by include / exclude


def _perm_for(spec: TensorSpec, options: ConvertOptions):
    for pattern, perm in options.transpose:
        if not pattern.search(spec.name):
            continue
        rank = len(spec.shape)
        if perm is None:
            return tuple(reversed(range(rank))) if rank > 1 else None
        if sorted(perm) != list(range(rank)):
            raise errors.InvalidArgumentError(
                f"tensor {spec.name!r} has rank {rank}; transpose order {list(perm)} is "
                f"not a permutation of its axes")
        return perm
    return None


def make_plan(specs: Iterable[TensorSpec], options: ConvertOptions, supports: Callable,
              target: str) -> Plan:
    """Which tensors go where, as what; unsupported dtypes raise unless skipped.

    Raises:
      InvalidArgumentError: a tensor the target cannot hold (without skip_unsupported),
        two tensors renamed to one name, or a bad transpose order.
    """
    planned, skipped, excluded, problems = [], [], [], []
    names: dict[str, str] = {}
    for spec in specs:
        if (options.include and not any(p.search(spec.name) for p in options.include)) \
                or any(p.search(spec.name) for p in options.exclude):
            excluded.append(spec.name)
            continue
        dtype = spec.dtype
        if dtype is not None and options.dtype and dtype.name in CASTABLE:
            dtype = dtypes.BY_NAME[options.dtype]
        if dtype is None or not supports(dtype):
            why = f"{spec.dtype_label} cannot be stored in {target}"
            (skipped if options.skip_unsupported else problems).append((spec.name, why))
            continue
        name = spec.name
        for pattern, replacement in options.rename:
            name = pattern.sub(replacement, name)
        if not name:
            raise errors.InvalidArgumentError(f"renaming {spec.name!r} leaves no name")
        if name in names:
            raise errors.InvalidArgumentError(f"{names[name]!r} and {spec.name!r} would "
                                              f"both be written as {name!r}")
        names[name] = spec.name
        perm = _perm_for(spec, options)
        shape = spec.shape if perm is None else tuple(spec.shape[i] for i in perm)
        planned.append(Planned(spec, name, dtype, shape, perm))
    if problems:
        listed = "; ".join(f"{n!r} ({why})" for n, why in problems[:SHOWN_PROBLEMS])
        more = f"; and {len(problems) - SHOWN_PROBLEMS} more" \
            if len(problems) > SHOWN_PROBLEMS else ""
        raise errors.InvalidArgumentError(
            f"{len(problems)} tensor(s) cannot be converted: {listed}{more}. Leave them out "
            f"with --exclude, or skip every such tensor with --skip-unsupported")
    return Plan(tuple(planned), tuple(skipped), tuple(excluded))


def pieces(array: np.ndarray, planned: Planned) -> Iterator[np.ndarray]:
    """The written tensor's C-order contents, cast and transposed a piece at a time."""
    target = planned.dtype
    if target.kind != "memcpy":
        yield array
        return
    view = array if planned.perm is None else array.transpose(planned.perm)
    if view.dtype == target.numpy and view.flags.c_contiguous:
        yield view
        return
    if view.ndim == 0 or view.size == 0:
        yield np.array(view, dtype=target.numpy)
        return
    if view.flags.c_contiguous:
        view = view.reshape(-1)
    row_bytes = (view.size // len(view)) * max(view.dtype.itemsize, target.numpy.itemsize)
    step = max(1, PIECE_BYTES // row_bytes)
    with np.errstate(over="ignore", invalid="ignore"):   # float16 overflow becomes inf
        for start in range(0, len(view), step):
            yield np.array(view[start:start + step], dtype=target.numpy, order="C")


# --- running ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ConvertResult:
    source: str
    source_kind: str
    target: str
    target_kind: str
    written: tuple[Planned, ...]
    skipped: tuple[tuple[str, str], ...]
    excluded: tuple[str, ...]

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.written)


def source_metadata(src: str, kind: str, extra) -> dict:
    """What a safetensors header records about where its tensors came from."""
    meta = {"source": os.fspath(src), "source_format": kind,
            "converted_by": f"{CONVERTED_BY} {_version()}"}
    meta.update(dict(extra))
    return meta


def run(src, dst, options: ConvertOptions, progress: Progress | None = None) -> ConvertResult:
    """Convert ``src`` into ``dst`` as ``options`` say, reporting to ``progress``."""
    progress = progress or Progress(enabled=False)
    with open_any(src, names=options.names) as source:
        kind = target_kind(dst, options.to)
        sink_cls = sink_class(kind)
        plan = make_plan(source.specs(), options, sink_cls.supports, sink_cls.kind)
        progress.start(sum(p.nbytes for p in plan.tensors))
        metadata = source_metadata(src, source.kind, options.metadata)
        sink = sink_cls(dst, [(p.name, p.dtype, p.shape) for p in plan.tensors], metadata)
        by_name = {p.name: p for p in plan.tensors}
        try:
            for name in sink.order:
                planned = by_name[name]
                array = source.read(planned.spec.name)
                if tuple(array.shape) != planned.spec.shape:
                    raise errors.DataLossError(
                        f"{source.path}: tensor {planned.spec.name!r} has shape "
                        f"{list(array.shape)}, not the {list(planned.spec.shape)} its index "
                        f"lists")
                sink.write(name, planned.dtype, planned.shape, pieces(array, planned))
                del array
                progress.update(planned.nbytes, name)
            path = sink.finish()
        except BaseException:
            sink.abort()
            raise
        finally:
            progress.close()
        return ConvertResult(os.fspath(src), source.kind, path, sink_cls.kind,
                             plan.tensors, plan.skipped, plan.excluded)


# --- the Python API (re-exported by flowsaver/__init__.py) -----------------------------------

def convert(src, dst, *, to=None, include=None, exclude=None, rename=None, dtype=None,
            transpose=None, skip_unsupported=False, names="stored", metadata=None,
            progress: bool = False) -> ConvertResult:
    """Convert the tensors of ``src`` (any checkpoint, SavedModel, .safetensors, .npz or
    PyTorch file) into ``dst``: a V2 checkpoint prefix, ``.safetensors``, ``.npz`` or a
    PyTorch ``.pt``/``.pth``/``.bin`` (by suffix, or ``to=``).

    Args:
      include, exclude: regexes (``re.search`` on source names) of tensors to keep / drop.
      rename: ``{regex: replacement}`` or "REGEX=REPLACEMENT" strings, applied in order.
      dtype: "float16", "bfloat16", "float32" or "float64" for every floating tensor.
      transpose: regexes of tensors whose axes are reversed (a Dense kernel for PyTorch),
        or "REGEX=3,2,0,1" for another order.
      skip_unsupported: leave out tensors the target cannot hold instead of failing.
      names: for TF2 checkpoints: "stored" keys, object "path"s or "variable" names.
      metadata: extra ``{key: value}`` strings for a safetensors header.
      progress: show a progress bar on stderr (when it is a terminal and the job is long).

    Returns:
      A ConvertResult listing what was written, skipped and excluded.

    Raises:
      InvalidArgumentError: unsupported tensors, clashing names, bad options.
      MissingExtraError (an ImportError): a PyTorch file without torch installed.

    Example:
      >>> flowsaver.convert("runs/model.ckpt-1000", "model.safetensors",
      ...                   exclude=["Adam", "global_step"], dtype="float16")
    """
    options = ConvertOptions.make(to, include, exclude, rename, dtype, transpose,
                                  skip_unsupported, names, metadata)
    return run(src, dst, options, Progress(enabled=progress))


def iter_tensors(src, names: str = "stored") -> Iterator[tuple[str, np.ndarray]]:
    """``(name, array)`` for every tensor of ``src``, each read only when reached.

    Example:
      >>> for name, value in flowsaver.iter_tensors("model.ckpt-1000"):
      ...     print(name, value.shape)
    """
    with open_any(src, names=names) as source:
        yield from source


def save_tensors(dst, tensors: dict, *, to=None, metadata=None) -> str:
    """Write ``{name: array}`` to ``dst``: a V2 checkpoint (TensorFlow reads it) unless
    the suffix or ``to`` says .safetensors, .npz or PyTorch; returns the path written."""
    arrays = {}
    specs = []
    for name in sorted(tensors):
        value = tensors[name]
        if isinstance(value, str):
            value = value.encode("utf-8")
        array = np.array(value, dtype=object) if isinstance(value, bytes) \
            else np.asarray(value)
        dtype = dtypes.from_numpy(array.dtype)
        arrays[name] = array
        specs.append((name, dtype, array.shape))
    sink_cls = sink_class(target_kind(dst, to))
    for name, dtype, _ in specs:
        if not sink_cls.supports(dtype):
            raise errors.InvalidArgumentError(f"tensor {name!r}: {sink_cls.kind} cannot hold "
                                              f"dtype {dtype.name}")
    sink = sink_cls(dst, specs, dict(metadata or {}))
    try:
        by_name = {spec[0]: spec for spec in specs}
        for name in sink.order:
            _, dtype, shape = by_name[name]
            sink.write(name, dtype, shape, [arrays[name]])
        return sink.finish()
    except BaseException:
        sink.abort()
        raise
