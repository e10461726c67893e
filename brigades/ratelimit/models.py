"""Fixed-window rate-limit counters, shared by every process through the database."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class RateLimitBucket(SQLModel, table=True):
    """One counter. ``key`` holds a keyed hash, never a phone number or address in clear."""

    __tablename__ = "rate_limit_bucket"

    key: str = Field(primary_key=True, max_length=80)
    window_start: int  # unix seconds of the window's start
    count: int = Field(default=0)
