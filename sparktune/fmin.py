"""``fmin``: the one driver loop.

The loop asks the algorithm for as many points as the executor has free slots, submits them,
blocks on the executor's events (never on a clock), records every result in the ``Trials``, and
checks the stop conditions after each result: ``max_evals``, ``timeout``, ``loss_threshold``,
``early_stop_fn``, an objective error, Ctrl-C. On stopping, trials still in flight are cancelled
and marked so; every finished trial stays in the history (and in ``trials_save_file``).
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import _preflight, _resume
from . import progress as _progress
from ._seeding import base_seed, seed_for, seed_is_given
from ._suggest import is_adaptive
from .exceptions import (
    AllTrialsFailed,
    InvalidAnnotatedParameter,
    InvalidArgumentError,
    JournalError,
    SerializationError,
    TrialError,
)
from .executors import Completion, Event, Executor, Started, TrialTask
from .objective import Domain
from .space import space_eval
from .trials import CANCELLED_BY_FMIN, Trial, Trials, TrialState

__all__ = [
    "FMIN_CANCELLED_REASON_EARLY_STOPPING",
    "FMIN_CANCELLED_REASON_TIMEOUT",
    "FMIN_CANCELLED_REASON_USER",
    "fmin",
    "fmin_pass_expr_memo_ctrl",
    "generate_trials_to_calculate",
    "space_eval",
]

logger = logging.getLogger(__name__)

Algo = Callable[..., Sequence[Mapping[str, Any]]]

#: ``trials.fmin_cancelled_reason`` after a run that stopped early: Hyperopt's SparkTrials texts.
FMIN_CANCELLED_REASON_TIMEOUT = "fmin run timeout"
FMIN_CANCELLED_REASON_EARLY_STOPPING = "early stopping condition"
FMIN_CANCELLED_REASON_USER = "fmin run cancelled by user"
_CANCELLED_REASONS = {
    "timeout": FMIN_CANCELLED_REASON_TIMEOUT,
    "early_stop_fn": FMIN_CANCELLED_REASON_EARLY_STOPPING,
    "loss_threshold": FMIN_CANCELLED_REASON_EARLY_STOPPING,
    "interrupted": FMIN_CANCELLED_REASON_USER,
}

#: Stops the run asked for, after which trials that can still finish are waited for, at most
#: ``_SETTLE_S`` seconds (Spark jobs carrying several short trials: killing one loses the trials it
#: already finished). Errors and Ctrl-C stop at once.
_SETTLED_STOPS = ("timeout", "early_stop_fn", "loss_threshold")
_SETTLE_S = 2.0


def fmin_pass_expr_memo_ctrl(f: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``f`` to be called as ``f(expr=..., memo=..., ctrl=...)`` (Hyperopt's decorator)."""
    f.fmin_pass_expr_memo_ctrl = True  # type: ignore[attr-defined]
    return f


def generate_trials_to_calculate(points: Sequence[Mapping[str, Any]]) -> Trials:
    """A ``Trials`` whose first trials are ``points`` (``{label: value}``, choices as indices)."""
    trials = Trials()
    _insert_points(trials, points, space=None)
    return trials


def _insert_points(trials: Trials, points: Sequence[Mapping[str, Any]], space: Any, resumed: bool = False) -> None:
    if not isinstance(points, Sequence) or isinstance(points, (str, bytes)):
        raise InvalidArgumentError(
            f"points_to_evaluate must be a list of dicts {{label: value}}, got {type(points).__name__}"
        )
    # On resume, a point the history already holds (inserted by the run this one resumes, in
    # whatever order the points came then) is not run again; each held trial stands for one point.
    held = Counter(_point_key(r.vals) for r in trials.records) if resumed else Counter()
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise InvalidArgumentError(f"points_to_evaluate[{i}] must be a dict {{label: value}}, got {point!r}")
        vals = dict(point) if space is None else space.validate_point(point, f"points_to_evaluate[{i}]")
        labels = tuple(sorted(vals)) if space is None else space.sorted_labels
        vals = {label: vals[label] for label in labels if label in vals}  # Hyperopt's key order
        key = _point_key(vals)
        if held[key]:
            held[key] -= 1
            continue
        (tid,) = trials.new_trial_ids(1)
        trials._add(Trial(tid=tid, vals=vals, labels=labels))


def _point_key(vals: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(vals.items()))


def _check_count(name: str, value: object, *, allow_zero: bool = True) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or isinstance(value, complex):
        raise InvalidArgumentError(f"{name} must be a number or None, got {type(value).__name__} {value!r}")
    v = float(value)
    if math.isnan(v) or v < 0 or (v == 0 and not allow_zero):
        raise InvalidArgumentError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def _annotated(fn: Callable[..., Any]) -> tuple[Callable[[dict[str, Any]], Any], dict[str, Any]]:
    """Build the space from ``fn``'s annotations and wrap ``fn`` to take it as keywords."""
    space: dict[str, Any] = {}
    # eval_str: under `from __future__ import annotations` the annotations are strings.
    for p in inspect.signature(fn, eval_str=True).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise InvalidAnnotatedParameter(
                f"space='annotated': {fn.__name__} takes *{p.name}; use named parameters only"
            )
        if p.annotation is p.empty:
            raise InvalidAnnotatedParameter(
                f"space='annotated': parameter {p.name!r} of {fn.__name__} has no annotation; "
                f"annotate it with a space, e.g. {p.name}: hp.uniform({p.name!r}, 0, 1)"
            )
        space[p.name] = p.annotation

    def call(config: dict[str, Any]) -> Any:
        return fn(**config)

    call.__name__ = getattr(fn, "__name__", "objective")
    return call, space


def fmin(
    fn: Callable[..., Any],
    space: Any,
    algo: Algo | None = None,
    max_evals: int | None = None,
    timeout: float | None = None,
    loss_threshold: float | None = None,
    trials: Trials | None = None,
    rstate: Any = None,
    allow_trials_fmin: bool = True,
    pass_expr_memo_ctrl: bool | None = None,
    catch_eval_exceptions: bool = False,
    verbose: bool = True,
    return_argmin: bool = True,
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    max_queue_len: int = 1,
    show_progressbar: bool | _progress.ProgressFactory = True,
    early_stop_fn: Callable[..., Any] | None = None,
    trials_save_file: str = "",
) -> Any:
    """Minimise ``fn`` over ``space``; Hyperopt's ``fmin`` with the same arguments and results.

    Returns the best point as ``{label: value}`` with choice indices (``return_argmin=True``)
    or built from the space (``return_argmin=False``). ``max_evals`` counts every trial in
    ``trials``, so passing trials from an earlier run continues it. ``timeout`` (seconds) also
    stops the trials that are running when it expires.
    """
    if trials is not None and not isinstance(trials, Trials):
        raise InvalidArgumentError(f"trials must be a sparktune Trials (or SparkTrials), got {type(trials).__name__}")
    if allow_trials_fmin and trials is not None and type(trials).fmin is not Trials.fmin:
        return trials.fmin(
            fn, space, algo=algo, max_evals=max_evals, timeout=timeout, loss_threshold=loss_threshold,
            rstate=rstate, pass_expr_memo_ctrl=pass_expr_memo_ctrl, catch_eval_exceptions=catch_eval_exceptions,
            verbose=verbose, return_argmin=return_argmin, points_to_evaluate=points_to_evaluate,
            max_queue_len=max_queue_len, show_progressbar=show_progressbar, early_stop_fn=early_stop_fn,
            trials_save_file=trials_save_file,
        )  # fmt: skip

    # ----- validate everything before any evaluation ----------------------------------------
    if not callable(fn):
        raise InvalidArgumentError(f"fn must be callable, got {type(fn).__name__}")
    if isinstance(space, str):
        if space != "annotated":
            raise InvalidArgumentError(f"space must be a search space or 'annotated', got the string {space!r}")
        fn, space = _annotated(fn)
    if algo is None:
        from . import tpe

        algo = tpe.suggest
    if not callable(algo):
        raise InvalidArgumentError(
            f"algo must be a suggest function such as tpe.suggest or rand.suggest, got {type(algo).__name__} {algo!r}"
        )
    _check_count("max_evals", max_evals)
    _check_count("timeout", timeout)
    if loss_threshold is not None and (
        isinstance(loss_threshold, bool) or not isinstance(loss_threshold, numbers.Real)
    ):
        raise InvalidArgumentError(f"loss_threshold must be a number or None, got {loss_threshold!r}")
    if isinstance(max_queue_len, bool) or not isinstance(max_queue_len, int) or max_queue_len < 1:
        raise InvalidArgumentError(f"max_queue_len must be an int >= 1, got {max_queue_len!r}")
    if early_stop_fn is not None and not callable(early_stop_fn):
        raise InvalidArgumentError(f"early_stop_fn must be callable or None, got {type(early_stop_fn).__name__}")
    if not isinstance(trials_save_file, (str, os.PathLike)):
        raise InvalidArgumentError(f"trials_save_file must be a path string, got {type(trials_save_file).__name__}")
    seed = base_seed(rstate)
    domain = Domain(fn, space, pass_expr_memo_ctrl=pass_expr_memo_ctrl)
    progress_factory = _progress.resolve(show_progressbar)
    limit = sys.maxsize if max_evals is None else int(max_evals)

    if trials is None:
        trials = Trials()
    parallelism = getattr(trials, "parallelism", None)
    run_parallelism = None  # fewer trials at once than the trials object's parallelism
    if isinstance(parallelism, int) and max_evals is not None and max_evals > 0:
        if getattr(trials, "parallelism_given", True):
            run_parallelism = _preflight.check_parallelism(parallelism, int(max_evals))
        else:  # the cluster's slots, by default: no need to warn
            run_parallelism = min(parallelism, int(max_evals))
    trials.refresh()  # take in results told by editing trial documents, as Hyperopt's fmin does
    trials._space_info = _resume.space_info(domain.space)
    resumed = None
    if trials_save_file:
        resumed = _resume.open_save_file(trials, os.fspath(trials_save_file), domain.space, seed)
        if resumed.seed is not None and not seed_is_given(rstate):
            seed = resumed.seed  # continue the proposals of the run that wrote the file
    writer = None if resumed is None else resumed.writer
    trials._run_seed = seed  # a saved copy resumes with it too
    try:
        if points_to_evaluate:
            _insert_points(trials, points_to_evaluate, domain.space, resumed=bool(resumed and resumed.n_loaded))
        _resume.requeue_interrupted(trials)
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        executor = trials._make_executor(
            domain,
            max_queue_len=max_queue_len,
            adaptive=is_adaptive(algo),
            parallelism=run_parallelism,
            deadline=deadline,
        )
        loop = _Loop(
            domain=domain, trials=trials, algo=algo, executor=executor, seed=seed, max_evals=limit,
            deadline=deadline,
            loss_threshold=loss_threshold, early_stop_fn=early_stop_fn,
            catch=catch_eval_exceptions or not trials.errors_stop_fmin,
        )  # fmt: skip
        trials._fmin_cancelled_reason = None
        try:
            with progress_factory(initial=len(trials), total=None if max_evals is None else limit) as bar:
                loop.run(bar)
        finally:
            executor.close()
            trials._fmin_cancelled_reason = _CANCELLED_REASONS.get(loop.stop_reason or "")
    except (JournalError, SerializationError) as err:
        setattr(err, "trials", trials)  # noqa: B010  # the in-memory history, for the caller to save
        raise
    finally:
        if writer is not None:
            _close_journal(trials, writer, failing=sys.exc_info()[1] is not None)

    if verbose:
        best = trials.best_loss()
        logger.info("fmin: %d trials, best loss %s (stopped: %s)", len(trials), best, loop.stop_reason)
    if return_argmin:
        if len(trials) == 0:
            raise AllTrialsFailed(
                f"there are no trials, so there is no best point (max_evals={max_evals}, stopped: {loop.stop_reason})"
            )
        return trials.argmin
    # As in Hyperopt: None without trials; with trials but no ok one, argmin raises AllTrialsFailed.
    return space_eval(domain.space, trials.argmin) if len(trials) else None


def _close_journal(trials: Trials, writer: Any, *, failing: bool) -> None:
    """Write any change that missed the journal, then detach and close it.

    When fmin is already failing, a second error here must not hide the first one.
    """
    try:
        trials._flush_journal()
    except (JournalError, SerializationError) as err:
        if not failing:
            setattr(err, "trials", trials)  # noqa: B010  # the in-memory history, for the caller to save
            raise
    finally:
        trials._attach_journal(None)
        try:
            writer.close()
        except JournalError as err:
            if not failing:
                setattr(err, "trials", trials)  # noqa: B010
                raise


class _Loop:
    """State of one ``fmin`` call; :meth:`run` is the loop."""

    def __init__(
        self,
        *,
        domain: Domain,
        trials: Trials,
        algo: Algo,
        executor: Executor,
        seed: int,
        max_evals: int,
        deadline: float | None,
        loss_threshold: float | None,
        early_stop_fn: Callable[..., Any] | None,
        catch: bool,
    ) -> None:
        self.domain = domain
        self.trials = trials
        self.algo = algo
        self.executor = executor
        self.seed = seed
        self.max_evals = max_evals
        self.deadline = deadline
        self.loss_threshold = loss_threshold
        self.early_stop_fn = early_stop_fn
        self.early_stop_args: list[Any] = []
        self.catch = catch
        self.in_flight: set[int] = set()
        # Trials waiting to run that no loop submitted yet (points_to_evaluate, a resumed run).
        self.queued = deque(r.tid for r in trials.records if r.state is TrialState.NEW)
        self.stop_reason: str | None = None
        self.algo_exhausted = False
        # In-process trials run one at a time, so max_queue_len > 1 means what it means in
        # Hyperopt: rounds of that many proposals (one suggest call), then their evaluation.
        # Executors with parallel slots refill a slot as soon as it frees.
        self.rounds = getattr(executor, "runs_in_rounds", False)
        # A Trials subclass that overrides refresh() (to save or log the trials) has it called on
        # every trial, as Hyperopt's fmin does; Trials' own refresh() needs no call in the loop.
        self.refresh_each = type(trials).refresh is not Trials.refresh

    def _refresh_hook(self) -> None:
        if self.refresh_each:
            self.trials.refresh()

    def _propose(self, n: int) -> list[int]:
        ids = self.trials.new_trial_ids(n)
        seed = seed_for(self.seed, ids[0])
        docs = self.algo(ids, self.domain, self.trials, seed)
        if not docs:
            self.algo_exhausted = True
            return []
        with self.trials._journal_batch():  # the round's proposals reach the file together
            # Through the public method, which a Trials subclass may override, as with Hyperopt.
            self.trials.insert_trial_docs(docs)
            tids = [int(doc["tid"]) for doc in docs]
            for tid in tids:
                self.trials.trial(tid).seed = seed  # journaled when the batch ends
        self._refresh_hook()
        return tids

    def _fill(self) -> None:
        if self.rounds and self.in_flight:
            return  # in-process: the next round is proposed when this one has finished
        free = self.executor.capacity() - len(self.in_flight)
        if free <= 0:
            return
        tids = [self.queued.popleft() for _ in range(min(free, len(self.queued)))]
        budget = self.max_evals - len(self.trials)
        # In rounds, waiting trials (points, or the rest of a round a killed run left) are a
        # round of their own: a resumed run then proposes the rounds the whole run would have.
        if len(tids) < free and budget > 0 and not self.algo_exhausted and not (self.rounds and tids):
            tids += self._propose(min(free - len(tids), budget))
        if tids:
            self.in_flight.update(tids)
            self.executor.submit([TrialTask(t, dict(self.trials.trial(t).vals)) for t in tids])

    def run(self, bar: Any) -> None:
        failed = 0
        silent = getattr(bar, "silent", False)
        try:
            while True:
                self._fill()
                if not self.in_flight:
                    self.stop_reason = "max_evals" if not self.algo_exhausted else "algorithm finished"
                    return
                timeout = None if self.deadline is None else self.deadline - time.monotonic()
                events = self.executor.wait(timeout)
                for i, event in enumerate(events):
                    if isinstance(event, Started):
                        if event.tid in self.in_flight:
                            self.trials._mark_running(event.tid, event.worker)
                            if not silent:
                                bar.postfix = self._postfix(failed)
                                bar.update(0)
                        continue
                    if not isinstance(event, Completion) or event.tid not in self.in_flight:
                        continue  # a late result of a cancelled trial
                    self.in_flight.discard(event.tid)
                    record = self.trials._record_outcome(event.tid, event.outcome, event.worker)
                    self._refresh_hook()
                    failed += record.loss is None
                    if not silent:
                        bar.postfix = self._postfix(failed)
                    bar.update(1)
                    # A stop records first the other results this wait() returned (a pack's).
                    if event.outcome.exception is not None and not self.catch:
                        self._stop("objective raised", events[i + 1 :])
                        raise event.outcome.exception
                    if event.outcome.error is not None and not self.catch:
                        self._stop("objective raised", events[i + 1 :])
                        raise TrialError(event.tid, event.outcome.error)
                    if self._should_stop(events[i + 1 :]):
                        return
                    # Refill after each result, not after each wait(): what the algorithm sees
                    # then depends only on the order of results, never on how many one wait()
                    # happened to return, so a seeded queued run (max_queue_len > 1) reproduces.
                    self._fill()
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    self._stop("timeout")
                    return
        except KeyboardInterrupt:
            self._stop("interrupted")
            raise
        except BaseException:
            self._stop(self.stop_reason or "error")
            raise

    def _record_finished(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, Completion) and event.tid in self.in_flight:
                self.in_flight.discard(event.tid)
                self.trials._record_outcome(event.tid, event.outcome, event.worker)

    def _postfix(self, failed: int) -> str:
        running = self.trials.count_by_state_unsynced(TrialState.RUNNING)
        return _progress.postfix(self.trials.best_loss(), running, failed)

    def _should_stop(self, arrived: Sequence[Event]) -> bool:
        best = self.trials.best_loss()
        if self.loss_threshold is not None and best is not None and best <= self.loss_threshold:
            self._stop("loss_threshold", arrived)
            return True
        # In rounds, as Hyperopt, the stop function sees whole rounds: no trial of the round is
        # still queued (stop functions written for Hyperopt read the last trial's loss).
        if self.early_stop_fn is not None and not (self.rounds and self.in_flight):
            stop, self.early_stop_args = self.early_stop_fn(self.trials, *self.early_stop_args)
            if stop:
                self._stop("early_stop_fn", arrived)
                return True
        return False

    def _stop(self, reason: str, arrived: Sequence[Event] = ()) -> None:
        """Cancel everything in flight and mark it so. Results that already ``arrived`` are
        recorded first, and a stop the run asked for (timeout, early stop, loss threshold) also
        records what the executor can still finish within ``_SETTLE_S`` (Spark jobs carrying
        several short trials, see :meth:`Executor.settle`): no finished trial is lost."""
        self.stop_reason = self.stop_reason or reason
        self._record_finished(arrived)
        if self.in_flight and reason in _SETTLED_STOPS:
            self._record_finished(self.executor.settle(_SETTLE_S))
        if self.in_flight:
            self.executor.cancel(list(self.in_flight))
        # Everything not finished is marked, in flight or not (queued points, a trial proposed when
        # Ctrl-C came): no trial is left NEW or RUNNING, and a resumed run runs them again.
        for record in self.trials.records:
            if not record.state.finished:
                self.trials._mark_cancelled(record.tid, f"{CANCELLED_BY_FMIN} ({reason})")
        self.in_flight.clear()
