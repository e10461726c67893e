"""The append-only audit log: ``service.record`` in every domain, read by administrators."""
