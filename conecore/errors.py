"""Error types of conecore.

Every problem with what a user typed, uploaded or passed in is a :class:`ConeInputError`
(a ``ValueError``) whose message names the row, column or field and the cause. Work that is
refused because it could explode is a :class:`ConeTooLargeError`; work stopped after its time
limit is a :class:`ConeTimeoutError`. All three share the base :class:`ConeError`, so a user
interface can catch that one type and show its message. A polyhedron offered where a cone is
read is a :class:`PolyhedronInputError` (a ``ConeInputError``), so an interface can offer to
open it as one.
"""


class ConeError(Exception):
    """Base class of every error conecore raises on purpose."""


class ConeInputError(ConeError, ValueError):
    """Bad input; the message names the row, column and cause."""


class PolyhedronInputError(ConeInputError):
    """The input is a polyhedron ``A x <= b`` with some ``b != 0`` (a cddlib ``.ine``), where a
    cone was asked for: read it with :func:`conecore.polyhedron_from_text` (or homogenise)."""


class ConeTooLargeError(ConeInputError):
    """The input is valid but its double description could explode; refused before starting."""


class ConeTimeoutError(ConeError, TimeoutError):
    """The conversion ran past its time limit and was stopped."""
