"""Shared fixtures.

``dd_backend``: runs a test module once per exact double description backend (pycddlib, and
conecore's pure-Python fallback), by setting ``CONECORE_BACKEND`` for the module's tests (child
processes inherit it). The cddlib run is skipped where pycddlib cannot be imported. Use it with
``pytestmark = pytest.mark.usefixtures("dd_backend")``.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", params=["cddlib", "python"])
def dd_backend(request: pytest.FixtureRequest):
    """The backend name ("cddlib" or "python"), set in ``CONECORE_BACKEND`` meanwhile."""
    from conecore.cdd_backend import BACKEND_ENV, cddlib_available

    if request.param == "cddlib" and not cddlib_available():
        pytest.skip("pycddlib is not installed (pip install 'conecore[cdd]')")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(BACKEND_ENV, request.param)
        yield request.param
