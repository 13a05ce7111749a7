"""Tests of conecore.formats.files: an uploaded file holds inequalities or generators, and
either way gives the matrix ``A`` (generators become exact integer facet normals)."""

from __future__ import annotations

import numpy as np
import pytest

import conecore as cc
from conecore.formats.files import holds_generators, read_cone_file

QUADRANT_EXT = b"V-representation\nbegin\n3 3 integer\n1 0 0\n0 1 0\n0 0 2\nend\n"


def rows(A: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in row) for row in A}


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("a.ext", b"1 2", True),
        ("a.txt", QUADRANT_EXT, True),
        ("a.json", b'{"rays": [[1, 0]]}', True),
        ("a.json", b'{"A": [[1, 0]], "rays": [[0, 1]], "lines": []}', False),
        ("a.ine", b"H-representation\nbegin\n1 3 integer\n0 1 0\nend", False),
        ("a.csv", b"1,0;0,1", False),
    ],
)
def test_which_files_hold_generators(name: str, raw: bytes, expected: bool) -> None:
    assert holds_generators(name, raw) is expected


def test_generators_become_integer_facet_normals() -> None:
    A = read_cone_file("quadrant.ext", QUADRANT_EXT)
    assert A.dtype == np.int64
    assert rows(A) == {(-1, 0), (0, -1)}


def test_a_wrapped_ext_and_json_generators_give_the_same_cone() -> None:
    wrapped = b"V-representation\nbegin\n3 3 integer\n1 0\n0 0 1 0\n0 0\n2\nend\n"
    assert rows(read_cone_file("wrapped.ext", wrapped)) == {(-1, 0), (0, -1)}
    assert rows(read_cone_file("q.json", b'{"rays": [[1, 0], [0, 5]]}')) == {(-1, 0), (0, -1)}


def test_generators_of_the_whole_space_give_one_zero_row() -> None:
    A = read_cone_file("plane.json", b'{"rays": [], "lines": [[1, 0], [0, 1]]}')
    assert A.tolist() == [[0, 0]]


def test_inequalities_are_read_as_parse_matrix_reads_them() -> None:
    polyhedron = b"H-representation\nbegin\n2 3 integer\n0 1 0\n2 -1 -1\nend\n"
    with pytest.raises(cc.ConeInputError, match=r"line 5 \(row 2\), column 1: b = 2 is not 0"):
        read_cone_file("p.ine", polyhedron)
    A = read_cone_file("p.ine", polyhedron, homogenize=True)
    assert A.tolist() == [[-1, 0, 0], [1, 1, -2], [0, 0, -1]]
    assert read_cone_file("a.csv", b"1,-2;-3,1\n").tolist() == [[1, -2], [-3, 1]]


@pytest.mark.parametrize("d", [1, 3])
def test_every_writer_carries_a_cone_with_no_rows(d: int) -> None:
    """The whole space with no rows of A (from_inequalities of a (0, d) matrix, or
    from_generators with lines only): .ine, .ext, .csv, .json and the link's text all read back
    as the same cone. The CSV and the link's text were empty (refused: "the input is empty"),
    and read_cone_file refused the JSON ("'A' is empty")."""
    for cone in (cc.Cone.from_inequalities(np.zeros((0, d))),
                 cc.Cone.from_generators(np.zeros((0, d)), np.eye(d))):
        files = {"c.ine": cc.to_ine(cone), "c.ext": cc.to_ext(cone), "c.csv": cc.to_csv(cone),
                 "c.json": cc.cone_to_json(cone)}
        for name, text in files.items():
            back = cc.Cone.from_inequalities(read_cone_file(name, text.encode()))
            assert back.same_as(cone) and back.dim == d, name
        assert cc.Cone.from_inequalities(cc.from_url_text(cc.to_url_text(cone))).same_as(cone)
