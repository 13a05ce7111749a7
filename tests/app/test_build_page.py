"""The Build-a-cone page and the app frame, with Streamlit's AppTest (no browser)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import conecore as cc
from tests.app.pages import open_page


def home(query: dict | None = None) -> AppTest:
    return open_page("home", check=False, **(query or {}))


def build_page(query: dict | None = None) -> AppTest:
    return open_page("build", **(query or {}))


def editor_key(at: AppTest) -> str:
    return f"table_editor_{at.session_state['table_version']}_{at.session_state['table_d']}"


def rays_frame(at: AppTest):
    return next(d.value for d in at.dataframe if list(d.value.index[:1]) == ["r1"])


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def test_sidebar_shows_the_cone_and_device():
    at = home()
    assert "d = 3 · 4 rays · 0 lines · pointed" in sidebar_text(at)
    assert any("Training device: CPU" in c.value or "CUDA" in c.value for c in at.sidebar.caption)


def test_default_cone_and_url():
    at = build_page()
    assert metrics(at) == {"dimension d": "3", "rows of A": "4", "extreme rays": "4",
                           "lines": "0"}
    assert at.query_params["A"] == "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"


def test_url_round_trip_opens_the_same_cone():
    at = build_page({"A": "1,-2;-3,1"})
    assert metrics(at)["extreme rays"] == "2" and metrics(at)["dimension d"] == "2"
    rays = rays_frame(at)
    assert sorted(map(tuple, rays.to_numpy().tolist())) == [(1, 3), (2, 1)]


def test_long_matrix_travels_as_a_preset_name():
    at = build_page({"preset": "checkerboard-28"})
    assert metrics(at) == {"dimension d": "784", "rows of A": "16", "extreme rays": "16",
                           "lines": "768"}
    assert "A" not in at.query_params and at.query_params["preset"] == "checkerboard-28"
    assert any("names its preset" in c.value for c in home({"preset": "checkerboard-28"})
               .sidebar.caption)


def test_bad_link_warns_and_falls_back():
    first = home({"A": "1,2;3"})
    assert any("could not be used" in w.value and "row 2" in w.value
               for w in first.sidebar.warning)
    assert "d = 3 · 4 rays" in sidebar_text(first)  # the default cone


def test_text_mode_applies_and_reports_errors_keeping_the_cone():
    at = build_page()
    at.radio(key="build_mode").set_value("Text").run()
    at.text_area(key="text_area").input("1 0\n0 1").run()
    assert metrics(at)["extreme rays"] == "2" and metrics(at)["dimension d"] == "2"
    at.text_area(key="text_area").input("1 0\n0 x").run()
    assert not at.exception
    assert any("line 2 (row 2), column 2" in e.value for e in at.error)
    assert metrics(at)["extreme rays"] == "2"  # the last good cone stays
    # The draft survives a mode switch.
    at.radio(key="build_mode").set_value("Preset").run()
    at.radio(key="build_mode").set_value("Text").run()
    assert at.text_area(key="text_area").value == "1 0\n0 x"


@pytest.mark.parametrize("text, shape", [
    ("1 2 3; -1 0 2; 0 -1 -1", "3 × 3"),  # was one row of 9
    ("1,-2;-3,1", "2 × 2"),  # the app's own URL form
    ("[1 2 3; -1 0 2]", "2 × 3"),  # MATLAB / NumPy style (was refused)
    ("[1, 2, 3; -1, 0, 2]", "2 × 3"),
])
def test_text_mode_reads_semicolon_rows_and_says_the_shape(text, shape):
    at = build_page()
    at.radio(key="build_mode").set_value("Text").run()
    at.text_area(key="text_area").input(text).run()
    assert not at.error, [e.value for e in at.error]
    assert any(c.value.startswith(f"Read as {shape}") for c in at.caption)
    assert metrics(at)["rows of A"] == shape.split(" × ")[0]


def test_table_mode_edit_changes_the_cone():
    at = build_page({"A": "1,-2;-3,1"})
    at.session_state[editor_key(at)] = {"edited_rows": {1: {"x1": "-1", "x2": "0"}},
                                    "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert at.query_params["A"] == "1,-2;-1,0"
    assert metrics(at)["extreme rays"] == "2"


def test_table_mode_bad_cell_is_named():
    at = build_page({"A": "1,-2;-3,1"})
    at.session_state[editor_key(at)] = {"edited_rows": {0: {"x2": "1/0"}}, "added_rows": [],
                                    "deleted_rows": []}
    at.run()
    assert any("Table:" in e.value and "column 2" in e.value for e in at.error)
    assert at.query_params["A"] == "1,-2;-3,1"


@pytest.mark.parametrize(
    "preset, kind",
    [("only-origin", "only the origin"), ("whole-space", "whole space"),
     ("half-space", "half-space"), ("wedge-line", "contains lines"), ("octahedral", "pointed")],
)
def test_preset_mode_and_kinds(preset, kind):
    at = build_page()
    at.radio(key="build_mode").set_value("Preset").run()
    at.selectbox(key="preset_name").set_value(preset).run()
    at.button[0].click().run()
    assert not at.exception
    assert any(f"-badge[{kind}]" in m.value for m in at.markdown)


def test_angles_mode_adds_a_row():
    at = build_page()
    at.radio(key="build_mode").set_value("Angles (3-D)").run()
    at.slider(key="angle_az").set_value(0).run()
    at.slider(key="angle_el").set_value(-90).run()
    at.button[0].click().run()
    assert metrics(at)["rows of A"] == "5"
    assert at.query_params["A"] == "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1;0,0,-1"  # still exact


def test_too_large_cone_is_refused_with_a_reason():
    at = build_page()
    at.radio(key="build_mode").set_value("Text").run()
    rows = "\n".join(" ".join(str((i * j) % 7 - 3) for j in range(12)) for i in range(1, 450))
    at.text_area(key="text_area").input(rows).run()
    assert any("limit" in e.value for e in at.error)
    assert metrics(at)["dimension d"] == "3"


def test_high_dimensional_views_render():
    at = build_page({"preset": "checkerboard-8"})
    assert not at.exception
    assert any("Image-shaped cone" in c.value for c in at.caption)


@pytest.mark.parametrize(
    "name, content, rays, rows",
    [
        ("cone.ine", b"H-representation\nbegin\n 2 3 integer\n 0 -1 2\n 0 3 -1\nend\n", "2", "2"),
        ("gens.ext", b"V-representation\nbegin\n 3 3 integer\n 1 0 0\n 0 1 0\n 0 0 1\nend\n",
         "2", "2"),
        ("a.csv", b"1,0,-1\n-1,0,-1\n0,1,-1\n0,-1,-1\n", "4", "4"),
        ("cone.json", b'{"A": [[1, 0, -1], [-1, 0, -1], [0, 1, -1], [0, -1, -1]]}', "4", "4"),
        ("gens.json", b'{"rays": [[1, 0], [1, 1], [0, 1]]}', "2", "2"),
        ("rows.txt", b"# the wedge\n1 -2\n-3 1\n", "2", "2"),
    ],
    ids=["ine", "ext", "csv", "json-A", "json-generators", "txt"],
)
def test_upload_mode_reads_every_format(name, content, rays, rows):
    """Each kind the uploader accepts (.ine, .ext, .csv, .json with A or with generators, .txt)
    becomes the session's cone."""
    at = build_page({"A": "1,0;0,1;-1,-1"})  # only the origin: 0 rays, 3 rows, unlike each file
    assert metrics(at)["extreme rays"] == "0"
    at.radio(key="build_mode").set_value("Upload").run()
    at.file_uploader(key="upload").upload(name, content).run()
    assert not at.exception
    assert metrics(at)["extreme rays"] == rays and metrics(at)["rows of A"] == rows


def test_upload_errors_are_named_and_keep_the_cone():
    at = build_page()
    at.radio(key="build_mode").set_value("Upload").run()
    at.file_uploader(key="upload").upload("bad.ine", b"begin\n 1 3 integer\n 2 1 1\nend\n").run()
    assert any("bad.ine" in e.value and "not 0" in e.value for e in at.error)
    assert metrics(at)["extreme rays"] == "4"
    at.file_uploader(key="upload").upload("big.csv", b"1," * 600_000).run()
    assert any("big.csv" in e.value and "bytes" in e.value for e in at.error)


@pytest.mark.parametrize("name", list(cc.PRESETS))
def test_every_preset_is_shown_small(name):
    """Every preset's view stays light in the browser: no figure over 200 KB, no table of
    thousands of cells (the 28 x 28 checkerboard's 768 lines are a count and a download)."""
    at = build_page({"preset": name})
    sizes = [len(c.proto.spec) for c in at.get("plotly_chart")]
    assert sizes and max(sizes) <= 200_000, sizes
    cells = [d.value.size for d in at.get("dataframe")]
    assert max(cells) <= 64 * 12, cells
    if name == "checkerboard-28":
        assert any("768 lines" in c.value for c in at.caption)


def test_a_is_shown_exactly_with_its_redundant_rows_flagged():
    """A's table: one column per coordinate (a 5-D cone shows x5), entries as given (1/2 stays
    1/2), the rows implied by the others flagged."""
    at = build_page({"A": "1/2,0,0,0,-1;0,1,0,0,-1;1,1,0,0,-3;0,0,1,0,0;0,0,0,1,0"})
    table = next(d.value for d in at.dataframe if list(d.value.index[:1]) == ["a1"])
    assert list(table.columns) == ["x1", "x2", "x3", "x4", "x5", "redundant"]
    assert table.loc["a1", "x1"] == "1/2" and table.loc["a5", "x5"] == "0"
    cone = cc.Cone.from_inequalities(cc.from_url_text(
        "1/2,0,0,0,-1;0,1,0,0,-1;1,1,0,0,-3;0,0,1,0,0;0,0,0,1,0"))
    flagged = [i for i, v in enumerate(table["redundant"]) if v]
    assert flagged == list(cone.redundant_rows) and flagged


def test_rays_past_64_bits_are_shown_exactly_as_text():
    """Rows like (10^30, 1) give exact rays with integers past 64 bits: the rays table made
    Arrow overflow and the page showed "This app has encountered an error"."""
    big = 10**30
    at = open_page("build", A=f"{big},1;1,-{big}", check=False)
    assert not at.exception, [e.value for e in at.exception]
    rays = at.dataframe[0].value
    cells = {str(v) for v in rays.to_numpy().ravel()}
    assert str(big) in cells or f"-{big}" in cells


def test_generators_table_keeps_exact_entries_exact():
    from fractions import Fraction

    import numpy as np

    from explorer.cone_view import generators_table

    small = generators_table(np.array([[1, -2], [3, 4]], dtype=object), "r")
    assert str(small.dtypes.iloc[0]) == "int64" and small.loc["r2", "x1"] == 3
    big = generators_table(np.array([[2**70, -1], [Fraction(1, 3), 5]], dtype=object), "l")
    assert big.loc["l1", "x1"] == str(2**70) and big.loc["l2", "x1"] == "1/3"
    floats = generators_table(np.array([[0.123456789, 1.0]]), "r")
    assert floats.loc["r1", "x1"] == 0.1235
