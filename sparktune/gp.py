"""Gaussian-process Bayesian optimisation: ``gp.suggest``.

The model is a GP with a Matérn-5/2 kernel, one length scale per coordinate (ARD), on the
unit-cube encoding of :mod:`sparktune._gp_space` (log parameters in log space, choices one-hot,
inactive conditional parameters at a fixed value next to their parent's indicators). Losses are
standardised; hyperparameters maximise the marginal likelihood times log-normal priors
(L-BFGS-B, several starts; ``sparktune._gp.DEFAULT_PRIOR``): length scales around 0.6 of the
cube's side whatever the dimension, so that a few dozen trials in one basin do not make whole
coordinates look irrelevant and the search keeps looking elsewhere, and a low, wide noise prior,
so that deterministic objectives are fitted to their last digits. Each proposal maximises log
expected improvement: ``n_candidates`` draws from the prior plus half as many again near the
best trials at each of three neighbourhood sizes are scored, the best few are refined by L-BFGS-B
on their continuous coordinates (discrete ones stay as sampled), rounded back onto the space's
grid and scored again.

Batches and running trials: running trials, and each point already proposed in the same call,
are added to the GP as pseudo-observations (``liar="mean"``: the posterior mean, "kriging
believer"; ``"min"``/``"max"``: the best/worst loss seen, "constant liar") without refitting,
so the points of a batch spread out.

The first ``n_startup_jobs`` trials are drawn from the prior.

Cost per call, with ``n`` finished trials, ``m = min(n, max_train)`` of them used for training
and ``d`` encoded coordinates: fitting is O(m^3 + m^2 d) per likelihood evaluation (a few hundred
evaluations), scoring candidates O(n_candidates * m * (d + m)), and each proposal of a batch adds
one O(m^3) refactorisation. Past ``max_train`` finished trials the training set is capped (the
best half by loss plus a seeded random sample of the others), so the cost stops growing with
``n`` apart from O(n log n) bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _gp
from ._blas import single_blas_thread
from ._checks import check_option
from ._gp_space import Encoding
from ._neighbourhood import sample_near
from ._suggest import docs_for_columns
from .exceptions import InvalidArgumentError
from .history import HistoryView
from .objective import Domain
from .space import Space
from .trials import Trials

__all__ = [
    "suggest",
    "DEFAULT_N_STARTUP_JOBS",
    "DEFAULT_N_CANDIDATES",
    "DEFAULT_MAX_TRAIN",
    "DEFAULT_N_RESTARTS",
    "LIARS",
]

#: Random trials before the first model (Optuna's GPSampler also starts with 10).
DEFAULT_N_STARTUP_JOBS = 10
#: Prior draws scored per proposal; half as many again are drawn near the best trials at each
#: of three neighbourhood sizes.
DEFAULT_N_CANDIDATES = 1000
#: Training-set cap: a suggestion then costs about 1 s of CPU however long the run (measured
#: with benchmarks/algo_speed.py: 2.1 s at a cap of 400, cost grows as the cube of the cap).
DEFAULT_MAX_TRAIN = 300
#: Random restarts of the hyperparameter fit, on top of the prior mean.
DEFAULT_N_RESTARTS = 2
#: Values given to pending points: posterior mean (kriging believer), best or worst loss.
LIARS = ("mean", "min", "max")

#: Best-scoring candidates refined with gradients per proposal.
_N_REFINE = 5
#: L-BFGS-B iterations per refinement.
_REFINE_MAXITER = 50
#: Number of best trials that local candidates are drawn around, and their neighbourhoods.
_N_LOCAL_BASES = 10
_LOCAL_SHRINKS = (0.2, 0.04, 0.008)
#: Squared distance under which two encoded points are the same point.
_SAME = 1e-12


def _check(name: str, value: object, low: int) -> int:
    return int(check_option("gp.suggest", name, value, low=low, integer=True))


def suggest(
    new_ids: Sequence[int],
    domain: Domain,
    trials: Trials,
    seed: int,
    n_startup_jobs: int = DEFAULT_N_STARTUP_JOBS,
    n_candidates: int = DEFAULT_N_CANDIDATES,
    max_train: int = DEFAULT_MAX_TRAIN,
    n_restarts: int = DEFAULT_N_RESTARTS,
    liar: str = "mean",
) -> list[dict[str, Any]]:
    """Propose ``len(new_ids)`` points by GP Bayesian optimisation (see the module docstring).

    ``n_startup_jobs``: trials drawn from the prior before the first model. ``n_candidates``:
    prior draws scored per proposal. ``max_train``: most finished trials the GP is fitted on.
    ``n_restarts``: random restarts of the hyperparameter fit. ``liar``: value assumed for
    running trials and earlier points of the batch, one of ``"mean"``, ``"min"``, ``"max"``.
    """
    n_startup_jobs = _check("n_startup_jobs", n_startup_jobs, 0)
    n_candidates = _check("n_candidates", n_candidates, 1)
    max_train = _check("max_train", max_train, 2)
    n_restarts = _check("n_restarts", n_restarts, 0)
    if liar not in LIARS:
        raise InvalidArgumentError(f"gp.suggest: liar must be one of {LIARS}, got {liar!r}")
    rng = np.random.default_rng(seed)
    space = domain.space
    view = trials.history()
    n_new = len(new_ids)
    ok_rows = np.flatnonzero(view.ok)
    if view.n < n_startup_jobs or len(ok_rows) < 2:
        return docs_for_columns(new_ids, domain, trials, space.sample(rng, n_new))

    with single_blas_thread():
        columns = _model_based(new_ids, space, view, rng, ok_rows, n_candidates, max_train, n_restarts, liar)
    return docs_for_columns(new_ids, domain, trials, columns)


def _model_based(
    new_ids: Sequence[int],
    space: Space,
    view: HistoryView,
    rng: np.random.Generator,
    ok_rows: np.ndarray,
    n_candidates: int,
    max_train: int,
    n_restarts: int,
    liar: str,
) -> dict[str, np.ndarray]:
    n_new = len(new_ids)
    enc = Encoding(space)
    columns = {p.label: view.column(p.label) for p in space.params}
    ranked = ok_rows[np.argsort(view.losses[ok_rows], kind="stable")]
    # Trials whose objective returned an infinite loss (a configuration that cannot run) are
    # modelled as bad as the worst finite loss: without them the model never learns that their
    # region fails, and kept proposing it (every proposal after startup, on a 1-D test).
    ranked = np.concatenate([ranked, np.flatnonzero(view.infeasible)])
    train = _training_rows(ranked, max_train, rng)
    y = np.minimum(view.losses[train], view.losses[ok_rows].max())
    y_mean, y_sd = float(np.mean(y)), float(np.std(y))
    ys = (y - y_mean) / (y_sd if y_sd > 0 else 1.0)
    model = _gp.fit(enc.encode(_rows(columns, train), len(train)), ys, rng, n_restarts=n_restarts)
    best = float(ys.min())

    def lie(x: np.ndarray) -> np.ndarray:
        if liar == "mean":
            return model.predict(x)[0]
        return np.full(len(x), ys.min() if liar == "min" else ys.max())

    pending = np.flatnonzero(view.pending)
    if len(pending):
        xp = enc.encode(_rows(columns, pending), len(pending))
        fake = lie(xp)
        model = model.condition(xp, fake)
        best = min(best, float(fake.min()))  # a believed value counts as an observation

    bases = {label: col[ranked[:_N_LOCAL_BASES]] for label, col in columns.items()}
    out = {p.label: np.full(n_new, np.nan) for p in space.params}
    for i in range(n_new):
        cand = _candidates(space, bases, rng, n_candidates)
        point, x = _maximise(model, enc, cand, best)
        for label, value in point.items():
            out[label][i] = value
        fake = lie(x[None, :])
        model = model.condition(x[None, :], fake)
        best = min(best, float(fake[0]))
    return out


def _rows(columns: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {label: col[rows] for label, col in columns.items()}


def _training_rows(ranked: np.ndarray, max_train: int, rng: np.random.Generator) -> np.ndarray:
    """All finished rows, or the best ``max_train // 2`` plus a random sample of the others."""
    if len(ranked) <= max_train:
        return ranked
    keep = max_train // 2
    rest = rng.choice(ranked[keep:], size=max_train - keep, replace=False)
    return np.concatenate([ranked[:keep], np.sort(rest)])


def _candidates(space: Space, bases: dict[str, np.ndarray], rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Prior draws plus draws near the best trials, at three neighbourhood sizes: the finest
    lets the search refine the incumbent to the last digits on smooth problems (Branin and
    Hartmann-6 at 50-100 evaluations; measured, see docs/algorithms.md)."""
    parts = [space.sample(rng, n)]
    ranked = np.arange(len(next(iter(bases.values()))))
    for s in _LOCAL_SHRINKS:
        parts.append(sample_near(space, bases, ranked, rng, n // 2, avg_best_idx=3.0, shrink=_constant(s)))
    return {label: np.concatenate([p[label] for p in parts]) for label in parts[0]}


def _constant(s: float) -> Callable[[str], float]:
    return lambda _label: s


def _score(model: _gp.GP, x: np.ndarray, best: float) -> np.ndarray:
    mean, var = model.predict(x)
    return _gp.log_ei(mean, var, best)


def _maximise(
    model: _gp.GP, enc: Encoding, cand: dict[str, np.ndarray], best: float
) -> tuple[dict[str, float], np.ndarray]:
    """The candidate (after refinement) with the highest log EI that is not already in the data."""
    m = len(next(iter(cand.values())))
    x = enc.encode(cand, m)
    score = _score(model, x, best)
    score[_min_sqdist(x, model.x) <= _SAME] = -np.inf  # already tried, running or proposed
    top = np.argsort(-score, kind="stable")[:_N_REFINE]
    sub = {label: col[top].copy() for label, col in cand.items()}
    movable = enc.movable(sub, len(top))
    refined = _refine(model, x[top], movable, best)
    enc.decode_into(sub, np.arange(len(top)), refined)
    x_ref = enc.encode(sub, len(top))
    score_ref = _score(model, x_ref, best)
    options_x = np.vstack([x_ref, x[top]])
    options_score = np.concatenate([score_ref, score[top]])
    options = [(sub, j) for j in range(len(top))] + [(cand, int(t)) for t in top]
    order = np.argsort(-options_score, kind="stable")
    fresh = order[_min_sqdist(options_x[order], model.x) > _SAME]
    pick = int(fresh[0]) if len(fresh) else int(order[0])
    source, row = options[pick]
    point = {label: float(col[row]) for label, col in source.items()}
    return point, options_x[pick]


def _min_sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0).min(axis=1)


def _refine(model: _gp.GP, x0: np.ndarray, movable: np.ndarray, best: float) -> np.ndarray:
    """Maximise log EI over the ``movable`` coordinates of each row of ``x0`` (L-BFGS-B).

    The rows are independent, so one call optimises their sum.
    """
    from scipy.optimize import minimize

    if not movable.any():
        return x0
    x = x0.copy()

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        x[movable] = z
        value, grad = _gp.log_ei_with_grad(*model.predict_with_grad(x), best)
        return -float(value.sum()), -grad[movable]

    res = minimize(
        objective,
        x0[movable],
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * int(movable.sum()),
        options={"maxiter": _REFINE_MAXITER},
    )
    out = x0.copy()
    out[movable] = np.clip(res.x, 0.0, 1.0) if math.isfinite(float(res.fun)) else x0[movable]
    return out
