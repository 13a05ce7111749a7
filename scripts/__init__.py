"""Developer scripts, run as modules from the repository root (``python -m scripts.load_test``,
``python -m scripts.class_load``, ``python -m scripts.measure_page``). What they share, and the
browser tests' harness with them, is in :mod:`scripts.harness`; no script imports another."""
