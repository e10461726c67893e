"""SMS benchmark (``python -m bench.sms``)."""
