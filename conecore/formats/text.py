"""Text a person types or pastes: plain rows, bracketed matrices and Python/JSON lists; and the
text writers (CSV, table cells, the URL form).

* Plain rows: a row ends at a newline or a ``;``; entries are separated by spaces, tabs or
  commas (one trailing comma is fine); ``#`` starts a comment; blank rows are skipped. So
  ``1 2 3; -1 0 2`` and the URL form ``1,-2;-3,1`` are matrices of two rows.
* One pair of square brackets around plain rows, as MATLAB and ``numpy.matrix`` write a matrix
  (``[1 2 3; -1 0 2]``, ``[1, 2; 3, 4]``, rows on their own lines), reads the same way.
* Anything else that starts with ``[`` or ``(`` is a Python/JSON list of rows
  (:mod:`conecore.formats.lists`); ``[1, 2, 3]`` is one row either way.

Messages name the line and the row: ``line 2 (row 3), column 2: 'x' is not a number``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from conecore.cone import Cone
from conecore.errors import ConeInputError
from conecore.formats import source
from conecore.formats.lists import ListParser, rows_from_nested
from conecore.formats.numbers import literal, read_grid, written_rows
from conecore.formats.source import (
    check_type,
    check_widths,
    decode,
    guarded,
    line_cell,
    list_cell,
    row_name,
    split_entries,
)

_LIST_CHAR_RE = re.compile(r"[\[\](){}]")
_COMMENT_RE = re.compile(r"#[^\n]*")
_NOT_NEWLINE_RE = re.compile(r"[^\n]")
# One pair of brackets around text without brackets or quotes, then an optional ';'.
_BRACKETED_RE = re.compile(r"[ \t\n]*\[([^\[\](){}'\"]*)\][ \t\n]*;?[ \t\n]*")
# Two entries with only blanks between them: plain rows, not a Python list.
_BLANK_GAP_RE = re.compile(r"[^ \t\n,;][ \t\n]+[^ \t\n,;]")


def read_text(text: str) -> np.ndarray:
    """The matrix in decoded ``text``: plain rows, a bracketed matrix or a Python/JSON list."""
    first = next((line.strip(" \t")[:1] for line in text.split("\n")
                  if line.strip(" \t") and not line.strip(" \t").startswith("#")), "")
    if first in ("[", "("):
        plain = _unbracketed(text)
        if plain is None:
            rows = rows_from_nested(ListParser(text).parse(), "the list", "", source.MAX_ENTRIES)
            return read_grid(rows, check_widths(rows, row_name), list_cell)[1]
        text = plain
    rows, linenos = _plain_rows(text)
    if not rows:
        raise ConeInputError("the input is empty (nothing but whitespace, comments and ';')")
    width = check_widths(rows, row_name, linenos)
    return read_grid(rows, width, line_cell(linenos))[1]


def _unbracketed(text: str) -> str | None:
    """``text`` with its outer brackets (and comments) blanked when it is one bracketed matrix
    of plain rows (it has a ``;``, or two entries with only blanks between them), else None.
    Blanking keeps every line where it was, so messages name the lines of ``text``."""
    uncommented = _COMMENT_RE.sub(lambda comment: " " * len(comment.group()), text)
    match = _BRACKETED_RE.fullmatch(uncommented)
    if match is None or (";" not in match[1] and not _BLANK_GAP_RE.search(match[1])):
        return None
    start, end = match.span(1)
    return (_NOT_NEWLINE_RE.sub(" ", uncommented[:start]) + match[1]
            + _NOT_NEWLINE_RE.sub(" ", uncommented[end:]))


def _plain_rows(text: str) -> tuple[list[list[str]], list[int]]:
    """The literals of each row of plain text, and the 1-based line each row is on."""
    rows: list[list[str]] = []
    linenos: list[int] = []
    count = 0
    check_brackets = any(bracket in text for bracket in "[](){}")
    for lineno, line in enumerate(text.split("\n"), 1):
        body = line.split("#", 1)[0] if "#" in line else line
        for piece in body.split(";") if ";" in body else (body,):
            piece = piece.strip(" \t")
            if not piece:
                continue
            bracket = _LIST_CHAR_RE.search(piece) if check_brackets else None
            if bracket is not None:
                raise ConeInputError(
                    f"line {lineno}: {bracket.group()!r} mixes list syntax and plain rows; "
                    "write every row the same way"
                )
            where = f"line {lineno} (row {len(rows) + 1})"
            tokens = split_entries(piece, where, lineno, source.MAX_ENTRIES - count)
            count += len(tokens)
            rows.append(tokens)
            linenos.append(lineno)
    return rows, linenos


def to_csv(cone: Cone | Any) -> str:
    """``A`` as comma-separated rows (fractions as ``p/q``); :func:`parse_matrix` reads it."""
    return "\n".join(",".join(row) for row in matrix_cells(cone)) + "\n"


def matrix_cells(cone: Cone | Any) -> list[list[str]]:
    """The entries of ``A`` as short strings (``"1"``, ``"-2/3"``, ``"0.1"``), one list per
    row: exact entries as integers and fractions, floats as the shortest decimal that reads
    back to the same float. Tables and text boxes show these; :func:`parse_matrix` reads them.
    A cone with no rows (the whole space) is written as one zero row, the same cone: text
    cannot carry a matrix with no rows and its width (an empty text is refused)."""
    rows, _ = written_rows(cone)
    if not rows and isinstance(cone, Cone) and cone.dim:
        return [["0"] * cone.dim]
    return [[literal(v) for v in row] for row in rows]


def to_url_text(cone: Cone | Any) -> str:
    """``A`` in a compact form for a URL: entries joined by ``,``, rows by ``;``
    (``"1,-2;-3,1"``); read back with :func:`from_url_text`."""
    return ";".join(",".join(row) for row in matrix_cells(cone))


def from_url_text(text: str) -> np.ndarray:
    """The matrix of :func:`to_url_text`; any plain text or list reads (``;`` ends a row)."""
    check_type(text)
    return guarded(lambda: read_text(decode(text)))
