"""The hosted app's per-session caps: a whole class shares one small machine.

Plain values, read by the pages, the load scripts and the benchmark's ``--suite caps`` (which
takes them as an argument, so the library itself holds no app policy).
"""

from __future__ import annotations

from conecore import Limits

APP_LIMITS = Limits(max_dim=1024, max_rows=400, max_elimination=5_000_000, max_bit_work=5e6,
                    timeout=10.0)
"""d <= 1024, <= 400 rows; a conversion estimated over 50 ms runs in a child process that is
stopped after 10 s (conecore's defaults are 4096, 5000, 30 s) or at conecore's 1 GB of address
space, one child per core at a time across all sessions. No refusal by the upper bound
theorem: the 8-D cross-polytope's 257 rows allow 169 million rays, and it has 16."""

MAX_UPLOAD_BYTES = 1_000_000
"""Build a cone reads files up to this size (the text box has the same cap, in characters)."""

MAX_URL_CHARS = 1800
"""A matrix whose URL form is longer travels as a preset name, or not at all."""
