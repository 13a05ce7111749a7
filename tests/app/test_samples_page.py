"""The Samples page (AppTest)."""

import base64
import json

import numpy as np
import pytest

import conecore as cc
from conecore.presets import POLYHEDRA
from tests.app.pages import open_page


def test_samples_page():
    at = open_page("samples", A="1,-2;-3,1")
    assert not at.exception
    at.number_input(key="samples_steps").set_value(50).run()
    at.number_input(key="samples_frames").set_value(5).run()
    at.button(key="samples_go").click().run()
    assert not at.exception
    assert any("ConeLayer decoder**: 0 of 300" in m.value for m in at.markdown)
    # The count of samples outside per frame: each decoder in its own colour (was both blue).
    color = json.loads(at.get("vega_lite_chart")[0].proto.spec)["layer"][0]["encoding"]["color"]
    assert dict(zip(color["scale"]["domain"], color["scale"]["range"], strict=True)) == {
        "ConeLayer decoder": "#1f6feb", "unconstrained decoder": "#cf222e"}


def animation(at) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")
             if "samples_anim" in c.proto.id]
    assert specs, "no animation"
    return specs[0]


def xy(trace: dict) -> np.ndarray:
    def values(v):
        if isinstance(v, dict):  # Plotly's typed arrays: {"dtype": "f8", "bdata": ...}
            return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return np.asarray([np.nan if x is None else x for x in v], dtype=float)

    P = np.column_stack([values(trace["x"]), values(trace["y"])])
    return P[~np.isnan(P).any(axis=1)]


@pytest.mark.parametrize("name", ["square", "probability"])
def test_samples_page_on_a_polyhedron_keeps_every_frame_inside(name):
    """?samples_set=polyhedron&samples_poly=...: the PolyhedronLayer decoder's samples are in
    the polyhedron in every frame the visitor can play (read from the figure), the polygon (or
    for d = 3 its shadow, said so) is drawn, and the twin's escapes are counted."""
    at = open_page("samples", A="1,-2;-3,1", samples_set="polyhedron", samples_poly=name,
                   samples_steps="50", samples_frames="5", samples_n="100")
    at.button(key="samples_go").click().run()
    assert not at.exception
    poly = cc.read_polyhedron_file(f"{name}.ine", POLYHEDRA[name][2].encode())
    fig = animation(at)
    base = {t.get("name") for t in fig["data"]}
    assert ("the polyhedron" if poly.dim == 2 else "its shadow on (x1, x2)") in base
    assert len(fig["frames"]) == 5
    for frame in fig["frames"]:
        traces = {t["name"]: t for t in frame["data"]}
        inside = xy(traces["PolyhedronLayer decoder"])
        assert len(inside) == 100 and len(xy(traces["PolyhedronLayer decoder outside"])) == 0
        if poly.dim == 2:
            assert np.all(poly.contains(inside, atol=1e-5))
        else:  # probability vectors: (p1, p2) in the triangle p1, p2 >= 0, p1 + p2 <= 1
            assert np.all(inside >= -1e-5) and np.all(inside.sum(axis=1) <= 1 + 1e-5)
        assert "samples outside the polyhedron: PolyhedronLayer decoder: 0" in \
            frame["layout"]["title"]["text"]
    assert any("PolyhedronLayer decoder**: 0 of 100" in m.value for m in at.markdown)
    escaped = next(m.value for m in at.markdown if "unconstrained decoder**" in m.value)
    assert not escaped.endswith("**: 0 of 100 samples outside at the end")
    if poly.dim > 2:
        assert any("shadow" in c.value for c in at.caption)
