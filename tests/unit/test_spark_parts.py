"""SparkTrials' parts that need no Spark: pack sizing, the wire format, lazy imports."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from sparktune._spark_packing import PackSizer
from sparktune._spark_wire import ChannelClosed, recv_message, recv_token, send_message, send_token


def test_pack_size_follows_trial_durations() -> None:
    sizer = PackSizer(target_seconds=0.5, max_pack=64)
    assert sizer.size == 1  # nothing measured yet
    for _ in range(5):
        sizer.observe(0.01)
    assert sizer.size == 50
    for _ in range(10):
        sizer.observe(2.0)
    assert sizer.size == 1
    for _ in range(40):
        sizer.observe(1e-7)
    assert sizer.size == 64


def test_pack_sizer_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="target_seconds > 0"):
        PackSizer(target_seconds=0, max_pack=4)


def test_wire_round_trip_and_closed_peer() -> None:
    left, right = socket.socketpair()
    with left, right:
        send_token(left, b"k" * 32)
        send_message(left, ("done", 3, {"loss": 1.5, "status": "ok"}, lambda: 7))
        assert recv_token(right) == b"k" * 32
        kind, tid, result, fn = recv_message(right)
        assert (kind, tid, result, fn()) == ("done", 3, {"loss": 1.5, "status": "ok"}, 7)
        left.close()
        with pytest.raises(ChannelClosed):
            recv_message(right)


def test_spark_module_does_not_import_pyspark() -> None:
    code = "import sys, sparktune.spark; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_worker_cache_keeps_the_newest_objectives_within_a_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudpickle

    from sparktune import _spark_worker as worker

    monkeypatch.setattr(worker, "_domains", type(worker._domains)())
    monkeypatch.setattr(worker, "_MAX_CACHED_BYTES", 3500)
    for i in range(4):
        assert worker.cache_domain(f"run{i}", cloudpickle.dumps(bytes([i]) * 1000)) == bytes([i]) * 1000
    # 4 payloads of ~1 KB against a 3.5 KB budget: the oldest went.
    assert worker.cached_domain("run0") is None
    assert worker.cached_domain("run3") is not None
    worker.cached_domain("run1")  # used: now the most recent but one
    worker.cache_domain("run4", cloudpickle.dumps(b"x" * 1000))
    assert worker.cached_domain("run1") is not None and worker.cached_domain("run2") is None
    # One objective above the whole budget still stays while it is the newest.
    worker.cache_domain("huge", cloudpickle.dumps(b"y" * 5000))
    assert worker.cached_domain("huge") == b"y" * 5000
    assert list(worker._domains) == ["huge"]
