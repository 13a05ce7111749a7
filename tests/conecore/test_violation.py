"""The one relative violation: values by hand, 0 exactly in the cone, scale-free, numpy = torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import conecore as cc
from conecore.violation import VIOLATION_TOL, relative_violation

QUADRANT = np.array([[1, 0], [0, 1]])  # x <= 0 and y <= 0


@pytest.mark.parametrize("A, z, floor, expected", [
    (QUADRANT, [3, 4], 0.0, 4 / 5),            # the worse facet (y = 4) over |z| = 5
    (QUADRANT, [3, 4], 10.0, 4 / 10),          # a floor above |z| takes its place
    (QUADRANT, [3, 4], 1.0, 4 / 5),            # ... and one below it changes nothing
    (QUADRANT, [1, -5], 0.0, 1 / math.sqrt(26)),
    (QUADRANT, [-1, -2], 0.0, 0.0),            # inside: exactly 0, not a negative depth
    (QUADRANT, [0, 0], 0.0, 0.0),              # the origin, with no floor
    ([[2, 0]], [1, 0], 0.0, 1.0),              # rows are normalised: 2 * 1 / |(2, 0)|
    ([[0, 0], [1, 0]], [1, 0], 0.0, 1.0),      # a zero row constrains nothing
    ([[1, -1]], [3, 1], 0.0, (2 / math.sqrt(2)) / math.sqrt(10)),
])
def test_values_by_hand(A, z, floor, expected):
    assert relative_violation(A, z, floor) == pytest.approx(expected, rel=1e-15, abs=0)
    t = relative_violation(torch.tensor(A, dtype=torch.float64),
                           torch.tensor(z, dtype=torch.float64), floor)
    assert float(t) == pytest.approx(expected, rel=1e-15, abs=0)


def test_a_floor_per_output_and_leading_dimensions():
    Z = np.array([[[3.0, 4.0], [3.0, 4.0]], [[-1.0, 0.0], [0.0, 2.0]]])  # (2, 2, d)
    v = relative_violation(QUADRANT, Z, floor=np.array([[0.0, 10.0], [0.0, 4.0]]))
    assert v.shape == (2, 2)
    assert np.allclose(v, [[0.8, 0.4], [0.0, 0.5]], rtol=1e-15)


def test_no_rows_means_no_violation():
    A = np.zeros((0, 3))
    assert np.array_equal(relative_violation(A, np.ones((4, 3))), np.zeros(4))
    assert torch.equal(relative_violation(torch.zeros(0, 3), torch.ones(2, 3)), torch.zeros(2))


def test_types_follow_the_outputs():
    z32 = torch.tensor([[3.0, 4.0]], dtype=torch.float32)
    v = relative_violation(QUADRANT, z32)
    assert isinstance(v, torch.Tensor) and v.dtype == torch.float32 and v.shape == (1,)
    v = relative_violation(torch.tensor(QUADRANT), np.array([[3, 4]], dtype=np.int64))
    assert isinstance(v, np.ndarray) and v.dtype == np.float64
    assert relative_violation(QUADRANT, [[3, 4]]).tolist() == [0.8]  # a list reads as numpy


def test_differentiable_for_tensors():
    z = torch.tensor([[3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    relative_violation(QUADRANT, z).sum().backward()
    # v = y / |z|: dv/dx = -x y / |z|^3, dv/dy = 1/|z| - y^2 / |z|^3
    assert torch.allclose(z.grad, torch.tensor([[-12 / 125, 1 / 5 - 16 / 125]],
                                               dtype=torch.float64))


def test_bad_arguments_are_named():
    with pytest.raises(cc.ConeInputError, match=r"A of shape \(2, 2\) does not fit outputs"):
        relative_violation(QUADRANT, np.ones((4, 3)))
    with pytest.raises(cc.ConeInputError, match="floor has to be a non-negative number"):
        relative_violation(QUADRANT, np.ones((4, 2)), floor=-1.0)


def test_the_library_exports_this_one():
    assert cc.relative_violation is relative_violation
    assert 0 < VIOLATION_TOL < 1e-3


small_ints = st.integers(-4, 4)


@settings(max_examples=200, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 5), st.just(3)), elements=small_ints),
       arrays(np.int64, st.tuples(st.integers(1, 8), st.just(3)), elements=small_ints))
def test_zero_exactly_in_the_cone_and_positive_outside(A, Z):
    """With small integers ``A z`` is exact in float64: v = 0 exactly when A z <= 0."""
    v = relative_violation(A, Z)
    inside = np.all(Z @ A.T <= 0, axis=1)
    assert np.all(v[inside] == 0.0)
    assert np.all(v[~inside] > 0.0)


milli = st.integers(-10**6, 10**6).map(lambda k: k / 1000)  # no underflow, in float32 either


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, (4, 3), elements=milli), arrays(np.float64, (6, 3), elements=milli),
       st.floats(1e-3, 1e3), st.floats(0.0, 10.0),
       arrays(np.float64, 4, elements=st.floats(1e-2, 1e2)))
def test_scale_invariance(A, Z, c, floor, row_scales):
    """v(c z, floor c s) = v(z, floor s) for c > 0, and scaling a row of A changes nothing."""
    v = relative_violation(A, Z, floor)
    assert np.allclose(relative_violation(A, c * Z, c * floor), v, rtol=1e-9, atol=1e-12)
    assert np.allclose(relative_violation(A * row_scales[:, None], Z, floor), v, rtol=1e-9,
                       atol=1e-12)
    assert np.all(v >= 0) and np.all(v <= 1 + 1e-12)  # Cauchy–Schwarz: (a.z)_+ <= |a| |z|


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, (3, 4), elements=milli), arrays(np.float64, (5, 4), elements=milli),
       arrays(np.float64, 5, elements=st.floats(0.0, 100.0)))
def test_torch_and_numpy_agree(A, Z, floor):
    v = relative_violation(A, Z, floor)
    t64 = relative_violation(torch.as_tensor(A), torch.as_tensor(Z), torch.as_tensor(floor))
    assert np.array_equal(t64.numpy(), v)
    t32 = relative_violation(A, torch.as_tensor(Z, dtype=torch.float32), floor)
    assert np.allclose(t32.numpy(), v, atol=1e-5)


@pytest.mark.parametrize("dtype, exponents", [(torch.float64, range(-300, 301, 50)),
                                              (torch.float32, range(-30, 37, 6))])
def test_huge_and_tiny_outputs_and_rows_keep_their_value(dtype, exponents):
    """The norms of z and of A's rows square their entries: past 1.8e19 in float32 (exp's
    outputs reach 1e26) or 1e154 in float64 they overflowed, and a violated output read 0."""
    A = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]])
    Z = torch.tensor([[3.0, 4.0, 0.0], [-1.0, 2.0, 1.0], [-1.0, -2.0, 0.0], [0.0, 0.0, 0.0]],
                     dtype=dtype)
    want = relative_violation(A, Z.double()).to(dtype)
    assert want[0] == pytest.approx(0.6) and want[2] == 0 and want[3] == 0
    for e in exponents:
        got = relative_violation(A, Z * 10.0 ** e)
        assert torch.allclose(got, want, rtol=1e-5 if dtype == torch.float32 else 1e-12), e
        rows = relative_violation(A * 10.0 ** (e if dtype == torch.float64 else 300), Z)
        assert torch.allclose(rows, want, rtol=1e-5 if dtype == torch.float32 else 1e-12), e
    floor = relative_violation(A, Z * 1e-300 if dtype == torch.float64 else Z * 1e-30,
                               floor=1e-290 if dtype == torch.float64 else 1e-20)
    assert float(floor[0]) == pytest.approx(0.6 * 5e-10, rel=1e-4)  # |z| is below the floor
