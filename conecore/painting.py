r"""A constraint painted on an image's grid of blocks: marks -> rows of ``A``.

Frerix et al. constrain images by signed block sums: each row of ``A`` in ``A x <= 0`` is plus
or minus the pixel mask of a block. A :class:`Painting` says, block by block, which sign (``+``:
the block's sum is ``>= 0``, ``-``: ``<= 0``, ``0``: ``= 0``, ``.``: free); :meth:`Painting.rows`
builds ``A``, and the paper's checkerboard (alternating signs) is one painting
(:meth:`Painting.checkerboard`, also the ``checkerboard-*`` presets). :meth:`Painting.warnings`
explains degenerate paintings (only the origin, pixels forced to 0, the whole space).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conecore.cone import Cone, Kind
from conecore.errors import ConeInputError

MARKS = "+-0."
MARK_WORDS = {"+": "sum >= 0", "-": "sum <= 0", "0": "sum = 0", ".": "free"}


@dataclass(frozen=True)
class Painting:
    """Marks on the ``(image/block) x (image/block)`` grid of blocks, row by row."""

    image: int
    block: int
    marks: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.image < 1 or self.block < 1 or self.image % self.block:
            raise ConeInputError(f"block size {self.block} does not divide the image size "
                                 f"{self.image}")
        n = self.grid
        if len(self.marks) != n * n:
            raise ConeInputError(f"a {n} x {n} grid of blocks needs {n * n} marks; "
                                 f"got {len(self.marks)}")
        for k, m in enumerate(self.marks):
            if m not in MARKS:
                raise ConeInputError(f"block row {k // n + 1}, column {k % n + 1}: mark {m!r} "
                                     f"is not one of + - 0 .")

    @property
    def grid(self) -> int:
        return self.image // self.block

    @classmethod
    def checkerboard(cls, image: int = 8, block: int | None = None) -> Painting:
        """The paper's constraint: the top-left block's sum is ``<= 0`` and the signs alternate
        like a checkerboard (row ``k``: ``s_k * sum(block k) <= 0``). By default the paper's
        blocks: 2 x 2 on 8 x 8 images, 7 x 7 on 28 x 28."""
        if block is None:
            block = 7 if image == 28 else 2 if image == 8 else max(1, image // 4)
        n = image // block if block and image % block == 0 else 0
        marks = tuple("-" if (k // n + k % n) % 2 == 0 else "+" for k in range(n * n))
        return cls(image, block, marks)

    @classmethod
    def from_grid(cls, grid: list[list[str]], image: int) -> Painting:
        """From a list of rows of marks (``""``/``None`` count as free); errors name the cell."""
        n = len(grid)
        if n == 0 or image % n:
            raise ConeInputError(f"{n} rows of blocks do not divide a {image} x {image} image")
        marks = []
        for i, row in enumerate(grid):
            if len(row) != n:
                raise ConeInputError(f"block row {i + 1} has {len(row)} marks; expected {n}")
            for j, m in enumerate(row):
                m = "." if m in ("", None) else str(m).strip().replace("−", "-").replace("≥", "+")
                if m not in MARKS:
                    raise ConeInputError(f"block row {i + 1}, column {j + 1}: mark {m!r} is not "
                                         "one of + - 0 .")
                marks.append(m)
        return cls(image, image // n, tuple(marks))

    def to_grid(self) -> list[list[str]]:
        n = self.grid
        return [list(self.marks[i * n : (i + 1) * n]) for i in range(n)]

    def to_text(self) -> str:
        """Compact and URL-safe: rows of marks joined by ``_`` (``-+_+-`` for 2 x 2)."""
        n = self.grid
        return "_".join("".join(self.marks[i * n : (i + 1) * n]) for i in range(n))

    @classmethod
    def from_text(cls, text: str, image: int) -> Painting:
        rows = [r for r in str(text).strip().split("_")]
        return cls.from_grid([list(r) for r in rows], image)

    def mask(self, k: int) -> np.ndarray:
        """Pixel mask (``image * image``, 0/1 integers) of block ``k``."""
        n, b = self.grid, self.block
        m = np.zeros((self.image, self.image), dtype=np.int64)
        i, j = divmod(k, n)
        m[i * b : (i + 1) * b, j * b : (j + 1) * b] = 1
        return m.ravel()

    def rows(self) -> np.ndarray:
        """Integer ``A``: ``+`` gives ``-mask``, ``-`` gives ``mask``, ``0`` both; at least one
        (zero) row so that a blank painting is the whole space."""
        out = []
        for k, m in enumerate(self.marks):
            if m in "+0":
                out.append(-self.mask(k))
            if m in "-0":
                out.append(self.mask(k))
        if not out:
            return np.zeros((1, self.image * self.image), dtype=np.int64)
        return np.array(out)

    def warnings(self, cone: Cone) -> list[str]:
        """Why the painted cone is degenerate, if it is: only the origin, or pixels forced to 0."""
        out = []
        if cone.kind == Kind.ONLY_ORIGIN:
            out.append("The painted rows leave only the origin: every pixel of every image is "
                       "forced to 0, so the constrained decoder can only draw a grey square. "
                       "Each block marked 0 is a single pixel fixed to 0 and nothing is free.")
            return out
        zero = np.ones(cone.dim, dtype=bool)
        for M in (np.asarray(cone.rays), np.asarray(cone.lines)):
            if len(M):
                zero &= np.all(np.abs(M) < 1e-9, axis=0)
        if zero.any():
            blocks = [k for k in range(len(self.marks)) if zero[self.mask(k).astype(bool)].all()]
            n = self.grid
            names = ", ".join(f"({k // n + 1}, {k % n + 1})" for k in blocks[:8])
            more = f" and {len(blocks) - 8} more" if len(blocks) > 8 else ""
            out.append(f"{int(zero.sum())} pixels are forced to 0 in every image: blocks "
                       f"{names}{more} are single pixels marked 0 (sum = 0), which fixes "
                       "the pixel itself.")
        if cone.kind == Kind.WHOLE_SPACE:
            out.append("No block is marked: the cone is the whole space, and both decoders are "
                       "unconstrained.")
        return out
