"""Log a search to MLflow: one parent run, one child run per trial (extra ``mlflow``).

Everything is logged from the driver, as each trial finishes, through the
:meth:`~sparktune.Trials.add_listener` seam: Spark executors never talk to MLflow and need
neither the package nor access to the tracking server. Logging is opt-in::

    from sparktune import SparkTrials, fmin, tpe
    from sparktune.integrations.mlflow import MLflowLogger

    trials = SparkTrials(parallelism=4)
    with MLflowLogger(trials, space, experiment_name="iris"):
        best = fmin(objective, space, algo=tpe.suggest, max_evals=50, trials=trials)

Each child run holds the trial's parameters as values (``space_eval`` applied, nested
structures flattened to dotted names), its ``loss``, the other numbers of its result dict, its
``duration_s``, and tags ``status`` and ``sparktune.tid``; its start and end times are the
trial's. The parent run gets ``best_loss``, trial counts and the best parameters (``best.<name>``).
Inside an active ``mlflow.start_run()`` block, that run is the parent and is left open.

The search is worth more than its log: if MLflow cannot be reached or refuses a call, one
warning says so and the search goes on without logging (no retries per trial, which could stall
the driver for minutes). Names MLflow does not accept (``"val:acc@5"``) are logged with each
character it refuses replaced by ``_``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .._params import flatten_params, point_params
from ..space import Space, compile_space
from ..trials import Trial, Trials, TrialState

__all__ = ["MLflowLogger", "flatten_params"]

logger = logging.getLogger(__name__)

#: MLflow's limit on the length of a parameter value (mlflow.utils.validation, MLflow >= 2).
_MAX_PARAM_LENGTH = 6000
#: Characters MLflow accepts in metric and parameter names; others become "_".
_NAME_REFUSED = re.compile(r"[^A-Za-z0-9_\-. /]")

#: MLflow run status of a trial, by the trial's status.
_RUN_STATUS = {"ok": "FINISHED", "cancelled": "KILLED"}


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError as err:
        raise ImportError('sparktune.integrations.mlflow needs MLflow: pip install "sparktune[mlflow]"') from err
    return mlflow


def _millis(when: Any) -> int | None:
    """Milliseconds since the epoch of a naive-UTC datetime (how Trials store times)."""
    if when is None:
        return None
    import datetime as dt

    return int(when.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def _status(record: Trial) -> str:
    if record.state is TrialState.CANCEL:
        return "cancelled"
    return str(record.result.get("status", "fail"))


class MLflowLogger:
    """Logs the trials of ``trials`` to MLflow while the ``with`` block runs.

    Parameters
    ----------
    trials:
        The ``Trials``/``SparkTrials`` that ``fmin`` will fill.
    space:
        The search space; with it, parameters are logged as values (``"rbf"``, not ``1``).
        Without it, the raw point is logged (choices as indices).
    experiment_name:
        Created if missing. Default: the active run's experiment, else ``MLFLOW_EXPERIMENT_NAME``,
        else MLflow's default experiment.
    run_name:
        Name of the parent run.
    tracking_uri:
        Where to log (``sqlite:///mlruns.db``, ``file:///tmp/mlruns``, a server URL). Default:
        MLflow's configured tracking URI.
    parent_run_id:
        Log the trials under this existing run instead of creating a parent run.
    tags:
        Extra tags of the parent run.
    """

    def __init__(
        self,
        trials: Trials,
        space: object = None,
        *,
        experiment_name: str | None = None,
        run_name: str = "sparktune search",
        tracking_uri: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(trials, Trials):
            raise TypeError(
                f"MLflowLogger: trials must be a sparktune Trials or SparkTrials, got {type(trials).__name__}"
            )
        self.trials = trials
        self.space: Space | None = None if space is None else compile_space(space)
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.tracking_uri = tracking_uri
        self.parent_run_id = parent_run_id
        self.tags = dict(tags or {})
        self.child_run_ids: dict[int, str] = {}
        self._client: Any = None
        self._owns_parent = False
        self._experiment_id: str | None = None
        self._failed = False  # MLflow failed once: log nothing more

    # ----- the parent run ----------------------------------------------------------------------

    def __enter__(self) -> MLflowLogger:
        mlflow = _mlflow()
        from mlflow.exceptions import MlflowException

        self._client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
        active = mlflow.active_run() if self.tracking_uri is None else None
        if self.parent_run_id is None and active is not None and self.experiment_name is None:
            self.parent_run_id = active.info.run_id
        try:
            if self.parent_run_id is not None:
                self._experiment_id = self._client.get_run(self.parent_run_id).info.experiment_id
            else:
                self._experiment_id = self._experiment()
                run = self._client.create_run(
                    self._experiment_id, tags={"sparktune.search": "true", **self.tags}, run_name=self.run_name
                )
                self.parent_run_id = run.info.run_id
                self._owns_parent = True
        except (MlflowException, OSError) as err:
            self._give_up("the parent run could not be created", err)
        self.trials.add_listener(self.log_trial)
        return self

    def _give_up(self, what: str, err: BaseException) -> None:
        """Warn once and log nothing more."""
        if not self._failed:
            logger.warning("MLflow logging stopped: %s (%s); the search goes on without it", what, err)
        self._failed = True

    def _experiment(self) -> str:
        name = self.experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "Default"
        experiment = self._client.get_experiment_by_name(name)
        if experiment is not None:
            return str(experiment.experiment_id)
        return str(self._client.create_experiment(name))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from mlflow.exceptions import MlflowException

        self.trials.remove_listener(self.log_trial)
        if self._failed or self.parent_run_id is None:
            return
        try:  # never let the log turn a finished search into an error
            self._log_summary()
        except (MlflowException, OSError) as err:
            self._give_up("the search summary could not be logged", err)
        if self._owns_parent:
            status = "FINISHED" if exc_type is None else "KILLED" if exc_type is KeyboardInterrupt else "FAILED"
            try:
                self._client.set_terminated(self.parent_run_id, status=status)
            except (MlflowException, OSError) as err:
                self._give_up("the parent run could not be closed", err)

    def _log_summary(self) -> None:
        from mlflow.entities import Metric, Param

        records = self.trials.records
        counts = {
            "n_trials": len(records),
            "n_ok": sum(r.loss is not None for r in records),
            "n_failed": sum(r.state.finished and _status(r) not in ("ok", "cancelled") for r in records),
            "n_cancelled": sum(r.state is TrialState.CANCEL for r in records),
        }
        now = _millis_now()
        metrics = [Metric(k, float(v), now, 0) for k, v in counts.items()]
        params: list[Any] = []
        best = self.trials.best_loss()
        if best is not None:
            metrics.append(Metric("best_loss", best, now, 0))
            best_record = self.trials.trial(int(self.trials.best_trial["tid"]))
            params = [Param(_name(f"best.{k}"), _param_text(v)) for k, v in self._params(best_record).items()]
            params.append(Param("best.tid", str(best_record.tid)))
        self._client.log_batch(self.parent_run_id, metrics=metrics, params=params)

    # ----- one child run per trial ---------------------------------------------------------------

    def _params(self, record: Trial) -> dict[str, Any]:
        if self.space is None:
            return dict(record.vals)
        try:
            return point_params(self.space, record.vals)
        except Exception as err:  # a user function in the space failed: keep the raw point
            logger.warning("trial %d: space_eval failed (%s); logging the raw point", record.tid, err)
            return dict(record.vals)

    def log_trial(self, record: Trial) -> None:
        """Log one finished trial as a child run (the listener ``fmin`` calls)."""
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.exceptions import MlflowException

        if self._failed:
            return
        status = _status(record)
        start, end = _millis(record.book_time), _millis(record.refresh_time)
        stamp = end or _millis_now()
        metrics = [
            Metric(_name(key), float(value), stamp, 0)
            for key, value in record.result.items()
            if key != "status"
            and isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        ]
        if start is not None and end is not None:
            metrics.append(Metric("duration_s", (end - start) / 1000.0, stamp, 0))
        params = [Param(_name(k), _param_text(v)) for k, v in self._params(record).items()]
        tags = [RunTag("status", status), RunTag("sparktune.tid", str(record.tid))]
        if record.worker:
            tags.append(RunTag("sparktune.worker", record.worker))
        failure = record.error or record.result.get("failure")
        if failure:
            tags.append(RunTag("failure", str(failure)[:_MAX_PARAM_LENGTH]))
        run_id = None
        try:
            run = self._client.create_run(
                self._experiment_id,
                start_time=start,
                tags={"mlflow.parentRunId": self.parent_run_id},
                run_name=f"trial {record.tid}",
            )
            run_id = run.info.run_id
            self._client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
            self._client.set_terminated(run_id, status=_RUN_STATUS.get(status, "FAILED"), end_time=end)
        except (MlflowException, OSError) as err:
            if run_id is not None:  # do not leave the child run RUNNING forever
                with contextlib.suppress(MlflowException, OSError):
                    self._client.set_terminated(run_id, status="FAILED", end_time=end)
            self._give_up(f"trial {record.tid} could not be logged", err)
            return
        self.child_run_ids[record.tid] = run_id


def _millis_now() -> int:
    import time

    return int(time.time() * 1000)


def _name(key: Any) -> str:
    """A metric or parameter name MLflow accepts."""
    return _NAME_REFUSED.sub("_", str(key))


def _param_text(value: Any) -> str:
    return str(value)[:_MAX_PARAM_LENGTH]
