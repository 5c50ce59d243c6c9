"""Figures: every theory and simulation figure regenerates from one call.

A figure is one file ``figures/fig_<slug>.py`` in the source tree, next to the
package, with

- ``compute(quick) -> data``: a flat dict of NumPy arrays, floats, ints and
  strings (the expensive part: theory evaluations, reading the committed result
  stores);
- ``plot(data) -> matplotlib.figure.Figure``: styling only, no numerics beyond
  rearranging ``data``;
- ``main()``: runs this one figure through :func:`figure_main`;

and optionally ``parameters(quick) -> dict`` (recorded in the provenance and
part of the cache key), ``SEED`` and ``INPUTS`` (repository-relative paths of
the committed files it reads; their SHA-256 is recorded and part of the cache
key).  Adding a figure is adding one such file.

:func:`run_figures` computes (or reuses) the data, plots it under the shared
style ``figures/capacity.mplstyle`` and writes, in ``outdir``::

    <slug>.png               150 dpi
    <slug>.pdf               vector; no creation date (byte-stable reruns)
    <slug>.data.npz          the data (or <slug>.data.json if it is not all arrays)
    <slug>.provenance.json   slug, quick, parameters, seed, inputs (sha256),
                             package version, git commit, date, compute seconds

The data are reused whenever the provenance matches (same ``quick``,
``parameters`` and input hashes), so restyling never recomputes;
``recompute=True`` forces it.  The figure is always drawn from the data as
read back from the cache file, so a cached rerun draws exactly the same figure.

No pyplot: figures are :class:`matplotlib.figure.Figure` objects saved
directly (no GUI backend is touched, no global figure state); the style is
applied with ``matplotlib.style.context(..., after_reset=True)``, so a user's
matplotlibrc does not change the output.
"""
import ast
import datetime
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .results import Result, json_default

__all__ = [
    "FIGURES_DIR",
    "REPO_ROOT",
    "STYLE_FILE",
    "FigureInfo",
    "figure_main",
    "figures_dir",
    "list_figures",
    "load_figure",
    "panel_label",
    "read_store",
    "repo_file",
    "run_figures",
]

#: The repository's root: the folder holding the ``capacity`` package.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: The figure scripts (``fig_<slug>.py``), the shared style and the README.
FIGURES_DIR = REPO_ROOT / "figures"
#: The shared Matplotlib style.
STYLE_FILE = FIGURES_DIR / "capacity.mplstyle"

DPI = 150
_PREFIX = "fig_"
_MODULES = {}  # slug -> loaded module (one per process, so tests can monkeypatch)


@dataclass(frozen=True)
class FigureInfo(Result):
    """One figure script: its slug, its file and the first line of its docstring."""

    slug: str
    path: Path
    description: str


def figures_dir():
    """The ``figures/`` folder of the source tree; ``FileNotFoundError`` naming the path if absent.

    The figure scripts ship with the repository, not with a wheel: use a git
    checkout installed in editable mode (``pip install -e .``).
    """
    if not (FIGURES_DIR.is_dir() and STYLE_FILE.is_file()):
        raise FileNotFoundError(
            f"figures folder not found at {FIGURES_DIR} (expected fig_<slug>.py files and capacity.mplstyle); "
            "the figure scripts live in the source tree: clone the repository and `pip install -e .`"
        )
    return FIGURES_DIR


def repo_file(relpath):
    """The committed file ``relpath`` (relative to the repository root); ``FileNotFoundError`` if absent."""
    path = REPO_ROOT / relpath
    if not path.is_file():
        raise FileNotFoundError(f"committed input {relpath!r} not found at {path}; use a full git checkout")
    return path


def list_figures():
    """The available figures, ``{slug: FigureInfo}``, sorted by slug.

    The description is the first line of each script's docstring (read with
    :mod:`ast`; nothing is imported).

    Examples
    --------
    >>> figs = list_figures()
    >>> "pc_scaling" in figs and figs["pc_scaling"].path.name
    'fig_pc_scaling.py'
    """
    folder = figures_dir()
    out = {}
    for path in sorted(folder.glob(f"{_PREFIX}*.py")):
        slug = path.stem[len(_PREFIX):]
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        out[slug] = FigureInfo(slug, path, doc.strip().splitlines()[0] if doc.strip() else "")
    return out


def _check_slugs(slugs, available):
    if slugs is None:
        return list(available)
    if isinstance(slugs, str):
        slugs = [slugs]
    try:
        slugs = list(slugs)
    except TypeError:
        raise TypeError(f"`slugs` must be None, a str or an iterable of str; got {slugs!r}") from None
    out = []
    for s in slugs:
        if not isinstance(s, str):
            raise TypeError(f"`slugs` must contain str; got {s!r} of type {type(s).__name__}")
        if s not in available:
            raise ValueError(f"unknown figure {s!r}; available: {', '.join(available)}")
        if s not in out:
            out.append(s)
    return out


def load_figure(slug):
    """The module of ``figures/fig_<slug>.py``, imported by path (once per process)."""
    figs = list_figures()
    (slug,) = _check_slugs([slug], figs)
    if slug not in _MODULES:
        path = figs[slug].path
        spec = importlib.util.spec_from_file_location(f"capacity_figures.{_PREFIX}{slug}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in ("compute", "plot"):
            if not callable(getattr(module, name, None)):
                raise TypeError(f"{path} must define {name}(); it does not")
        _MODULES[slug] = module
    return _MODULES[slug]


# ----------------------------------------------------------------------------- data cache
def _check_data(slug, data):
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise TypeError(f"figure {slug!r}: compute() must return a dict with str keys; got {type(data).__name__}")


def _save_data(slug, data, outdir):
    """Write ``data`` as ``<slug>.data.npz`` if every value is a non-object array, else ``<slug>.data.json``."""
    _check_data(slug, data)
    arrays = {}
    for k, v in data.items():
        try:
            arrays[k] = np.asarray(v)
        except ValueError:  # ragged
            arrays = None
            break
    npz, js = outdir / f"{slug}.data.npz", outdir / f"{slug}.data.json"
    if arrays is not None and all(a.dtype != object for a in arrays.values()):
        with open(npz, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        js.unlink(missing_ok=True)
        return npz
    try:
        text = json.dumps(data, default=json_default, allow_nan=True, indent=1, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"figure {slug!r}: compute() returned data that is neither arrays nor JSON: {exc}") from None
    js.write_text(text + "\n", encoding="utf-8")
    npz.unlink(missing_ok=True)
    return js


def _load_data(path):
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            return {k: (f[k].item() if f[k].ndim == 0 else f[k]) for k in f.files}
    data = json.loads(path.read_text(encoding="utf-8"))
    for k, v in data.items():
        if isinstance(v, list):
            try:
                data[k] = np.asarray(v)
            except ValueError:  # ragged: stays a list
                pass
    return data


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _git(*args):
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10,
                             check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _git_state():
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def _json_roundtrip(obj):
    return json.loads(json.dumps(obj, default=json_default, allow_nan=True, sort_keys=True))


def _figure_meta(module, quick):
    params = module.parameters(quick) if callable(getattr(module, "parameters", None)) else {}
    inputs = {rel: _sha256(repo_file(rel)) for rel in getattr(module, "INPUTS", ())}
    return _json_roundtrip(params), inputs, getattr(module, "SEED", None)


def _cache_ok(prov_path, quick, params, inputs):
    """The data file named by a matching provenance sidecar, or None."""
    try:
        prov = json.loads(prov_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if prov.get("quick") != quick or prov.get("parameters") != params or prov.get("inputs") != inputs:
        return None
    data_path = prov_path.parent / str(prov.get("data_file", ""))
    return data_path if prov.get("data_file") and data_path.is_file() else None


# ----------------------------------------------------------------------------- drawing
def _style():
    import matplotlib.style

    return matplotlib.style.context(str(STYLE_FILE), after_reset=True)


def _render(slug, module, data, outdir):
    from matplotlib.figure import Figure

    with _style():
        fig = module.plot(data)
        if not isinstance(fig, Figure):
            raise TypeError(f"figure {slug!r}: plot() must return a matplotlib Figure; got {type(fig).__name__}")
        png, pdf = outdir / f"{slug}.png", outdir / f"{slug}.pdf"
        fig.savefig(png, dpi=DPI, metadata={"Software": None})
        fig.savefig(pdf, metadata={"CreationDate": None, "Creator": None, "Producer": None})
    return [png, pdf]


def panel_label(ax, text, *, loc="upper left"):
    """Write what a panel shows inside its corner (the figures use no titles)."""
    from matplotlib.offsetbox import AnchoredText

    box = AnchoredText(text, loc=loc, frameon=False, pad=0.1, borderpad=0.4, prop={"fontweight": "bold"})
    ax.add_artist(box)
    return box


def read_store(relpath, *, experiment=None):
    """``[(task, result), ...]`` from a committed results store (``relpath`` from the repository root)."""
    from .sweeps import ResultsStore

    with ResultsStore(repo_file(relpath)) as store:
        return list(store.items(experiment=experiment))


# ----------------------------------------------------------------------------- driver
class _Progress:
    def __init__(self, progress, total):
        self.callback = self.bar = None
        self.done, self.total = 0, total
        if callable(progress):
            self.callback = progress
        elif progress is True or (progress is None and _stderr_is_tty()):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="figure", desc="figures", file=sys.stderr)

    def describe(self, text):
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def step(self):
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _stderr_is_tty():
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def run_figures(slugs=None, *, quick=False, outdir=None, recompute=False, progress=None):
    """Compute (or reuse) and draw figures; write PNG, PDF, data and provenance.

    Parameters
    ----------
    slugs : str, iterable of str or None
        Figures to make (see :func:`list_figures`); None: all.
    quick : bool
        Fewer points (seconds per figure), for tests and previews.  The cache
        remembers the mode: a quick cache is never reused for a full run.
    outdir : str or os.PathLike, optional
        Output folder, created if needed; default ``figures/out`` of the
        repository (ignored by git).
    recompute : bool
        Recompute the data even if a matching cache exists.
    progress : None, bool or callable
        ``progress(done, total)`` after each figure; True: a tqdm bar on
        stderr; None: a bar only if stderr is a terminal; False: nothing.

    Returns
    -------
    list of pathlib.Path
        The files written, per figure: PNG, PDF, then the data file and the
        provenance sidecar when the data were (re)computed.

    Raises
    ------
    ValueError
        For an unknown slug (the message lists the available ones).
    FileNotFoundError
        If the figures folder or a committed input is missing.
    """
    figs = list_figures()
    slugs = _check_slugs(slugs, figs)
    if not isinstance(quick, bool):
        raise TypeError(f"`quick` must be a bool; got {quick!r}")
    if not isinstance(recompute, bool):
        raise TypeError(f"`recompute` must be a bool; got {recompute!r}")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"`progress` must be None, a bool or a callable(done, total); got {progress!r}")
    outdir = FIGURES_DIR / "out" if outdir is None else Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    bar = _Progress(progress, len(slugs))
    try:
        for slug in slugs:
            bar.describe(slug)
            module = load_figure(slug)
            params, inputs, seed = _figure_meta(module, quick)
            prov_path = outdir / f"{slug}.provenance.json"
            data_path = None if recompute else _cache_ok(prov_path, quick, params, inputs)
            new = []
            if data_path is None:
                t0 = time.perf_counter()
                data = module.compute(quick)
                seconds = time.perf_counter() - t0
                data_path = _save_data(slug, data, outdir)
                commit, dirty = _git_state()
                prov = {
                    "slug": slug,
                    "description": figs[slug].description,
                    "script": str(figs[slug].path.relative_to(REPO_ROOT)),
                    "quick": quick,
                    "parameters": params,
                    "seed": seed,
                    "inputs": inputs,
                    "data_file": data_path.name,
                    "package_version": __version__,
                    "git_commit": commit,
                    "git_dirty": dirty,
                    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "compute_seconds": round(seconds, 3),
                    "python": sys.version.split()[0],
                    "numpy": np.__version__,
                }
                prov_path.write_text(json.dumps(_json_roundtrip(prov), indent=1, allow_nan=True) + "\n",
                                     encoding="utf-8")
                new = [data_path, prov_path]
            written += _render(slug, module, _load_data(data_path), outdir) + new
            bar.step()
    finally:
        bar.close()
    return written


def figure_main(slug, argv=None):
    """Command line of one figure script: ``python figures/fig_<slug>.py [--quick] [--outdir DIR] [--recompute]``."""
    import argparse

    info = list_figures()[_check_slugs([slug], list_figures())[0]]
    ap = argparse.ArgumentParser(prog=info.path.name, description=info.description)
    ap.add_argument("--quick", action="store_true", help="fewer points (seconds)")
    ap.add_argument("--outdir", default=None, help=f"output folder (default {FIGURES_DIR / 'out'})")
    ap.add_argument("--recompute", action="store_true", help="ignore cached data")
    args = ap.parse_args(argv)
    for path in run_figures([slug], quick=args.quick, outdir=args.outdir, recompute=args.recompute):
        print(path)
    return 0

