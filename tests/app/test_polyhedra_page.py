"""The Polyhedra page (AppTest): examples, typed rows [A | b], cddlib files, the layer demo."""

from __future__ import annotations

import pytest

from conecore.presets import POLYHEDRA
from tests.app.pages import open_page


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("name, counts", [
    ("square", ("4", "0", "0")), ("quadrant", ("1", "2", "0")), ("strip", ("2", "0", "1")),
    ("cube", ("8", "0", "0")), ("octahedron", ("6", "0", "0")), ("probability", ("3", "0", "0")),
])
def test_examples_show_their_vertices_rays_lines_and_a_layer_inside(name, counts):
    at = open_page("polyhedra", poly_example=name)
    m = metrics(at)
    assert (m["vertices"], m["rays"], m["lines"]) == counts
    assert any("400 of 400 outputs inside" in x.value for x in at.markdown)
    if name != "probability":  # 2-D and 3-D examples are drawn
        assert at.get("plotly_chart")


def test_every_example_renders():
    for name in POLYHEDRA:
        at = open_page("polyhedra", poly_example=name)
        assert metrics(at)["vertices"] != "0" or name == "strip"


def test_typed_rows_a_then_b_and_errors_keep_the_last_polyhedron():
    at = open_page("polyhedra", poly_mode="Text")
    assert metrics(at)["vertices"] == "6"  # the hexagon, as a cddlib file
    at.text_area(key="poly_text").input("1 0 1; -1 0 1; 0 1 1; 0 -1 0").run()
    assert metrics(at)["vertices"] == "4" and not at.error
    at.text_area(key="poly_text").input("1 0 1; -1 x 1").run()
    assert any("typed.csv" in e.value for e in at.error)
    assert metrics(at)["vertices"] == "4"  # the last good one stays
    at.text_area(key="poly_text").input("1 0 -1; -1 0 -1").run()  # x <= -1 and x >= 1
    assert metrics(at)["vertices"] == "0"
    assert any("contradict" in i.value for i in at.info)


def test_a_cddlib_file_with_b_uploads_as_it_is():
    at = open_page("polyhedra", poly_mode="Upload")
    at.file_uploader(key="poly_upload").upload("tri.ine", POLYHEDRA["triangle"][2].encode()).run()
    assert metrics(at)["vertices"] == "3" and not at.exception


def test_an_oversized_upload_is_refused_by_its_size():
    at = open_page("polyhedra", poly_mode="Upload")
    at.file_uploader(key="poly_upload").upload("big.csv", b"1," * 600_000).run()
    assert any("big.csv" in e.value and "bytes" in e.value for e in at.error)
    assert not at.exception
