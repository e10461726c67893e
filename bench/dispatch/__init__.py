"""Dispatch benchmark: candidate search over 1,000,000 volunteers, joint planning of 10,000 tasks.

    python -m bench.dispatch [--volunteers 1000000] [--queries 1000] [--no-postgis]

See ``__main__`` for what is measured and ``population`` for the synthetic population.
"""
