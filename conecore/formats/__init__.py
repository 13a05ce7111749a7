"""Cones as text and files: one module per format family, each reader beside its writer.

* :mod:`~conecore.formats.parse`: :func:`parse_matrix` and :func:`parse_generators`, the one
  entry for reading text: it tells the family and hands the text to its reader;
* :mod:`~conecore.formats.text`: plain rows (a row ends at a newline or ``;``), bracketed
  matrices (``[1 2; 3 4]``) and Python/JSON lists; :func:`to_csv`, :func:`matrix_cells`,
  :func:`to_url_text`, :func:`from_url_text`;
* :mod:`~conecore.formats.lists`: the reader of Python/JSON lists (nothing is evaluated);
* :mod:`~conecore.formats.cddlib`: ``.ine`` and ``.ext`` (rows may wrap over lines);
  :func:`to_ine`, :func:`to_ext`;
* :mod:`~conecore.formats.cone_json`: JSON objects; :func:`cone_to_json`,
  :func:`cone_from_json`;
* :mod:`~conecore.formats.files`: :func:`read_cone_file`, an uploaded file of either kind;
* :mod:`~conecore.formats.numbers`: literals to values (exact where written exactly, the dtype
  rules) and back;
* :mod:`~conecore.formats.source`: the size caps, decoding and the checks every reader shares.
"""

from conecore.formats.cddlib import to_ext, to_ine
from conecore.formats.cone_json import cone_from_json, cone_to_json
from conecore.formats.files import read_cone_file
from conecore.formats.parse import parse_generators, parse_matrix
from conecore.formats.source import MAX_ENTRIES, MAX_TEXT_CHARS
from conecore.formats.text import from_url_text, matrix_cells, to_csv, to_url_text

__all__ = [
    "MAX_ENTRIES",
    "MAX_TEXT_CHARS",
    "cone_from_json",
    "cone_to_json",
    "from_url_text",
    "matrix_cells",
    "parse_generators",
    "parse_matrix",
    "read_cone_file",
    "to_csv",
    "to_ext",
    "to_ine",
    "to_url_text",
]
