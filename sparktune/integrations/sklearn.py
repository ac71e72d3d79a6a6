"""A scikit-learn search estimator driven by sparktune, optionally across a Spark cluster.

:class:`SparktuneSearchCV` is used like ``GridSearchCV``/``RandomizedSearchCV``, with an ``hp``
space instead of a grid and ``fmin`` choosing the candidates (TPE by default)::

    from sklearn.svm import SVC
    from sparktune import SparkTrials, hp
    from sparktune.integrations.sklearn import SparktuneSearchCV

    space = {"C": hp.loguniform("C", -3, 3), "kernel": hp.choice("kernel", ["linear", "rbf"])}
    search = SparktuneSearchCV(SVC(), space, max_evals=40, cv=5, trials=SparkTrials(parallelism=8))
    search.fit(X, y)
    search.best_params_  # {"C": 2.41, "kernel": "rbf"}: values, not indices

Each trial is one candidate: it clones the estimator, sets the candidate's parameters and
cross-validates it on the same splits as every other candidate; the loss ``fmin`` minimises is
minus the mean test score of the ``refit`` metric.

**Training data on a cluster.** With ``trials=SparkTrials(...)`` the data is not re-shipped with
each trial: the objective (a closure over ``X``, ``y`` and the CV splits) is serialized once per
``fit`` and SparkTrials sends those bytes to each Python worker once, where they are unpickled
once and reused by every trial that worker runs. Trials themselves carry only their point (a few
numbers) and return their scores. So the cost is one copy of the data per worker per ``fit``, as
with a Spark broadcast variable; it does not grow with ``max_evals``. The data must fit in the
memory of the driver and of each worker; for data that does not, train from a path or table
inside your own objective instead (e.g. a ``fmin`` objective that reads a Parquet file).

Compared with ``GridSearchCV``: ``n_jobs`` is replaced by the ``trials`` object (``Trials()``
runs one candidate at a time in this process, ``SparkTrials(parallelism=k)`` runs ``k`` at once
on the cluster); ``refit`` takes ``True``/``False``/a metric name (no callable); ``cv_results_``
has one row per trial, in trial order, and a trial that failed or was cancelled has ``NaN``
scores and the worst rank.
"""

from __future__ import annotations

import copy
import numbers
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
    from sklearn.exceptions import FitFailedWarning
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import check_cv, cross_validate
    from sklearn.utils import get_tags
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.validation import check_is_fitted, indexable
except ImportError as err:
    raise ImportError('sparktune.integrations.sklearn needs scikit-learn: pip install "sparktune[sklearn]"') from err

from ..exceptions import AllTrialsFailed, InvalidArgumentError
from ..fmin import fmin
from ..objective import STATUS_FAIL, STATUS_OK
from ..pyll import stochastic
from ..space import compile_space
from ..trials import Trials

__all__ = ["SearchFailed", "SparktuneSearchCV"]


class SearchFailed(AllTrialsFailed, ValueError):
    """No candidate could be fitted and scored (as ``GridSearchCV``'s "All the fits failed")."""


def _all_failed(trials: Trials) -> SearchFailed:
    first = next((r for r in trials.records if r.state.finished), None)
    if first is None:
        return SearchFailed("the search ran no trial (timeout or early stop before the first one finished)")
    reason = first.error.message if first.error is not None else first.result.get("failure", first.result)
    return SearchFailed(
        f"all {len(trials)} trials failed, so there is no best candidate; the first failure, trial {first.tid}:\n"
        f"{reason}"
    )


def _best_has(attr: str) -> Callable[[Any], bool]:
    """For ``available_if``: the fitted best estimator (or, before fit, the estimator) has ``attr``."""

    def check(self: SparktuneSearchCV) -> bool:
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


#: Prior draws that _check_params looks at for parameter names (all branches of a choice).
_CHECK_DRAWS = 64


def _failed_folds(n: int, metrics: list[str], score: float, train: bool) -> dict[str, Any]:
    """``cross_validate``'s output for ``n`` folds that all failed, scored ``score``."""
    out: dict[str, Any] = {"fit_time": np.zeros(n), "score_time": np.zeros(n)}
    for metric in metrics:
        out[f"test_{metric}"] = np.full(n, score)
        if train:
            out[f"train_{metric}"] = np.full(n, score)
    return out


def _metric_names(scoring: Any) -> list[str] | None:
    """Metric names of a multi-metric ``scoring`` (list/tuple/set/dict), else ``None``."""
    if isinstance(scoring, Mapping):
        return [str(k) for k in scoring]
    if isinstance(scoring, (list, tuple, set)):
        return [str(k) for k in scoring]
    return None


class SparktuneSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search over an ``hp`` space with cross-validation, run by ``fmin``.

    Parameters
    ----------
    estimator:
        A scikit-learn estimator; cloned for every candidate.
    space:
        An ``hp`` space that evaluates to a dict ``{parameter name: value}`` of the estimator's
        parameters (``"clf__C"`` for pipelines). It may be conditional, e.g. an ``hp.choice``
        between dicts.
    max_evals:
        Number of candidates (trials) to evaluate.
    algo:
        A suggest function (``tpe.suggest``, ``rand.suggest``, ...); ``None`` means TPE.
    scoring:
        As in ``GridSearchCV``: ``None`` (the estimator's ``score``), a scorer name, a callable,
        or a list/dict of them for several metrics.
    cv:
        As in ``GridSearchCV``: ``None`` (5 folds), a number of folds, a splitter or an
        iterable of splits. The splits are made once, so every candidate sees the same ones.
    refit:
        ``True`` refits the best candidate on all the data (``best_estimator_``); with several
        metrics, the name of the metric that picks the best; ``False`` skips refitting (with
        several metrics the search then minimises minus the first metric, and sets no
        ``best_*`` attributes, as ``GridSearchCV``).
    trials:
        Where trials run: ``None`` for a fresh ``Trials()`` (in this process), or a
        ``Trials``/``SparkTrials(parallelism=...)`` object. It is emptied at the start of each
        ``fit`` and holds that fit's trials afterwards (also as ``trials_``).
    random_state:
        Seed of the search (``fmin``'s ``rstate``): an int, a ``numpy.random.Generator`` or
        ``None``.
    error_score:
        Score of a fold whose fit fails (``np.nan`` marks the trial failed); ``"raise"`` stops
        the search with the error.
    return_train_score:
        Also compute train scores (``cv_results_["mean_train_score"]`` ...).
    timeout, loss_threshold, early_stop_fn, show_progressbar:
        Passed to ``fmin``. ``loss_threshold`` is in loss units: minus the score (stop at a
        score of 0.9 or better with ``loss_threshold=-0.9``).
    """

    def __init__(
        self,
        estimator: Any,
        space: Any,
        *,
        max_evals: int = 20,
        algo: Callable[..., Any] | None = None,
        scoring: Any = None,
        cv: Any = None,
        refit: bool | str = True,
        trials: Trials | None = None,
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        timeout: float | None = None,
        loss_threshold: float | None = None,
        early_stop_fn: Callable[..., Any] | None = None,
        show_progressbar: bool = False,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.max_evals = max_evals
        self.algo = algo
        self.scoring = scoring
        self.cv = cv
        self.refit = refit
        self.trials = trials
        self.random_state = random_state
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.timeout = timeout
        self.loss_threshold = loss_threshold
        self.early_stop_fn = early_stop_fn
        self.show_progressbar = show_progressbar

    # ----- scikit-learn conventions -----------------------------------------------------------

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags

    @property
    def classes_(self) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        check_is_fitted(self, "best_estimator_")
        return int(self.best_estimator_.n_features_in_)

    # ----- checks -------------------------------------------------------------------------------

    def _metric(self) -> tuple[list[str] | None, str | None]:
        """(metric names or None for one metric, the metric that picks the best or None)."""
        names = _metric_names(self.scoring)
        if names is None:
            if not isinstance(self.refit, (bool, np.bool_)):
                raise InvalidArgumentError(
                    f"refit must be True or False with a single metric, got {self.refit!r}; "
                    "a metric name is for scoring with several metrics"
                )
            return None, "score"
        if self.refit is False:
            return names, None
        if self.refit is True:
            raise InvalidArgumentError(
                f"with several metrics ({names}) refit must name the one that picks the best, "
                f"e.g. refit={names[0]!r}; got refit={self.refit!r}"
            )
        if self.refit not in names:
            raise InvalidArgumentError(f"refit={self.refit!r} is not one of the scoring metrics {names}")
        return names, str(self.refit)

    def _check_params(self) -> None:
        value = self.max_evals
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InvalidArgumentError(f"max_evals must be an int >= 1, got {value!r}")
        if self.trials is not None and not isinstance(self.trials, Trials):
            raise InvalidArgumentError(
                f"trials must be None, a sparktune Trials or a SparkTrials, got {type(self.trials).__name__}"
            )
        error_score = self.error_score
        if not (isinstance(error_score, numbers.Real) or (isinstance(error_score, str) and error_score == "raise")):
            raise InvalidArgumentError(f"error_score must be a number or 'raise', got {error_score!r}")
        try:
            check_scoring(self.estimator, scoring=self.scoring)
        except (ValueError, TypeError) as err:
            raise InvalidArgumentError(f"scoring={self.scoring!r} is not usable: {err}") from err
        params = self.estimator.get_params()
        # Draws from the prior, so that a typo in a branch of a choice shows too, not only in the
        # branch that one draw takes.
        rng = np.random.default_rng(0)
        names: set[str] = set()
        for _ in range(_CHECK_DRAWS):
            sample = stochastic.sample(self.space, rng=rng)
            if not isinstance(sample, Mapping):
                raise InvalidArgumentError(
                    f"space must evaluate to a dict of {type(self.estimator).__name__} parameters, "
                    f"got a {type(sample).__name__}: {sample!r}"
                )
            names.update(sample)
        unknown = sorted(names - set(params))
        if unknown:
            raise InvalidArgumentError(
                f"space sets {unknown}, which {type(self.estimator).__name__} does not have; "
                f"its parameters are {sorted(params)}"
            )

    # ----- fit ------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> SparktuneSearchCV:
        """Run the search on ``X``, ``y``; ``fit_params`` go to each fit of the estimator."""
        self._check_params()
        names, refit_metric = self._metric()
        X, y, groups = indexable(X, y, groups)
        estimator = clone(self.estimator)
        splitter = check_cv(self.cv, y, classifier=is_classifier(estimator))
        splits = list(splitter.split(X, y, groups))
        self.n_splits_ = len(splits)
        scoring = self.scoring
        error_score = self.error_score
        return_train_score = self.return_train_score
        key = "score" if names is None else refit_metric or names[0]
        metrics = ["score"] if names is None else names

        def objective(params: dict[str, Any]) -> dict[str, Any]:
            candidate = clone(estimator).set_params(**params)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", FitFailedWarning)
                try:
                    scores = cross_validate(
                        candidate, X, y, cv=splits, scoring=scoring, error_score=error_score,
                        return_train_score=return_train_score, params=fit_params or None,
                    )  # fmt: skip
                except ValueError as err:
                    # Every fold failed: cross_validate raises whatever error_score is, where
                    # GridSearchCV scores them error_score (with a warning).
                    if not isinstance(error_score, numbers.Real) or "fits failed" not in str(err):
                        raise
                    warnings.warn(
                        f"{err}\nThese folds score error_score={error_score!r}.", FitFailedWarning, stacklevel=2
                    )
                    scores = _failed_folds(len(splits), metrics, float(error_score), return_train_score)
            for w in caught:  # hand them on; the fit failures also explain a failed trial
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            cv = {k: [float(v) for v in values] for k, values in scores.items()}
            mean = float(np.mean(cv[f"test_{key}"]))
            if not np.isfinite(mean):
                failures = [str(w.message) for w in caught if issubclass(w.category, FitFailedWarning)]
                reason = "\n".join(failures) or f"a fold's {key} is not a finite number"
                return {"status": STATUS_FAIL, "cv": cv, "failure": reason}
            return {"loss": -mean, "status": STATUS_OK, "cv": cv}

        trials = Trials() if self.trials is None else self.trials
        trials.delete_all()
        try:
            fmin(
                objective, self.space, algo=self.algo, max_evals=int(self.max_evals), trials=trials,
                rstate=self.random_state, timeout=self.timeout, loss_threshold=self.loss_threshold,
                early_stop_fn=self.early_stop_fn, show_progressbar=self.show_progressbar,
                catch_eval_exceptions=not (isinstance(error_score, str) and error_score == "raise"),
            )  # fmt: skip
        except AllTrialsFailed as err:
            raise _all_failed(trials) from err
        self.trials_ = trials
        if trials.best_loss() is None:
            raise _all_failed(trials)
        self.cv_results_ = self._cv_results(trials, names)
        self.n_trials_ = len(trials)
        self.multimetric_ = names is not None
        if self.refit is not False or names is None:  # as GridSearchCV: refit or one metric
            self.best_index_ = int(np.argmin(self.cv_results_[f"rank_test_{key}"]))
            self.best_score_ = float(self.cv_results_[f"mean_test_{key}"][self.best_index_])
            self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
        if self.refit is not False:
            start = time.perf_counter()
            self.best_estimator_ = clone(estimator).set_params(**self.best_params_)
            self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        if names is None:
            self.scorer_ = check_scoring(estimator, scoring=self.scoring)
        else:  # as GridSearchCV: the metric names' scorers
            given = self.scoring if isinstance(self.scoring, Mapping) else {name: name for name in names}
            self.scorer_ = {name: check_scoring(estimator, scoring=given[name]) for name in names}
        self._score_metric = key
        return self

    def _cv_results(self, trials: Trials, names: list[str] | None) -> dict[str, Any]:
        compiled = compile_space(self.space)
        records = trials.records
        params: list[dict[str, Any]] = []
        for record in records:
            try:
                params.append(dict(compiled.evaluate(record.vals)))
            except (KeyError, IndexError):  # a trial without a full point (never ran)
                params.append({})
        results: dict[str, Any] = {}
        timing = {"fit_time": "fit_time", "score_time": "score_time"}
        for name, cv_key in timing.items():
            rows = np.array([_row(r.result, cv_key, self.n_splits_) for r in records]).reshape(len(records), -1)
            results[f"mean_{name}"] = _nanmean(rows)
            results[f"std_{name}"] = _nanstd(rows)
        for label in sorted({k for p in params for k in p}):
            present = [p[label] for p in params if label in p]
            numeric = all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in present)
            # As GridSearchCV: a numeric dtype when every value is a number, else object.
            dtype = np.result_type(*present) if numeric and present else object
            column = np.ma.MaskedArray(np.zeros(len(params), dtype=dtype), mask=True)
            for i, p in enumerate(params):
                if label in p:
                    column[i] = p[label]
            results[f"param_{label}"] = column
        results["params"] = params
        for metric in names or ["score"]:
            sets = ("test", "train") if self.return_train_score else ("test",)
            for which in sets:
                rows = np.array([_row(r.result, f"{which}_{metric}", self.n_splits_) for r in records]).reshape(
                    len(records), -1
                )
                for split in range(self.n_splits_):
                    results[f"split{split}_{which}_{metric}"] = rows[:, split]
                results[f"mean_{which}_{metric}"] = _nanmean(rows)
                results[f"std_{which}_{metric}"] = _nanstd(rows)
            results[f"rank_test_{metric}"] = _rank(results[f"mean_test_{metric}"])
        return results

    # ----- use the best estimator -------------------------------------------------------------

    def _best(self) -> Any:
        check_is_fitted(self)
        if not hasattr(self, "best_estimator_"):
            raise AttributeError("this search was fitted with refit=False: there is no best_estimator_ to use")
        return self.best_estimator_

    def score(self, X: Any, y: Any = None) -> float:
        """Score of the best estimator with the ``refit`` metric (or the estimator's ``score``)."""
        best = self._best()
        scorer = self.scorer_[self._score_metric] if isinstance(self.scorer_, dict) else self.scorer_
        return float(scorer(best, X, y))

    @available_if(_best_has("predict"))
    def predict(self, X: Any) -> Any:
        return self._best().predict(X)

    @available_if(_best_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        return self._best().predict_proba(X)

    @available_if(_best_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        return self._best().predict_log_proba(X)

    @available_if(_best_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        return self._best().decision_function(X)

    @available_if(_best_has("score_samples"))
    def score_samples(self, X: Any) -> Any:
        return self._best().score_samples(X)

    @available_if(_best_has("transform"))
    def transform(self, X: Any) -> Any:
        return self._best().transform(X)

    @available_if(_best_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        return self._best().inverse_transform(X)


def _row(result: Mapping[str, Any], key: str, n_splits: int) -> list[float]:
    """One trial's per-split values of ``key``, or NaNs when the trial has none."""
    values = (result.get("cv") or {}).get(key)
    if values is None or len(values) != n_splits:
        return [float("nan")] * n_splits
    return [float(v) for v in values]


def _nanmean(rows: np.ndarray) -> np.ndarray:
    out = np.full(rows.shape[0], np.nan)
    ok = ~np.isnan(rows).any(axis=1)
    out[ok] = rows[ok].mean(axis=1)
    return out


def _nanstd(rows: np.ndarray) -> np.ndarray:
    out = np.full(rows.shape[0], np.nan)
    ok = ~np.isnan(rows).any(axis=1)
    out[ok] = rows[ok].std(axis=1)
    return out


def _rank(means: np.ndarray) -> np.ndarray:
    """Rank 1 for the highest mean score, ties share the lowest rank, NaN ranks last."""
    from scipy.stats import rankdata

    filled = np.where(np.isnan(means), -np.inf, means)
    return np.asarray(rankdata(-filled, method="min"), dtype=np.int32)
