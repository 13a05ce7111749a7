"""Paintings: marks -> rows of A, the checkerboard (the presets' one builder), text, warnings."""

from __future__ import annotations

import numpy as np
import pytest

import conecore as cc
from conecore.painting import Painting
from conecore.presets import checkerboard


def test_checkerboard_rows_by_hand():
    """4 x 4 image, 2 x 2 blocks: the top-left sum <= 0, then alternating, row-major blocks."""
    A = Painting.checkerboard(4, 2).rows()
    expected = np.array([
        [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, -1, -1, 0, 0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1],
    ])
    assert A.dtype == np.int64 and np.array_equal(A, expected)


@pytest.mark.parametrize("image,block", [(8, 2), (28, 7), (8, 4), (12, 3)])
def test_checkerboard_rows_are_alternating_signed_blocks(image, block):
    """One row per block: +-1 on exactly its pixels, the blocks tile the image, and the sign
    flips between neighbouring blocks; the presets build their rows here."""
    A = checkerboard(image, block)
    n = image // block
    assert A.shape == (n * n, image * image)
    assert np.array_equal(np.abs(A).sum(axis=0), np.ones(image * image))  # a tiling
    for k, row in enumerate(A):
        i, j = divmod(k, n)
        patch = row.reshape(image, image)[i * block:(i + 1) * block, j * block:(j + 1) * block]
        assert np.all(patch == (1 if (i + j) % 2 == 0 else -1))
        assert np.abs(row).sum() == block * block
    assert np.array_equal(A, Painting.checkerboard(image, block).rows())


def test_checkerboard_sizes_are_checked():
    with pytest.raises(cc.ConeInputError, match="block size 3 does not divide the image size 8"):
        checkerboard(8, 3)
    with pytest.raises(cc.ConeInputError, match="block size 0"):
        Painting.checkerboard(8, 0)


def test_default_block_sizes_follow_the_paper():
    assert Painting.checkerboard(8).block == 2
    assert Painting.checkerboard(28).block == 7


def test_each_mark_is_the_right_row():
    p = Painting.from_text("+-_0.", 4)  # 2 x 2 blocks of 2 x 2 pixels
    A = p.rows()
    m = [p.mask(k) for k in range(4)]
    assert A.tolist() == [(-m[0]).tolist(), m[1].tolist(), (-m[2]).tolist(), m[2].tolist()]
    image = np.zeros((4, 4))
    image[:2, :2] = 1   # block (1, 1): sum 4 >= 0, allowed by "+"
    image[:2, 2:] = -1  # block (1, 2): sum -4 <= 0, allowed by "-"
    assert np.all(A @ image.ravel() <= 0)
    image[:2, :2] = -1
    assert (A @ image.ravel())[0] > 0  # "+" block with a negative sum breaks row 1


def test_a_blank_painting_is_one_zero_row():
    A = Painting(4, 2, tuple("....")).rows()
    assert A.shape == (1, 16) and not A.any()


def test_text_round_trip_and_errors_name_the_cell():
    p = Painting.checkerboard(8, 2)
    assert Painting.from_text(p.to_text(), 8) == p
    assert Painting.from_grid(p.to_grid(), 8) == p
    with pytest.raises(cc.ConeInputError, match=r"block row 2, column 3: mark 'x'"):
        Painting.from_text("-+-+_+-x-_-+-+_+-+-", 8)
    with pytest.raises(cc.ConeInputError, match="block row 2 has 3 marks"):
        Painting.from_text("-+-+_+-+_-+-+_+-+-", 8)
    with pytest.raises(cc.ConeInputError, match="do not divide"):
        Painting.from_text("-+-_+-+_-+-", 8)


def test_warnings_explain_degenerate_paintings():
    blank = Painting(8, 2, tuple("." * 16))
    assert "whole space" in " ".join(blank.warnings(cc.Cone.from_inequalities(blank.rows())))
    zeros = Painting(4, 1, tuple("0" * 16))
    cone = cc.Cone.from_inequalities(zeros.rows())
    assert cone.kind == cc.Kind.ONLY_ORIGIN
    assert "only the origin" in zeros.warnings(cone)[0]
    one = Painting(4, 1, tuple("0" + "+" * 15))
    text = " ".join(one.warnings(cc.Cone.from_inequalities(one.rows())))
    assert "1 pixels are forced to 0" in text and "(1, 1)" in text
    fine = Painting.checkerboard(8)
    assert fine.warnings(cc.Cone.from_inequalities(fine.rows())) == []
