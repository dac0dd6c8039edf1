"""`flowsaver diff A B`: what differs between two sets of tensors, in any two formats.

Reports tensors only in A, only in B, dtype or shape changes, and value changes with the
largest absolute and relative difference. Values are equal when, element by element,
``|a - b| <= atol + rtol * |b|`` (NumPy's isclose; NaN equals NaN, and +-inf equals
itself); with the default rtol = atol = 0 that is exact equality. The relative difference
is ``|a - b| / |b|`` (infinite where b is 0 and a is not). Tensors of different dtypes
but one shape are compared as float64 (complex128), so a float16 copy of a checkpoint
shows its rounding error.

Exit codes: 0 equal, 1 different, 2 error. Tensors are read one pair at a time.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np

CHUNK = 1 << 20   # elements compared at a time, to bound the float64 temporaries
EXIT_EQUAL, EXIT_DIFFERENT = 0, 1


@dataclasses.dataclass(frozen=True)
class TensorDiff:
    name: str
    dtype_a: str
    dtype_b: str
    shape_a: tuple[int, ...]
    shape_b: tuple[int, ...]
    mismatched: int | None     # elements outside the tolerance; None: not comparable
    max_abs: float | None
    max_rel: float | None

    @property
    def what(self) -> str:
        parts = [w for w, on in (("dtype", self.dtype_a != self.dtype_b),
                                 ("shape", self.shape_a != self.shape_b),
                                 ("values", bool(self.mismatched))) if on]
        return ",".join(parts) or "-"


@dataclasses.dataclass(frozen=True)
class DiffResult:
    a: str
    b: str
    kind_a: str
    kind_b: str
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    changed: tuple[TensorDiff, ...]
    same: int

    @property
    def equal(self) -> bool:
        return not (self.only_a or self.only_b or self.changed)


def _numeric(array: np.ndarray) -> bool:
    return array.dtype != object and array.dtype.kind not in "SUV"


def compare_values(a: np.ndarray, b: np.ndarray, rtol: float, atol: float):
    """``(mismatched elements, max |a-b|, max |a-b|/|b|)`` of two arrays of one shape;
    for strings, the max differences are None."""
    if not (_numeric(a) and _numeric(b)):
        flat_a, flat_b = a.reshape(-1), b.reshape(-1)
        return int(sum(x != y for x, y in zip(flat_a, flat_b))), None, None
    wide = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(b) else np.float64
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    mismatched, max_abs, max_rel = 0, 0.0, 0.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for start in range(0, flat_a.size, CHUNK):
            x = flat_a[start:start + CHUNK].astype(wide)
            y = flat_b[start:start + CHUNK].astype(wide)
            close = np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True)
            if rtol == 0 and atol == 0:   # exact, also beyond float64's 53 bits
                close &= (flat_a[start:start + CHUNK] == flat_b[start:start + CHUNK]) | \
                    (np.isnan(x) & np.isnan(y))
            diff = np.abs(x - y)
            diff[~np.isfinite(diff)] = np.inf   # one NaN, or inf against a number
            diff[close] = np.where(np.isfinite(diff[close]), diff[close], 0.0)
            rel = np.where(diff == 0, 0.0, np.where(y != 0, diff / np.abs(y), np.inf))
            rel[np.isnan(rel)] = np.inf   # against a NaN in B
            mismatched += int(np.count_nonzero(~close))
            if diff.size:
                max_abs = max(max_abs, float(diff.max()))
                max_rel = max(max_rel, float(rel.max()))
    return mismatched, max_abs, max_rel


def _matches(name: str, include, exclude) -> bool:
    return (not include or any(p.search(name) for p in include)) and \
        not any(p.search(name) for p in exclude)


def diff(path_a, path_b, rtol: float = 0.0, atol: float = 0.0, include=(), exclude=(),
         names: str = "stored") -> DiffResult:
    """Compare every tensor of two sources (any formats flowsaver reads)."""
    from flowsaver.cli.targets import open_any
    with open_any(path_a, names=names) as a, open_any(path_b, names=names) as b:
        specs_a = {s.name: s for s in a.specs() if _matches(s.name, include, exclude)}
        specs_b = {s.name: s for s in b.specs() if _matches(s.name, include, exclude)}
        changed, same = [], 0
        for name in sorted(specs_a.keys() & specs_b.keys()):
            sa, sb = specs_a[name], specs_b[name]
            mismatched = max_abs = max_rel = None
            if sa.shape == sb.shape:
                mismatched, max_abs, max_rel = compare_values(a.read(name), b.read(name),
                                                              rtol, atol)
            item = TensorDiff(name, sa.dtype_label, sb.dtype_label, sa.shape, sb.shape,
                              mismatched, max_abs, max_rel)
            if item.what == "-":
                same += 1
            else:
                changed.append(item)
        return DiffResult(str(path_a), str(path_b), a.kind, b.kind,
                          tuple(sorted(specs_a.keys() - specs_b.keys())),
                          tuple(sorted(specs_b.keys() - specs_a.keys())),
                          tuple(changed), same)


# --- output ----------------------------------------------------------------------------------

def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def _json_num(x: float | None):
    if x is None or np.isfinite(x):
        return x
    return "inf"


def result_json(r: DiffResult) -> dict:
    return {
        "a": r.a, "b": r.b, "kind_a": r.kind_a, "kind_b": r.kind_b, "equal": r.equal,
        "only_in_a": list(r.only_a), "only_in_b": list(r.only_b), "same": r.same,
        "changed": [{"name": d.name, "what": d.what.split(","),
                     "dtype_a": d.dtype_a, "dtype_b": d.dtype_b,
                     "shape_a": list(d.shape_a), "shape_b": list(d.shape_b),
                     "mismatched": d.mismatched, "max_abs_diff": _json_num(d.max_abs),
                     "max_rel_diff": _json_num(d.max_rel)} for d in r.changed],
    }


def render_text(r: DiffResult) -> str:
    from flowsaver.cli.common import display_name, plural
    from flowsaver.cli.inspect_cmd import format_table

    lines = [f"A: {r.a} ({r.kind_a})", f"B: {r.b} ({r.kind_b})"]
    for label, names in (("only in A", r.only_a), ("only in B", r.only_b)):
        if names:
            lines.append(f"{label} ({len(names)}):")
            lines += [f"  {display_name(n)}" for n in names]
    if r.changed:
        rows = []
        for d in r.changed:
            shapes = (f"{list(d.shape_a)} -> {list(d.shape_b)}" if d.shape_a != d.shape_b
                      else str(list(d.shape_a)))
            dtypes = d.dtype_a if d.dtype_a == d.dtype_b else f"{d.dtype_a} -> {d.dtype_b}"
            rows.append([display_name(d.name), d.what, dtypes, shapes,
                         "-" if d.mismatched is None else str(d.mismatched),
                         _num(d.max_abs), _num(d.max_rel)])
        lines.append(f"changed ({len(r.changed)}):")
        header = ["name", "what", "dtype", "shape", "mismatched", "max abs diff",
                  "max rel diff"]
        lines += ["  " + row for row in format_table(header, rows, right={4, 5, 6})]
    verdict = "equal" if r.equal else "different"
    lines.append(f"{verdict}: {plural(r.same, 'tensor')} the same, {len(r.changed)} changed, "
                 f"{len(r.only_a)} only in A, {len(r.only_b)} only in B")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from flowsaver.cli.common import dump_json
    from flowsaver.cli.convert import ConvertOptions

    patterns = ConvertOptions.make(include=args.include, exclude=args.exclude)
    result = diff(args.a, args.b, args.rtol, args.atol, patterns.include, patterns.exclude,
                  args.names)
    sys.stdout.write(dump_json(result_json(result)) if args.json else render_text(result))
    return EXIT_EQUAL if result.equal else EXIT_DIFFERENT


def _tolerance(text: str) -> float:
    value = float(text)
    if not value >= 0:   # also refuses NaN
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative number")
    return value


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "diff", parents=parents, help="compare the tensors of two checkpoints or files",
        description="Compare two sets of tensors (any formats convert reads, also two "
                    "different ones): tensors only in A or only in B, dtype and shape "
                    "changes, and value changes with the largest absolute and relative "
                    "difference. Exit code 0 when equal, 1 when different, 2 on error.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--rtol", type=_tolerance, default=0.0,
                   help="relative tolerance: equal when |a-b| <= atol + rtol*|b| "
                        "(default 0)")
    p.add_argument("--atol", type=_tolerance, default=0.0,
                   help="absolute tolerance (default 0: values must be identical)")
    p.add_argument("--include", action="append", default=[], metavar="REGEX",
                   help="compare only tensors matching REGEX (repeatable)")
    p.add_argument("--exclude", action="append", default=[], metavar="REGEX",
                   help="ignore tensors matching REGEX, e.g. optimizer slots (repeatable)")
    p.add_argument("--names", choices=("stored", "path", "variable"), default="stored",
                   help="names of TF2 object-based checkpoints (as for convert)")
    p.add_argument("--json", action="store_true",
                   help="one JSON document; infinite differences as the string \"inf\"")
    p.set_defaults(run=run)
