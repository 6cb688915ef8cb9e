"""The phases of ``benchmarks/gpu_throughput.py`` (issue 13), one module each.

Each phase module turns a :class:`~benchmarks.gpu.workload.Shape` into table rows
(:class:`~benchmarks.gpu.report.Row`); the script runs them under one time budget and
writes one table. Nothing here is imported by the platform itself.
"""
