"""The public surface: Hyperopt's names are all there, nothing heavy is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import sparktune

HYPEROPT_NAMES = {
    "fmin", "hp", "rand", "Trials", "SparkTrials", "space_eval", "STATUS_OK", "STATUS_FAIL", "STATUS_NEW",
    "STATUS_RUNNING", "STATUS_SUSPENDED", "STATUS_STRINGS", "JOB_STATE_NEW", "JOB_STATE_RUNNING", "JOB_STATE_DONE",
    "JOB_STATE_ERROR", "JOB_STATES", "Domain", "Ctrl", "trials_from_docs", "fmin_pass_expr_memo_ctrl", "partial",
    "early_stop", "exceptions", "pyll", "progress", "base", "utils",
}  # fmt: skip


def test_hyperopt_names_are_public() -> None:
    assert set(sparktune.__all__) >= HYPEROPT_NAMES
    for name in sparktune.__all__:
        assert name == "SparkTrials" or hasattr(sparktune, name), name


def test_hp_functions() -> None:
    assert set(sparktune.hp.__all__) == {
        "choice", "pchoice", "uniform", "quniform", "loguniform", "qloguniform", "normal", "qnormal",
        "lognormal", "qlognormal", "randint", "uniformint",
    }  # fmt: skip


def test_import_is_light() -> None:
    heavy = "{'pyspark', 'matplotlib', 'tqdm', 'sklearn', 'mlflow', 'pandas', 'py4j', 'scipy'}"
    code = (
        f"import sys, json, sparktune; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_hyperopt_module_paths() -> None:
    import sparktune as hpo  # code written for Hyperopt reaches these as attributes

    assert hpo.base.spec_from_misc({"vals": {"x": [1.5], "y": []}}) == {"x": 1.5}
    assert hpo.base.JOB_STATE_DONE == 2 and hpo.utils.coarse_utcnow().microsecond % 1000 == 0
    from sparktune.exceptions import BadSearchSpace, DuplicateLabel, InvalidAnnotatedParameter

    assert issubclass(DuplicateLabel, BadSearchSpace) and issubclass(InvalidAnnotatedParameter, ValueError)
    from sparktune.base import STATUS_OK, Trials  # noqa: F401
    from sparktune.early_stop import no_progress_loss  # noqa: F401
    from sparktune.fmin import generate_trials_to_calculate  # noqa: F401
    from sparktune.pyll import scope  # noqa: F401
    from sparktune.pyll.stochastic import sample  # noqa: F401
