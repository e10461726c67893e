"""Readiness drills: roll-call drills, live drills and simulated surges, with their reports."""
