"""Every file Build a cone offers loads back in the app, for every preset (issue 14, item 6):
the same cone, under the app's upload cap and limits."""

from __future__ import annotations

import pytest

import conecore as cc
from explorer.cone_view import DOWNLOADS, offered_downloads
from explorer.limits import APP_LIMITS, MAX_UPLOAD_BYTES


@pytest.mark.parametrize("name", list(cc.PRESETS))
def test_every_offered_file_loads_back(name):
    cone = cc.Cone.from_inequalities(cc.preset(name), limits=APP_LIMITS)
    offered = offered_downloads(cone)
    assert {"cone.ine", "cone.json", "cone.csv"} <= offered
    for _, write, file_name in DOWNLOADS:
        if file_name not in offered:
            continue
        raw = write(cone).encode()
        assert len(raw) <= MAX_UPLOAD_BYTES, (file_name, len(raw))
        back = cc.Cone.from_inequalities(cc.read_cone_file(file_name, raw, limits=APP_LIMITS),
                                         limits=APP_LIMITS)
        assert back.same_as(cone), file_name


def test_the_big_checkerboard_json_is_compact_and_still_exact():
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-28"))
    text = cc.cone_to_json(cone)
    assert len(text) < 100_000  # was 4.8 MB with 768 lines of 784 floats
    assert cc.cone_from_json(text).same_as(cone)
    full = cc.cone_to_json(cone, generators=True)  # for a machine without pycddlib
    assert len(full) > 1_000_000 and cc.cone_from_json(full).same_as(cone)
