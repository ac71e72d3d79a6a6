"""A tuning job for the ``sparktune`` command, also runnable as a script.

sparktune examples/quadratic_job.py --trials-out trials.csv --plots-dir plots
python -m sparktune examples/quadratic_job.py --spark --parallelism 2
spark-submit --master local[2] sparktune/__main__.py examples/quadratic_job.py --spark
python examples/quadratic_job.py          # the same search, without the command
"""

from __future__ import annotations

import math

from sparktune import STATUS_OK, fmin, hp, space_eval

space = {
    "x": hp.uniform("x", -5, 5),
    "shape": hp.choice("shape", [{"kind": "bowl"}, {"kind": "wave", "freq": hp.quniform("freq", 1, 5, 1)}]),
}
max_evals = 40
algo = "tpe"
seed = 0


def objective(params: dict) -> dict:
    x, shape = params["x"], params["shape"]
    loss = (x - 1) ** 2
    if shape["kind"] == "wave":
        loss += 1 + math.sin(shape["freq"] * x)
    return {"loss": loss, "status": STATUS_OK}


if __name__ == "__main__":
    best = fmin(objective, space, max_evals=max_evals, rstate=seed, show_progressbar=False)
    print("best:", space_eval(space, best))
