import os, numpy as np, collections
from sparktune import fmin, hp, Trials, rand, tpe
space = {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", {"y": hp.uniform("y", 0, 1)}]), "q": hp.quniform("q", 1, 10, 1)}
def count(P):
    T = Trials.load(P); return collections.Counter(repr(sorted(r.vals.items())) for r in T.records), len(T)
def go(name, pte1, pte2, n1=3, n2=8, **kw):
    P = f"/tmp/h5/pte_{name}.jsonl"
    if os.path.exists(P): os.unlink(P)
    fmin(lambda p: 1.0, space, algo=rand.suggest, max_evals=n1, rstate=np.random.default_rng(0), trials_save_file=P, show_progressbar=False, points_to_evaluate=pte1, **kw)
    fmin(lambda p: 1.0, space, algo=rand.suggest, max_evals=n2, rstate=np.random.default_rng(0), trials_save_file=P, show_progressbar=False, points_to_evaluate=pte2, **kw)
    c, n = count(P); print(f"{name:12s} trials={n} duplicates={[k for k, v in c.items() if v > 1]}")
p0 = {"x": 0.5, "c": 1, "y": 0.3, "q": 3}
p1 = {"x": np.float32(0.1), "c": 0, "q": 7.0}
p2 = {"x": 1.0, "c": 0, "y": 0.9, "q": 2}   # y inactive
go("cond", [p0, p1, p2], [p0, p1, p2])
go("reorder", [p0, p1], [p1, p0])
go("append", [p0], [p0, p1])
go("max_lt_pts", [p0, p1, p2], [p0, p1, p2], n1=2, n2=5)
go("qlen3", [p0, p1, p2], [p0, p1, p2], max_queue_len=3)
