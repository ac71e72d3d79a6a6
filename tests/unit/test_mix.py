"""mix.suggest: proposals drawn from a mixture of algorithms."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest
from _algos_support import branin, branin_space, propose, run, vals

from sparktune import Domain, Trials, anneal, mix, rand
from sparktune.exceptions import InvalidArgumentError


def _tagging(tag: float) -> Any:
    """A suggest function whose points all have x1 == tag, recording each call's ids."""
    calls: list[list[int]] = []

    def suggest(new_ids: list[int], domain: Domain, trials: Trials, seed: int) -> list[dict[str, Any]]:
        calls.append(list(new_ids))
        docs = rand.suggest(new_ids, domain, trials, seed)
        for d in docs:
            d["misc"]["vals"]["x1"] = [tag]
        return docs

    suggest.calls = calls  # type: ignore[attr-defined]
    return suggest


def test_each_id_draws_its_algorithm_in_proportion() -> None:
    a, b = _tagging(1.0), _tagging(2.0)
    docs = propose(mix.suggest, branin_space(), Trials(), 400, seed=0, p_suggest=[(0.25, a), (0.75, b)])
    assert [d["tid"] for d in docs] == list(range(400))
    tags = np.array([vals(d)["x1"] for d in docs])
    assert 0.18 < np.mean(tags == 1.0) < 0.32
    assert len(a.calls) == 1 and len(b.calls) == 1, "each algorithm is called once per mix call"
    assert sorted(a.calls[0] + b.calls[0]) == list(range(400))


def test_zero_probability_algorithm_is_never_called() -> None:
    a, b = _tagging(1.0), _tagging(2.0)
    propose(mix.suggest, branin_space(), Trials(), 50, seed=3, p_suggest=[(0.0, a), (1.0, b)])
    assert a.calls == []


def test_reproducible_and_runs_inside_fmin() -> None:
    algo = partial(mix.suggest, p_suggest=[(0.3, rand.suggest), (0.7, anneal.suggest)])
    one = run(algo, branin_space(), branin, 30, seed=5, batch=3).losses()
    two = run(algo, branin_space(), branin, 30, seed=5, batch=3).losses()
    assert one == two and len(one) == 30


@pytest.mark.parametrize(
    "p_suggest, match",
    [
        ([], "empty"),
        ([(0.5, rand.suggest)], "sum to 1"),
        ([(-0.5, rand.suggest), (1.5, anneal.suggest)], ">= 0"),
        ([(1.0, "rand")], "suggest function"),
        ([(1.0,)], "pair"),
        (3, "list of"),
    ],
)
def test_bad_p_suggest_is_rejected(p_suggest: Any, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        propose(mix.suggest, branin_space(), Trials(), 2, seed=0, p_suggest=p_suggest)
