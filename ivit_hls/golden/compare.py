"""Compare per-layer traces from two levels and name the first layer that differs."""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np


def first_mismatch(expected: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray],
                   order: Iterable[str] | None = None) -> str | None:
    """Describe the first layer (in ``order``) whose integers differ, or ``None`` if all agree."""
    for name in (order if order is not None else expected):
        if name not in actual:
            return f"layer {name}: missing from the trace under test"
        want = np.asarray(expected[name])
        got = np.asarray(actual[name])
        if want.shape != got.shape:
            return f"layer {name}: shape {got.shape} != expected {want.shape}"
        diff = np.argwhere(want != got)
        if len(diff):
            idx = tuple(int(i) for i in diff[0])
            return (f"layer {name}: {len(diff)} of {want.size} values differ, first at {idx}: "
                    f"{int(got[idx])} != expected {int(want[idx])}")
    return None


def assert_traces_equal(expected: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray],
                        order: Iterable[str] | None = None) -> None:
    """Exact equality of two traces; the failure message names the first differing layer."""
    order = list(order if order is not None else expected)
    problem = first_mismatch(expected, actual, order)
    if problem is not None:
        raise AssertionError(problem)
    for name in order:
        np.testing.assert_array_equal(np.asarray(actual[name]), np.asarray(expected[name]),
                                      err_msg=f"layer {name}")
