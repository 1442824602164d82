"""The shared unit runner (common/units.py) on a real Ray: order, the window, finished units read
back instead of rerun, a failing unit, actors."""
import json
import sys
import time
from pathlib import Path

import pytest
import ray

from corpusmill.common.units import Actors, Tasks, run_units

pytestmark = pytest.mark.usefixtures("ray_local")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/


def slow_square(delay: float, log_dir: str, k: int) -> dict:
    """Unit 0 is slow, so others finish before it; each run leaves a file, so a test can count what ran."""
    time.sleep(delay if k == 0 else 0)
    (Path(log_dir) / f"ran-{k}-{time.monotonic_ns()}").touch()
    (Path(log_dir) / f"marker-{k}.json").write_text(json.dumps({"k": k, "square": k * k}))
    return {"k": k, "square": k * k}


def fails_on_three(k: int) -> int:
    if k == 3:
        raise ValueError("unit three is bad")
    return k


class Doubler:
    def __init__(self, factor: int):
        self.factor = factor

    def run(self, k: int) -> int:
        return k * self.factor


def test_ordered_results_come_in_unit_order_and_unordered_as_they_finish(tmp_path):
    units = [(k,) for k in range(8)]
    ordered = [r["k"] for _, r in run_units(units, Tasks(slow_square, (1.0, str(tmp_path))), window=2,
                                            label="t", ordered=True)]
    assert ordered == list(range(8))
    got = [(u, r["square"]) for u, r in run_units(units, Tasks(slow_square, (1.0, str(tmp_path))), window=4, label="t")]
    assert sorted(got) == [((k,), k * k) for k in range(8)]
    assert got[0][0] != (0,)  # unordered: units that finished before the slow first one came first


def test_finished_units_are_read_back_not_rerun(tmp_path):
    def finished(k):
        p = tmp_path / f"marker-{k}.json"
        return json.loads(p.read_text()) if p.exists() else None

    for k in (0, 2, 5):  # an earlier run finished these
        (tmp_path / f"marker-{k}.json").write_text(json.dumps({"k": k, "square": k * k}))
    out = dict(run_units([(k,) for k in range(6)], Tasks(slow_square, (0.0, str(tmp_path))), window=2, label="t",
                         finished=finished))
    assert {u[0]: r["square"] for u, r in out.items()} == {k: k * k for k in range(6)}
    ran = sorted(int(p.name.split("-")[1]) for p in tmp_path.glob("ran-*"))
    assert ran == [1, 3, 4]
    with pytest.raises(ValueError, match="do not mix"):
        list(run_units([(0,)], Tasks(slow_square, (0.0, str(tmp_path))), window=1, label="t", ordered=True,
                       finished=finished))


def test_a_failing_unit_raises_its_error():
    with pytest.raises(ray.exceptions.RayTaskError, match="unit three is bad"):
        list(run_units([(k,) for k in range(6)], Tasks(fails_on_three), window=2, label="t", ordered=True))


def test_actors_take_one_unit_each_and_the_window_is_the_pool():
    actors = [ray.remote(num_cpus=1)(Doubler).remote(3) for _ in range(2)]
    try:
        pool = Actors(actors, "run")
        out = dict(run_units([(k,) for k in range(7)], pool, window=10, label="t"))
        assert {u[0]: r for u, r in out.items()} == {k: 3 * k for k in range(7)}
        assert pool.size == 2 and len(pool.free) == 2  # every actor handed back
    finally:
        for a in actors:
            ray.kill(a)
