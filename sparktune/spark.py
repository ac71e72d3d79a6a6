"""SparkTrials: Hyperopt's ``SparkTrials``, running trials on Spark task slots.

``SparkTrials`` is a :class:`~sparktune.trials.Trials` that brings a Spark executor; ``fmin``
is unchanged. It works with classic sessions and with Spark Connect sessions, keeps every task
slot busy, streams each result back as it finishes, and stops running Spark work promptly on
``timeout``, ``loss_threshold``, ``early_stop_fn``, a per-trial time limit or Ctrl-C.

Importing this module does not import pyspark; creating a ``SparkTrials`` does.
"""

from __future__ import annotations

import logging
import numbers
import warnings
from typing import Any

from ._preflight import check_parallelism
from .exceptions import InvalidArgumentError
from .fmin import FMIN_CANCELLED_REASON_EARLY_STOPPING, FMIN_CANCELLED_REASON_TIMEOUT, FMIN_CANCELLED_REASON_USER
from .objective import Domain
from .trials import Trials, TrialState

__all__ = [
    "FMIN_CANCELLED_REASON_EARLY_STOPPING",
    "FMIN_CANCELLED_REASON_TIMEOUT",
    "FMIN_CANCELLED_REASON_USER",
    "SparkTrials",
]

logger = logging.getLogger(__name__)


def _positive(name: str, value: Any, *, integer: bool = False) -> None:
    kind = numbers.Integral if integer else numbers.Real
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        what = "a positive int" if integer else "a positive number of seconds"
        raise InvalidArgumentError(f"{name} must be {what} or None, got {value!r}")


class SparkTrials(Trials):
    """Trials that run on Spark (Hyperopt's ``SparkTrials`` signature, plus a few options).

    Parameters
    ----------
    parallelism:
        Trials run at once. Default: every task slot of the cluster (cores / ``spark.task.cpus``,
        divided by ``cpus_per_trial``); also for 0 or less, with a warning, as Hyperopt. A larger
        request is reduced to the slots, with a warning.
    timeout:
        Seconds for a whole ``fmin`` run; running trials are cancelled when it expires.
    loss_threshold:
        Stop as soon as a trial reaches this loss or lower.
    spark_session:
        The session to use (classic or Spark Connect). Default: the active session, else an
        embedded ``local[*]`` session configured from the project's ``conf/``.
    trial_timeout:
        Seconds one trial may run; a trial running longer is stopped and marked failed with a
        ``TrialTimeout`` error, and only that trial is affected.
    cpus_per_trial:
        CPU cores each trial needs. Fewer trials run at once; on clusters that support
        stage-level scheduling the tasks also request that many cores.
    result_channel:
        ``"auto"`` (default): results stream over a direct connection from the tasks to this
        process when the executors can reach it, else they come back through Spark jobs.
        ``"spark"`` forces the latter; ``"socket"`` the former.
    """

    def __init__(
        self,
        parallelism: int | None = None,
        timeout: float | None = None,
        loss_threshold: float | None = None,
        spark_session: Any = None,
        *,
        trial_timeout: float | None = None,
        cpus_per_trial: int | None = None,
        result_channel: str = "auto",
    ) -> None:
        super().__init__()
        if isinstance(parallelism, numbers.Integral) and not isinstance(parallelism, bool) and parallelism <= 0:
            # Hyperopt documents a non-positive parallelism as "Spark's default".
            warnings.warn(
                f"SparkTrials: parallelism={parallelism} is not positive; using every task slot of the "
                "cluster (pass parallelism=None for that)",
                UserWarning,
                stacklevel=2,
            )
            parallelism = None
        _positive("parallelism", parallelism, integer=True)
        _positive("timeout", timeout)
        _positive("trial_timeout", trial_timeout)
        _positive("cpus_per_trial", cpus_per_trial, integer=True)
        bad_threshold = isinstance(loss_threshold, bool) or not isinstance(loss_threshold, numbers.Real)
        if loss_threshold is not None and bad_threshold:
            raise InvalidArgumentError(f"loss_threshold must be a number or None, got {loss_threshold!r}")
        from ._spark_executor import CHANNELS
        from ._spark_session import resolve_session, session_facts

        if result_channel not in CHANNELS:
            raise InvalidArgumentError(f"result_channel must be one of {CHANNELS}, got {result_channel!r}")
        self.timeout = timeout
        self.loss_threshold = loss_threshold
        self.trial_timeout = trial_timeout
        self.cpus_per_trial = cpus_per_trial
        self.result_channel = result_channel
        self._spark = resolve_session(spark_session)
        self._facts = session_facts(self._spark)
        per_trial = max(cpus_per_trial or 1, self._facts.task_cpus)
        cores = self._facts.slots * self._facts.task_cpus
        if per_trial > cores:
            warnings.warn(
                f"cpus_per_trial={per_trial} is more than the {cores} cores of this Spark cluster: trials run "
                f"one at a time with the cores there are. Lower cpus_per_trial or add executors",
                stacklevel=2,
            )
        slots = max(1, cores // per_trial)
        self.parallelism = slots if parallelism is None else check_parallelism(int(parallelism), slots=slots)
        self.parallelism_given = parallelism is not None
        self._profile = self._resource_profile(per_trial)
        self.last_channel: str | None = None

    def _resource_profile(self, cpus: int) -> Any:
        """A stage-level resource profile asking ``cpus`` cores per task, where Spark supports it."""
        if cpus <= self._facts.task_cpus or self._facts.local:
            return None  # local mode has no stage-level scheduling; fewer trials at once is the limit
        try:
            from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests

            return ResourceProfileBuilder().require(TaskResourceRequests().cpus(cpus)).build
        except Exception as err:
            warnings.warn(
                f"cpus_per_trial={cpus}: this Spark cannot request cores per task ({err}); trials run "
                "with spark.task.cpus cores each, fewer at a time",
                stacklevel=3,
            )
            return None

    # ----- Hyperopt's counters ----------------------------------------------------------------

    def count_successful_trials(self) -> int:
        """Trials that finished with a result (Hyperopt: state DONE)."""
        return self.count_by_state_unsynced(int(TrialState.DONE))

    def count_failed_trials(self) -> int:
        """Trials whose objective raised, timed out or lost its worker (state ERROR)."""
        return self.count_by_state_unsynced(int(TrialState.ERROR))

    def count_cancelled_trials(self) -> int:
        """Trials stopped by ``timeout``, an early stop or an interrupt (state CANCEL)."""
        return self.count_by_state_unsynced(int(TrialState.CANCEL))

    def count_total_trials(self) -> int:
        """Every trial, in any state."""
        return len(self)

    # ----- the executor seam ------------------------------------------------------------------

    #: A failing trial fails alone and the run goes on, as with Hyperopt's SparkTrials.
    errors_stop_fmin = False

    def _make_executor(
        self,
        domain: Domain,
        *,
        max_queue_len: int,
        adaptive: bool = True,
        parallelism: int | None = None,
        deadline: float | None = None,
    ) -> Any:
        from ._spark_executor import SparkExecutor
        from ._spark_session import resolve_session, session_facts

        if self._spark is None:
            # A copy (pickle, copy.deepcopy, sklearn.clone) keeps no session: take the active one.
            self._spark = resolve_session(None)
            self._facts = session_facts(self._spark)
            self._profile = self._resource_profile(max(self.cpus_per_trial or 1, self._facts.task_cpus))
        executor = SparkExecutor(
            self._spark,
            self._facts,
            domain,
            parallelism=self.parallelism if parallelism is None else min(parallelism, self.parallelism),
            trial_timeout=self.trial_timeout,
            max_queue_len=max_queue_len,
            queue_ahead=not adaptive,
            channel=self.result_channel,
            profile=self._profile,
            deadline=deadline,
        )
        self.last_channel = executor.channel
        return executor

    def fmin(self, fn: Any, space: Any, algo: Any = None, max_evals: int | None = None, **kwargs: Any) -> Any:
        """``fmin`` with these trials; ``timeout``/``loss_threshold`` default to this object's."""
        from .fmin import fmin

        timeout = kwargs.pop("timeout", None)
        if self.timeout is not None:
            timeout = self.timeout if timeout is None else min(timeout, self.timeout)
        loss_threshold = kwargs.pop("loss_threshold", None)
        if self.loss_threshold is not None:
            loss_threshold = self.loss_threshold if loss_threshold is None else max(loss_threshold, self.loss_threshold)
        kwargs.pop("allow_trials_fmin", None)
        kwargs.pop("trials", None)
        return fmin(
            fn, space, algo=algo, max_evals=max_evals, timeout=timeout, loss_threshold=loss_threshold,
            trials=self, allow_trials_fmin=False, **kwargs,
        )  # fmt: skip

    # SparkTrials hold a live session; copies (pickles) keep only the trial records.
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_spark"] = None
        state["_profile"] = None
        return state
