"""Benchmark q1_speed: DO-EM vs gradient-based QBM training (issue 5).

Run ``python -m bench.q1_speed --help``.
"""
