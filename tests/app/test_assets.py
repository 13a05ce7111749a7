"""The example files in assets/ load as the app loads an upload, and are the cones they say."""

from __future__ import annotations

import pytest

import conecore as cc
from explorer.limits import APP_LIMITS, MAX_UPLOAD_BYTES
from tests.app.pages import ROOT

EXPECTED = {  # file: (d, rays, lines)
    "wedge.ine": (2, 2, 0),
    "pyramid-wrapped.ine": (3, 4, 0),
    "octahedral.ext": (4, 6, 0),
    "checkerboard-8.json": (64, 16, 48),
}


def test_every_asset_is_listed():
    files = {p.name for p in (ROOT / "assets").iterdir() if p.name != "README.md"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_asset_loads_as_an_upload(name):
    raw = (ROOT / "assets" / name).read_bytes()
    assert len(raw) <= MAX_UPLOAD_BYTES
    cone = cc.Cone.from_inequalities(cc.read_cone_file(name, raw, limits=APP_LIMITS),
                                     limits=APP_LIMITS)
    assert (cone.dim, len(cone.rays), len(cone.lines)) == EXPECTED[name]
