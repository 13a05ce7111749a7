"""What the format tests share: a strict comparison of a parsed matrix with the expected one."""

from __future__ import annotations

import numpy as np

INT64_MAX = 2**63 - 1


def assert_matrix(result: np.ndarray, expected: list[list[object]], dtype: object) -> None:
    """Same dtype, shape and values; object arrays also keep the Python type of each value."""
    assert result.dtype == dtype
    assert result.shape == (len(expected), len(expected[0]))
    assert result.tolist() == expected
    if result.dtype == object:
        for got, want in zip(result.ravel(), (v for row in expected for v in row)):
            assert type(got) is type(want)
