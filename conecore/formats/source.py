"""What every reader of cone text shares: the size caps, decoding, the guard that lets only a
:class:`~conecore.errors.ConeInputError` escape, splitting a line into entries, and the row
checks and their messages.

The caps are read at call time (``source.MAX_ENTRIES``), so a test or a host may change them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from conecore.errors import ConeInputError

MAX_TEXT_CHARS = 1_000_000
"""Longest input accepted: characters for ``str``, bytes for ``bytes``."""

MAX_ENTRIES = 1_000_000
"""Most numbers accepted in one input."""

_BINARY_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SEP_RE = re.compile(r"[ \t]*,[ \t]*|[ \t]+")

_T = TypeVar("_T")
Cell = Callable[[int, int], str]
"""``cell(i, j)`` names entry ``(i, j)`` (0-based) in a message: ``"row 2, column 3"``."""


def check_type(text: object) -> None:
    if not isinstance(text, str | bytes | bytearray):
        raise TypeError(f"expected str or bytes, not {type(text).__name__}")


def guarded(function: Callable[..., _T], *args: Any) -> _T:
    """Run ``function``; turn any unexpected failure into a ConeInputError."""
    try:
        return function(*args)
    except ConeInputError:
        raise
    except Exception as exc:  # RecursionError, MemoryError, a bug: never another exception type
        detail = str(exc)[:200]
        raise ConeInputError(f"could not read the input ({type(exc).__name__}: {detail})") from exc


def decode(text: str | bytes) -> str:
    """The text as ``str`` with ``\\n`` newlines, after the size cap, UTF-8 decoding and the
    binary-data check."""
    if len(text) > MAX_TEXT_CHARS:
        unit = "characters" if isinstance(text, str) else "bytes"
        raise ConeInputError(
            f"the input is {len(text):,} {unit} long; the limit is {MAX_TEXT_CHARS:,}"
        )
    if isinstance(text, str):
        source = text
    else:
        try:
            source = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConeInputError(
                f"the input is not UTF-8 text: byte 0x{text[exc.start]:02x} at byte offset "
                f"{exc.start} cannot be decoded"
            ) from None
    source = source.removeprefix("\ufeff")
    binary = _BINARY_RE.search(source)
    if binary is not None:
        raise ConeInputError(
            f"binary data at character {binary.start() + 1} "
            f"(U+{ord(binary.group()):04X}): the input must be text"
        )
    return source.replace("\r\n", "\n").replace("\r", "\n")


def quote(token: str) -> str:
    """``token`` quoted for a message, cut to 20 characters."""
    return repr(token[:20]) + ("..." if len(token) > 20 else "")


def entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def too_many(where: str) -> ConeInputError:
    return ConeInputError(
        f"{where}: the input has more than {MAX_ENTRIES:,} entries (the limit, MAX_ENTRIES)"
    )


def _split(body: str, maxsplit: int) -> list[str]:
    """Split a stripped line at spaces, tabs and commas into at most ``maxsplit + 1`` pieces
    (the last one holds the rest); two commas in a row give an empty piece."""
    if body.isascii():
        if "," not in body:
            return body.split(None, maxsplit)
        pieces = [piece.strip(" \t") for piece in body.split(",", maxsplit)]
        if not any(" " in piece or "\t" in piece for piece in pieces):
            return pieces
    return _SEP_RE.split(body, maxsplit=maxsplit)


def split_entries(body: str, where: str, lineno: int, budget: int) -> list[str]:
    """The literals of a non-empty, stripped piece of line ``lineno``, at most ``budget`` of them;
    one trailing comma is fine. ``where`` names the piece in messages (``"line 3 (row 2)"``)."""
    if body[-1] == ",":
        body = body[:-1].rstrip(" \t")
    tokens = _split(body, budget) if body and budget > 0 else [body]
    if len(tokens) > budget:
        raise too_many(f"line {lineno}")
    if "" in tokens:
        raise ConeInputError(
            f"{where}, column {tokens.index('') + 1}: empty entry "
            "(two separators in a row, or one at the start of a row)"
        )
    return tokens


def row_name(i: int) -> str:
    return f"row {i + 1}"


def list_cell(i: int, j: int) -> str:
    return f"row {i + 1}, column {j + 1}"


def line_cell(linenos: list[int]) -> Cell:
    """Names entries of rows that start on lines ``linenos``: ``line 4 (row 3), column 2``."""

    def cell(i: int, j: int) -> str:
        return f"line {linenos[i]} (row {i + 1}), column {j + 1}"

    return cell


def check_widths(
    rows: list[list[str]], name: Callable[[int], str], linenos: list[int] | None = None
) -> int:
    """The common length of ``rows`` (at least 1); ``name(i)`` names row ``i`` in messages."""
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            where = f"line {linenos[i]}: " if linenos else ""
            raise ConeInputError(
                f"{where}{name(i)} has {entries(len(row))} but {name(0)} has {entries(width)}"
            )
    if width == 0:
        raise ConeInputError("the matrix has 0 columns (its rows are empty)")
    return width
