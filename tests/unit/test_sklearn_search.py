"""SparktuneSearchCV follows scikit-learn's conventions and reports like GridSearchCV."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from sparktune import Trials, hp, rand
from sparktune.exceptions import InvalidArgumentError
from sparktune.integrations.sklearn import SparktuneSearchCV

X, Y = load_iris(return_X_y=True)
CHECK_SETTINGS: dict = {"max_evals": 2, "cv": 2, "algo": rand.suggest, "random_state": 0, "error_score": "raise"}
SVC_SPACE = {"C": hp.loguniform("C", -3, 3), "kernel": hp.choice("kernel", ["linear", "rbf"])}


def search(**kwargs: object) -> SparktuneSearchCV:
    defaults: dict[str, object] = {"max_evals": 6, "algo": rand.suggest, "random_state": 0, "cv": 3}
    defaults.update(kwargs)
    estimator = defaults.pop("estimator", SVC())
    space = defaults.pop("space", SVC_SPACE)
    return SparktuneSearchCV(estimator, space, **defaults)  # type: ignore[arg-type]


# As scikit-learn checks its own GridSearchCV: error_score="raise", 2 folds, 2 candidates.
CHECKED = [
    SparktuneSearchCV(LogisticRegression(), {"C": hp.loguniform("C", -2, 2)}, **CHECK_SETTINGS),
    SparktuneSearchCV(Ridge(), {"alpha": hp.uniform("alpha", 0.1, 2)}, **CHECK_SETTINGS),
]


@parametrize_with_checks(
    CHECKED,
    # scikit-learn marks this check an expected failure of GridSearchCV too: a regressor that does
    # not warn about a column-vector y itself cannot have the search warn for it.
    expected_failed_checks=lambda est: (
        {"check_supervised_y_2d": "DataConversionWarning not caught"} if isinstance(est.estimator, Ridge) else {}
    ),
)
@pytest.mark.slow
def test_sklearn_estimator_checks(estimator: object, check: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)  # type: ignore[operator]


def test_best_params_are_values_and_refit_model_predicts() -> None:
    s = search().fit(X, Y)
    assert set(s.best_params_) == {"C", "kernel"} and s.best_params_["kernel"] in ("linear", "rbf")
    assert s.best_estimator_.get_params()["kernel"] == s.best_params_["kernel"]
    assert s.best_score_ == max(s.cv_results_["mean_test_score"]) > 0.9
    assert s.predict(X[:5]).shape == (5,) and s.score(X, Y) > 0.9
    assert list(s.classes_) == [0, 1, 2] and s.n_features_in_ == 4
    assert s.refit_time_ >= 0 and s.n_trials_ == 6 and len(s.trials_) == 6
    assert hasattr(s, "decision_function") and not hasattr(s, "predict_proba")


def test_cv_results_have_gridsearch_keys_and_shapes() -> None:
    cv = KFold(3, shuffle=True, random_state=0)
    s = search(cv=cv, return_train_score=True).fit(X, Y)
    grid = GridSearchCV(SVC(), {"C": [1.0], "kernel": ["rbf"]}, cv=cv, return_train_score=True).fit(X, Y)
    assert set(s.cv_results_) == set(grid.cv_results_)
    r = s.cv_results_
    assert all(len(v) == 6 for v in r.values())
    assert isinstance(r["param_C"], np.ma.MaskedArray)
    assert [p["kernel"] for p in r["params"]] == list(r["param_kernel"])
    splits = np.array([r[f"split{i}_test_score"] for i in range(3)])
    np.testing.assert_allclose(splits.mean(axis=0), r["mean_test_score"])
    assert sorted(r["rank_test_score"])[0] == 1 and r["rank_test_score"][s.best_index_] == 1
    # the same splits for every candidate: the grid's score of a candidate equals ours for it.
    same = search(cv=cv, max_evals=1, space={"C": hp.choice("C", [1.0]), "kernel": hp.choice("k", ["rbf"])}).fit(X, Y)
    assert same.cv_results_["mean_test_score"][0] == pytest.approx(grid.cv_results_["mean_test_score"][0])


def test_conditional_space_masks_inactive_params() -> None:
    space = hp.choice("kind", [{"kernel": "linear"}, {"kernel": "rbf", "gamma": hp.loguniform("gamma", -4, 1)}])
    s = search(space=space, max_evals=8, random_state=3).fit(X, Y)
    r = s.cv_results_
    rbf = np.array([p["kernel"] == "rbf" for p in r["params"]])
    assert rbf.any() and (~rbf).any()
    np.testing.assert_array_equal(r["param_gamma"].mask, ~rbf)


def test_multimetric_refit_by_name() -> None:
    s = search(scoring={"acc": "accuracy", "f1": "f1_macro"}, refit="f1").fit(X, Y)
    assert {"mean_test_acc", "rank_test_f1", "split2_test_f1"} <= set(s.cv_results_)
    assert s.best_score_ == max(s.cv_results_["mean_test_f1"])
    assert set(s.scorer_) == {"acc", "f1"}  # as GridSearchCV: one scorer per metric
    assert s.cv_results_["param_C"].dtype == np.float64 and s.cv_results_["param_kernel"].dtype == object
    assert s.score(X, Y) == pytest.approx(s.scorer_["f1"](s.best_estimator_, X, Y))
    listed = search(scoring=["accuracy", "f1_macro"], refit="accuracy").fit(X, Y)
    assert listed.best_score_ == max(listed.cv_results_["mean_test_accuracy"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scoring": ["accuracy", "f1_macro"], "refit": True}, "refit must name"),
        ({"scoring": ["accuracy"], "refit": "f1"}, "not one of the scoring metrics"),
        ({"refit": "accuracy"}, "single metric"),
        ({"max_evals": 0}, "max_evals must be an int"),
        ({"trials": []}, "trials must be None"),
        ({"space": {"nope": hp.uniform("nope", 0, 1)}}, r"does not have.*'C'"),
        ({"space": hp.uniform("C", 0, 1)}, "must evaluate to a dict"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        search(**kwargs).fit(X, Y)


def test_refit_false_keeps_results_only() -> None:
    s = search(refit=False).fit(X, Y)
    assert len(s.cv_results_["params"]) == 6 and not hasattr(s, "best_estimator_")
    with pytest.raises(AttributeError, match="refit=False"):
        s.score(X, Y)
    # As GridSearchCV: with one metric the best candidate is still named.
    assert (
        s.best_score_ == max(s.cv_results_["mean_test_score"])
        and s.best_params_ == s.cv_results_["params"][s.best_index_]
    )
    multi = search(scoring=["accuracy", "f1_macro"], refit=False).fit(X, Y)
    assert "mean_test_f1_macro" in multi.cv_results_ and not hasattr(multi, "best_params_")


def test_a_numeric_error_score_scores_a_candidate_whose_every_fold_failed() -> None:
    space = {"C": hp.choice("c", [1.0, -1.0])}  # C < 0: every fit fails
    with pytest.warns(FitFailedWarning, match="error_score=0"):
        s = search(space=space, max_evals=6, random_state=1, error_score=0).fit(X, Y)
    r = s.cv_results_
    bad = np.array([p["C"] < 0 for p in r["params"]])
    assert bad.any() and (r["mean_test_score"][bad] == 0.0).all()
    assert all(t["result"]["status"] == "ok" for t in s.trials_.trials)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scoring": "no_such_metric"}, "scoring='no_such_metric' is not usable"),
        ({"error_score": "zero"}, "error_score must be a number or 'raise'"),
        ({"space": hp.choice("c", [{"C": hp.uniform("C", 0.1, 1)}] * 9 + [{"gama": 1.0}])}, r"\['gama'\]"),
    ],
)
def test_bad_settings_fail_before_any_trial(kwargs: dict[str, object], match: str) -> None:
    """A wrong scoring, error_score or a typo in a rarely drawn branch of the space is reported
    at the start of fit, not after every trial ran."""
    trials = Trials()
    with pytest.raises(InvalidArgumentError, match=match):
        search(trials=trials, **kwargs).fit(X, Y)
    assert len(trials) == 0


def test_failed_fits_rank_last_and_raise_mode() -> None:
    space = {"n_neighbors": hp.choice("n", [1, 500])}  # 500 neighbours > samples per fold: fit fails
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = search(estimator=KNeighborsClassifier(), space=space, max_evals=6, random_state=1).fit(X, Y)
    r = s.cv_results_
    bad = np.array([p["n_neighbors"] == 500 for p in r["params"]])
    assert bad.any() and np.isnan(r["mean_test_score"][bad]).all()
    assert (r["rank_test_score"][bad] == r["rank_test_score"].max()).all()
    assert s.best_params_ == {"n_neighbors": 1}
    assert [t["result"]["status"] for t in s.trials_.trials] == ["fail" if b else "ok" for b in bad]
    with pytest.raises(ValueError, match="n_neighbors"):
        search(estimator=KNeighborsClassifier(), space={"n_neighbors": hp.choice("n", [500])}, max_evals=1,
               error_score="raise").fit(X, Y)  # fmt: skip


def test_given_trials_are_refilled_each_fit_and_seed_reproduces() -> None:
    trials = Trials()
    s = search(trials=trials)
    s.fit(X, Y)
    first = [t["misc"]["vals"] for t in trials.trials]
    s.fit(X, Y)
    assert len(trials) == 6 and [t["misc"]["vals"] for t in trials.trials] == first
    assert s.trials_ is trials


def test_pipeline_params_and_fit_params() -> None:
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    s = search(estimator=pipe, space={"logisticregression__C": hp.loguniform("C", -2, 2)}, max_evals=3).fit(X, Y)
    assert "logisticregression__C" in s.best_params_
    weights = np.where(Y == 0, 10.0, 1.0)
    tree = search(estimator=DecisionTreeClassifier(random_state=0), space={"max_depth": hp.choice("d", [1, 2])},
                  max_evals=2).fit(X, Y, sample_weight=weights)  # fmt: skip
    assert tree.best_estimator_.tree_.weighted_n_node_samples[0] == pytest.approx(weights.sum())


def test_regressor_clone_and_pickle() -> None:
    Xr, yr = make_regression(n_samples=60, n_features=3, noise=1.0, random_state=0)
    s = search(estimator=Ridge(), space={"alpha": hp.loguniform("alpha", -3, 3)}, max_evals=4)
    c = clone(s)
    assert c.get_params()["max_evals"] == 4 and c is not s
    c.set_params(max_evals=2).fit(Xr, yr)
    assert len(c.cv_results_["params"]) == 2 and c.score(Xr, yr) > 0.9
    again = pickle.loads(pickle.dumps(c))
    np.testing.assert_allclose(again.predict(Xr[:3]), c.predict(Xr[:3]))
