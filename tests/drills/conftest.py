"""Fixtures of the drill tests: the dispatcher tests' own (rounds on the test's session, a
fresh candidate index per test)."""

from tests.dispatch.conftest import fresh_index, rounds

__all__ = ["fresh_index", "rounds"]
