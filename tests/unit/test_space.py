"""Search spaces: structure, conditions, scope, space_eval and validation."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from sparktune import hp, space_eval
from sparktune.exceptions import DuplicateLabel, InvalidSpaceError
from sparktune.pyll import scope, stochastic
from sparktune.space import compile_space


def test_nested_structure_and_arithmetic() -> None:
    space = {
        "lr": 10 ** hp.uniform("log_lr", -4, -1),
        "layers": [scope.int(hp.quniform("units", 8, 64, 8)), ("fixed", 2)],
        "neg": -hp.uniform("n", 1, 2),
    }
    out = space_eval(space, {"log_lr": -2.0, "units": 32.0, "n": 1.5})
    assert out == {"lr": pytest.approx(0.01), "layers": (32, ("fixed", 2)), "neg": -1.5}
    assert isinstance(out["layers"][0], int)


def test_points_have_tuples_for_lists_and_sorted_dicts_as_in_hyperopt() -> None:
    """Hyperopt builds every list of a space as a tuple (hashable: lru_cache and dict keys work)
    and every dict with its keys sorted; objectives written for it rely on both."""
    space = {"z": hp.choice("layers", [[64], [64, 64]]), "a": [hp.uniform("x", 0, 1), 2], "m": {2: "b", 1: "a"}}
    out = space_eval(space, {"layers": 1, "x": 0.5})
    assert out == {"a": (0.5, 2), "m": {1: "a", 2: "b"}, "z": (64, 64)}
    assert list(out) == ["a", "m", "z"] and list(out["m"]) == [1, 2]
    assert hash(out["z"]) == hash((64, 64))
    mixed = space_eval({1: hp.uniform("y", 0, 1), "b": 2}, {"y": 0.5})
    assert list(mixed) == [1, "b"]  # keys that do not compare keep their order


def test_scope_define_user_function() -> None:
    @scope.define
    def sparktune_test_area(w: float, h: float) -> float:
        return w * h

    space = scope.sparktune_test_area(hp.uniform("w", 1, 2), 3)
    assert space_eval(space, {"w": 1.5}) == pytest.approx(4.5)


def test_deep_conditional_branches() -> None:
    space = hp.choice(
        "model",
        [
            {
                "type": "svm",
                "kernel": hp.choice("kernel", [{"k": "rbf", "gamma": hp.loguniform("gamma", -5, 0)}, {"k": "lin"}]),
            },
            {"type": "tree", "depth": hp.randint("depth", 1, 10)},
        ],
    )
    compiled = compile_space(space)
    assert compiled.conditions["gamma"] == ((("model", 0), ("kernel", 0)),)
    assert compiled.labels.index("model") < compiled.labels.index("kernel") < compiled.labels.index("gamma")
    cols = compiled.sample(np.random.default_rng(0), 500)
    gamma_active = ~np.isnan(cols["gamma"])
    assert np.array_equal(gamma_active, (cols["model"] == 0) & (cols["kernel"] == 0))
    assert space_eval(space, {"model": 0, "kernel": 0, "gamma": 0.1}) == {
        "type": "svm",
        "kernel": {"k": "rbf", "gamma": 0.1},
    }


def test_space_eval_accepts_hyperopt_list_shape() -> None:
    space = {"a": hp.choice("a", ["x", "y"]), "b": hp.uniform("b", 0, 1)}
    assert space_eval(space, {"a": [1], "b": [0.5], "unused": []}) == {"a": "y", "b": 0.5}


def test_same_object_reused_is_one_parameter() -> None:
    x = hp.uniform("x", 0, 1)
    compiled = compile_space({"a": x, "b": x})
    assert compiled.labels == ("x",)
    sample = stochastic.sample({"a": x, "b": x}, rng=np.random.default_rng(0))
    assert sample["a"] == sample["b"]


def test_equal_definitions_share_a_label_but_different_ones_fail() -> None:
    assert compile_space([hp.uniform("x", 0, 1), hp.uniform("x", 0, 1)]).labels == ("x",)
    with pytest.raises(DuplicateLabel, match="label 'x' is used by two different parameters"):
        compile_space([hp.uniform("x", 0, 1), hp.uniform("x", 0, 2)])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: hp.uniform("lr", 1, 0), r"hp.uniform\('lr', ...\): low must be < high, got low=1, high=0"),
        (lambda: hp.loguniform("lr", 2, 2), "low must be < high"),
        (lambda: hp.quniform("q", 0, 1, 0), "q must be > 0, got q=0"),
        (lambda: hp.qloguniform("q", 0, 1, -1), "q must be > 0"),
        (lambda: hp.normal("n", 0, 0), "sigma must be > 0"),
        (lambda: hp.lognormal("n", 0, -1), "sigma must be > 0"),
        (lambda: hp.qnormal("n", 0, 1, 0), "q must be > 0"),
        (lambda: hp.choice("c", []), "options is empty"),
        (lambda: hp.pchoice("p", [(0.5, "a"), (0.4, "b")]), "probabilities must sum to 1, got 0.9"),
        (lambda: hp.pchoice("p", [(1.5, "a"), (-0.5, "b")]), "probability 1 is negative"),
        (lambda: hp.uniform(3, 0, 1), "the label must be a str, got int 3"),
        (lambda: hp.uniform("u", "0", 1), "low must be a number, got str '0'"),
        (lambda: hp.uniform("u", 0, float("inf")), "high must be finite"),
        (lambda: hp.randint("r", 0), "low must be < high"),
        (lambda: hp.randint("r", 5, 2), "low must be < high, got low=5, high=2"),
        (lambda: hp.randint("r", 1.5), "upper must be an integer"),
        (lambda: hp.randint("r", 1, 2, 3), "got 3 bounds"),
    ],
)
def test_bad_parameters_fail_early_with_the_label(make: object, message: str) -> None:
    with pytest.raises(InvalidSpaceError, match=message):
        make()  # type: ignore[operator]


def test_pchoice_probabilities_within_one_percent_of_one_are_rescaled() -> None:
    p = hp.pchoice("p", [(0.33, "a"), (0.33, "b"), (0.33, "c")])
    assert p.probs is not None and np.allclose(p.probs, [1 / 3] * 3) and sum(p.probs) == pytest.approx(1.0)


def test_uniformint_ignores_q_with_a_warning_as_hyperopt_ignores_it() -> None:
    with pytest.warns(UserWarning, match="q=2 is ignored"):
        u = hp.uniformint("u", 0, 10, q=2)
    assert u.q == 1.0


def test_a_namedtuple_in_the_space_comes_back_as_that_namedtuple() -> None:
    Pair = collections.namedtuple("Pair", ["lr", "depth"])
    space = Pair(hp.uniform("lr", 0, 1), hp.choice("depth", [2, 4]))
    got = space_eval(space, {"lr": 0.5, "depth": 1})
    assert got == Pair(0.5, 4) and isinstance(got, Pair)


def test_randint_keywords() -> None:
    assert compile_space(hp.randint("r", upper=4)).params[0].high == 4
    p = hp.randint("r", low=2, high=5)
    assert (p.low, p.high) == (2, 5)


def test_pchoice_values_are_indices() -> None:
    space = hp.pchoice("p", [(0.2, "a"), (0.8, "b")])
    assert space_eval(space, {"p": 1}) == "b"


def test_space_eval_reports_a_missing_active_label() -> None:
    with pytest.raises(KeyError, match="no value for the active parameter 'b'"):
        space_eval({"a": hp.uniform("a", 0, 1), "b": hp.uniform("b", 0, 1)}, {"a": 0.5})


def test_fingerprint_is_stable_and_distinguishes_spaces() -> None:
    a = compile_space({"x": hp.uniform("x", 0, 1)}).fingerprint()
    assert a == compile_space({"x": hp.uniform("x", 0, 1)}).fingerprint()
    assert a != compile_space({"x": hp.uniform("x", 0, 2)}).fingerprint()


def test_nodes_are_not_iterable() -> None:
    with pytest.raises(TypeError, match="not iterable"):
        list(hp.uniform("x", 0, 1))


def test_hyperopt_scope_functions_that_spaces_use() -> None:
    space = {
        "pow": scope.pow(hp.uniform("x", 1, 2), 2),
        "sum": scope.sum([hp.uniform("y", 0, 1), 1.0]),
        "identity": scope.identity(hp.choice("c", [1, 2])),
        "trig": scope.sin(0.0) + scope.cos(0.0) + scope.tan(0.0),
        "call": scope.call(dict, args=(), kwargs={"k": hp.uniform("z", 0, 1)}),
        "asarray": scope.asarray([1, 2]),
        "max": scope.max(hp.uniform("w", 0, 1), 0.5),
        "join": scope.str_join("-", ["a", "b"]),
    }
    got = space_eval(space, {"x": 1.5, "y": 0.25, "c": 1, "z": 0.1, "w": 0.25})
    assert got["pow"] == 2.25 and got["sum"] == 1.25 and got["identity"] == 2 and got["trig"] == 1.0
    assert got["call"] == {"k": 0.1} and np.array_equal(got["asarray"], [1, 2])
    assert got["max"] == 0.5 and got["join"] == "a-b"
