"""Prometheus metrics: HTTP requests of this process and gauges read from the database.

``http`` holds the per-process request metrics, ``middleware`` records them (with the request id
and one log line per request), ``repository`` and ``collector`` read the database gauges at
scrape time, ``access`` decides who may scrape, ``routes`` serves ``GET /metrics``.
"""
