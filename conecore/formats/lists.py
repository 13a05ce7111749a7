"""Python and JSON lists of rows, such as ``[[1, 2], (3., -2e-1)]``: a small recursive-descent
reader (nothing is ever evaluated) that yields the literal texts, and the step from nested lists
to rows that the JSON reader shares.
"""

from __future__ import annotations

import json
import re
from typing import Any

from conecore.errors import ConeInputError
from conecore.formats import source
from conecore.formats.source import too_many

_SKIP_RE = re.compile(r"(?:[ \t\n]+|#[^\n]*)*")
_ATOM_RE = re.compile(r"[^ \t\n\[\](){},#'\"]+")
_FLAT_LIST_RE = re.compile(r"[\[(]([^\[\](){}#'\"]*)[\])]")
_SPACE_RE = re.compile(r"[ \t\n]")
_CLOSERS = {"[": "]", "(": ")"}
_LIST_SPACE = " \t\n"

_JSON_NAMES = {dict: "an object", list: "a list", str: "a single value"}


class ListParser:
    """Recursive-descent reader of a Python/JSON list of rows (depth <= 2); evaluates nothing.

    ``parse`` returns nested lists of literal texts (quoted strings without their quotes).

    >>> ListParser("[(1, '1/2'), [3, 4,],]").parse()
    [['1', '1/2'], ['3', '4']]
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.count = 0

    def parse(self) -> list[Any]:
        self._skip()
        outer = self._list(1)
        self._skip()
        if self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "[(":
                raise self._error(
                    "another list starts after the outer list has ended; "
                    "put all rows inside one outer list"
                )
            if char in "])}":
                raise self._error(f"unbalanced {char!r}: no list is open here")
            raise self._error("text after the list: mixing list syntax and plain rows")
        return outer

    def _error(self, message: str) -> ConeInputError:
        line = self.text.count("\n", 0, self.pos) + 1
        return ConeInputError(
            f"broken list syntax at character {self.pos + 1} (line {line}): {message}"
        )

    def _skip(self) -> None:
        self.pos = _SKIP_RE.match(self.text, self.pos).end()

    def _count(self, entries: int) -> None:
        self.count += entries
        if self.count > source.MAX_ENTRIES:
            raise too_many(f"character {self.pos + 1}")

    def _list(self, depth: int) -> list[Any]:
        start = self.pos
        opener = self.text[start]
        close = _CLOSERS[opener]
        if depth > 2:
            raise self._error("nesting deeper than a matrix: a row may hold only numbers")
        flat = _FLAT_LIST_RE.match(self.text, start)
        if flat is not None and flat.group()[-1] == close:  # fast path: a list of plain atoms
            items = [item.strip(_LIST_SPACE) for item in flat[1].split(",")]
            if items[-1] == "":
                items.pop()
            if all(items) and not any(_SPACE_RE.search(item) for item in items):
                self._count(len(items))
                self.pos = flat.end()
                return items
        self.pos += 1
        items = []
        while True:
            self._skip()
            if self._closes(start, opener):
                return items
            items.append(self._value(depth))
            self._skip()
            if self._closes(start, opener):
                return items
            if self.text[self.pos] != ",":
                raise self._error(
                    f"expected ',' or {close!r} but found {self.text[self.pos]!r} (missing comma?)"
                )
            self.pos += 1

    def _closes(self, start: int, opener: str) -> bool:
        """Whether the list opened at ``start`` ends here (consuming its closing bracket)."""
        close = _CLOSERS[opener]
        if self.pos >= len(self.text):
            raise self._error(
                f"the text ends before the {opener!r} at character {start + 1} is closed "
                f"(missing {close!r})"
            )
        char = self.text[self.pos]
        if char in "])" and char != close:
            raise self._error(f"{char!r} does not match the {opener!r} at character {start + 1}")
        if char == close:
            self.pos += 1
            return True
        return False

    def _value(self, depth: int) -> Any:
        char = self.text[self.pos]
        if char in "[(":
            return self._list(depth + 1)
        if char in "'\"":
            end = self.text.find(char, self.pos + 1)
            if end == -1 or "\n" in self.text[self.pos : end]:
                raise self._error("unterminated string")
            self._count(1)
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        atom = _ATOM_RE.match(self.text, self.pos)
        if atom is None:
            raise self._error(f"expected a value but found {char!r}")
        self._count(1)
        self.pos = atom.end()
        return atom.group()


def describe(value: object) -> str:
    return _JSON_NAMES.get(type(value)) or json.dumps(value)


def rows_from_nested(
    value: object, label: str, prefix: str, budget: int, *, allow_empty: bool = False
) -> list[list[str]]:
    """Rows of literal texts from parsed nested lists; a flat list is a single row.

    ``label`` names the whole value and ``prefix`` starts each cell's location in messages.
    """
    if not isinstance(value, list):
        raise ConeInputError(f"{label} must be a list of rows, not {describe(value)}")
    if not value:
        if allow_empty:
            return []
        raise ConeInputError(f"{label} is empty: there are no rows")
    is_row = [isinstance(item, list) for item in value]
    if not any(is_row):
        value = [value]
    elif not all(is_row):
        raise ConeInputError(
            f"{label}: element {is_row.index(False) + 1} is a number but element "
            f"{is_row.index(True) + 1} is a list; write every row as a list"
        )
    rows = []
    count = 0
    for i, row in enumerate(value):
        cells = []
        for j, item in enumerate(row):
            if not isinstance(item, str):
                cause = (
                    "nesting deeper than a matrix: a row may hold only numbers"
                    if isinstance(item, list)
                    else f"expected a number, got {describe(item)}"
                )
                raise ConeInputError(f"{prefix}row {i + 1}, column {j + 1}: {cause}")
            cells.append(item.strip())
        count += len(cells)
        if count > budget:
            raise too_many(f"{prefix}row {i + 1}")
        rows.append(cells)
    return rows
