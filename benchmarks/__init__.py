"""Benchmarks of mona_mm: run from a checkout (``python benchmarks/bench_tuning.py``); not part
of the installed package."""
