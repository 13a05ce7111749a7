"""Tests of conecore.formats.source: decoding (line endings, bytes, UTF-8, binary data), the
size caps, read at call time, and the entry cap in every format."""

from __future__ import annotations

import time

import numpy as np
import pytest

from conecore.errors import ConeInputError
from conecore.formats import MAX_ENTRIES, MAX_TEXT_CHARS, parse_matrix, source
from tests.conecore.matrices import assert_matrix


def test_windows_and_old_mac_line_endings() -> None:
    assert_matrix(parse_matrix("1 2\r\n3 4\r\n"), [[1, 2], [3, 4]], np.int64)
    assert_matrix(parse_matrix("1 2\r3 4"), [[1, 2], [3, 4]], np.int64)


def test_bytes_and_a_utf8_bom_are_read() -> None:
    assert_matrix(parse_matrix(b"\xef\xbb\xbf1 2\n3 4"), [[1, 2], [3, 4]], np.int64)
    assert_matrix(parse_matrix(bytearray(b"1.5")), [[1.5]], np.float64)


# ---------------------------------------------------------------------------------------------
# Size caps


def test_caps_have_the_documented_values() -> None:
    assert MAX_TEXT_CHARS == 1_000_000
    assert MAX_ENTRIES == 1_000_000


@pytest.mark.parametrize("kind", [str, bytes])
def test_text_over_the_size_cap_is_refused_at_once(kind: type) -> None:
    text = "1 " * 3_000_000  # 6 MB
    data = text if kind is str else text.encode()
    start = time.perf_counter()
    with pytest.raises(ConeInputError, match=r"6,000,000 .* the limit is 1,000,000"):
        parse_matrix(data)
    assert time.perf_counter() - start < 1.0


def test_too_many_entries_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1 MB of text holds at most 500,000 entries: the entry cap is a second line of defence,
    # reached here with a larger text cap.
    monkeypatch.setattr(source, "MAX_TEXT_CHARS", 10**7)
    with pytest.raises(ConeInputError, match=r"line 1: .*more than 1,000,000 entries"):
        parse_matrix("1 " * (MAX_ENTRIES + 1))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("1 2 3\n4 5 6\n7 8 9\n10 11 12", r"line 4: .*more than 10 entries"),
        ("1 2 3 4 5 6 7 8 9 10 11", r"line 1: .*more than 10 entries"),
        ("[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11]]", r"character \d+: .*more than 10"),
        ('{"A": [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11]]}', r"row 4: .*more than 10"),
        ("begin\n4 3 integer\n0 1 2\n0 1 2\n0 1 2\n0 1 2\nend", r"line 6: .*more than 10"),
    ],
)
def test_entry_cap_applies_to_every_format(
    monkeypatch: pytest.MonkeyPatch, text: str, pattern: str
) -> None:
    monkeypatch.setattr(source, "MAX_ENTRIES", 10)
    with pytest.raises(ConeInputError, match=pattern):
        parse_matrix(text)
    assert parse_matrix("1 2 3 4 5\n6 7 8 9 10").shape == (2, 5)


def test_size_cap_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_TEXT_CHARS", 5)
    with pytest.raises(ConeInputError, match=r"6 characters long; the limit is 5"):
        parse_matrix("1 2 3 ")
