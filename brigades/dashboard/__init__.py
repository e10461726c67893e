"""The coordinator's dashboard: one incident at a glance, its exports and paper fallback."""
