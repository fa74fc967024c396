"""Benchmarks: run each from the repository root as ``python -m bench.<name>`` (``--quick``
for a seconds-long smoke run). Shared infrastructure is in ``bench.support``; scenarios that
tests also drive are in ``bench.scenarios``."""
