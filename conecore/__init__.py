"""conecore: activations that satisfy ``A z <= 0`` by construction.

Compute a cone's extreme rays ``R`` and lines ``L`` once (double description, exact), then let a
layer output ``L t + R^T mu`` with ``mu >= 0``: every output is in the cone, always.

Torch-dependent names (``ConeLayer``, ``project``, ...) are imported on first use, so the cone
geometry works without torch and the layer works without pycddlib.
"""

from conecore.cdd_backend import Limits, max_extreme_rays
from conecore.cone import Cone, Kind
from conecore.errors import (
    ConeError,
    ConeInputError,
    ConeTimeoutError,
    ConeTooLargeError,
    PolyhedronInputError,
)
from conecore.formats import (
    cone_from_json,
    cone_to_json,
    from_url_text,
    matrix_cells,
    parse_generators,
    parse_matrix,
    read_cone_file,
    to_csv,
    to_ext,
    to_ine,
    to_url_text,
)
from conecore.formats.cddlib import (
    polyhedron_from_ext,
    polyhedron_from_ine,
    polyhedron_to_ext,
    polyhedron_to_ine,
)
from conecore.formats.cone_json import polyhedron_from_json, polyhedron_to_json
from conecore.formats.polyhedron_files import (
    polyhedron_from_A_b,
    polyhedron_from_csv,
    polyhedron_from_text,
    polyhedron_to_csv,
    polyhedron_to_url_text,
    read_polyhedron_file,
)
from conecore.polyhedron import Polyhedron, PolyhedronKind
from conecore.presets import PRESETS, Preset, preset

__all__ = [
    "PRESETS",
    "Cone",
    "ConeError",
    "ConeInputError",
    "ConeTimeoutError",
    "ConeTooLargeError",
    "Kind",
    "Limits",
    "Polyhedron",
    "PolyhedronInputError",
    "PolyhedronKind",
    "Preset",
    "cone_from_json",
    "cone_to_json",
    "from_url_text",
    "matrix_cells",
    "max_extreme_rays",
    "parse_generators",
    "parse_matrix",
    "polyhedron_from_A_b",
    "polyhedron_from_csv",
    "polyhedron_from_ext",
    "polyhedron_from_ine",
    "polyhedron_from_json",
    "polyhedron_from_text",
    "polyhedron_to_csv",
    "polyhedron_to_ext",
    "polyhedron_to_ine",
    "polyhedron_to_json",
    "polyhedron_to_url_text",
    "preset",
    "read_cone_file",
    "read_polyhedron_file",
    "to_csv",
    "to_ext",
    "to_ine",
    "to_url_text",
]
__version__ = "0.1.0"

# Names that need torch, imported on first use (``cc.ConeLayer``) so that the geometry works
# without torch and the child process of the double description starts fast.
_LAZY = {
    "ConeLayer": "conecore.layer",
    "relative_violation": "conecore.violation",
    "project": "conecore.projection",
    "ProjectionInfo": "conecore.projection",
    "ProjectionNotConverged": "conecore.projection",
    "ConeMismatchError": "conecore.layer",
    "closed_form": "conecore.projection",
    "UnconstrainedHead": "conecore.baselines",
    "ProjectedHead": "conecore.baselines",
    "ClosedFormHead": "conecore.baselines",
    "penalty": "conecore.baselines",
    "PolyhedronLayer": "conecore.polyhedron_layer",
    "polyhedron_violation": "conecore.polyhedron_layer",
    "project_polyhedron": "conecore.polyhedron_projection",
}
__all__ += list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        try:
            module = importlib.import_module(_LAZY[name])
        except ModuleNotFoundError as exc:
            if exc.name in ("torch", "osqp"):
                raise ModuleNotFoundError(
                    f"conecore.{name} needs {exc.name}, which is not installed: "
                    f'pip install "conecore[torch]" (torch and osqp; the geometry works '
                    f"without them)", name=exc.name) from exc
            raise
        return getattr(module, name)
    raise AttributeError(f"module 'conecore' has no attribute {name!r}")
