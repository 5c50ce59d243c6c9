"""The result base and the one JSON conversion (capacity.results)."""
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from capacity.results import Result, RowsResult, json_ready, plain


@dataclasses.dataclass(frozen=True)
class _Row(Result):
    n: int
    x: float


@dataclasses.dataclass(frozen=True)
class _Outer(Result):
    name: str
    row: _Row
    values: np.ndarray
    pairs: tuple
    where: Path


def _outer():
    return _Outer(name="a", row=_Row(n=np.int64(3), x=np.float64(-np.inf)), values=np.array([1.5, np.nan]),
                  pairs=((np.int32(1), 2.0),), where=Path("/tmp/x.sqlite"))


def test_to_dict_is_recursive_and_plain():
    d = _outer().to_dict()
    assert d == {"name": "a", "row": {"n": 3, "x": -math.inf}, "values": [1.5, d["values"][1]],
                 "pairs": [[1, 2.0]], "where": "/tmp/x.sqlite"}
    assert math.isnan(d["values"][1])
    # integers stay integers, NumPy scalars become Python scalars
    assert type(d["row"]["n"]) is int and type(d["pairs"][0][0]) is int and type(d["values"][0]) is float


def test_json_ready_is_strict_json():
    text = json.dumps(json_ready(_outer()), allow_nan=False)
    back = json.loads(text)
    # -inf and NaN become null, not the invalid '-null' a string replacement produces
    assert back["row"]["x"] is None and back["values"] == [1.5, None]
    assert "-null" not in text and "NaN" not in text and "Infinity" not in text


def test_rows_result_to_dict():
    res = RowsResult(rows=[_Row(n=1, x=0.5), _Row(n=2, x=np.float32(0.25))], settings={"seed": np.int64(7)},
                     warnings=["w"])
    assert res.to_dict() == {"rows": [{"n": 1, "x": 0.5}, {"n": 2, "x": 0.25}], "settings": {"seed": 7},
                             "warnings": ["w"]}


def test_results_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _Row(n=1, x=0.0).n = 2


def test_plain_leaves_python_values_alone():
    assert plain({"a": [1, "b", None, True]}) == {"a": [1, "b", None, True]}
    assert plain({1: 2}) == {"1": 2}  # JSON object keys are strings
