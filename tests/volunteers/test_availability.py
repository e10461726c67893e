"""Weekly windows: merging, and the weekdays × dagdelen grid of the page."""

from __future__ import annotations

from brigades.volunteers.availability import grid_windows, merge, to_grid


def test_overlapping_and_touching_windows_merge_per_day() -> None:
    assert merge([(0, 600, 700), (0, 480, 610), (0, 700, 720), (1, 0, 60)]) == [
        (0, 480, 720),
        (1, 0, 60),
    ]


def test_night_runs_past_midnight_and_is_split_over_two_days() -> None:
    assert grid_windows([(0, "nacht")]) == [(0, 1320, 1440), (1, 0, 480)]
    # Sunday night ends on Monday morning.
    assert grid_windows([(6, "nacht")]) == [(0, 0, 480), (6, 1320, 1440)]


def test_adjacent_parts_become_one_window() -> None:
    assert grid_windows([(2, "ochtend"), (2, "middag"), (2, "avond")]) == [(2, 480, 1320)]


def test_grid_round_trip_keeps_what_the_grid_cannot_show() -> None:
    stored = [*grid_windows([(0, "nacht"), (1, "ochtend"), (3, "avond")]), (4, 540, 660)]
    cells, extra = to_grid(stored)
    assert cells == {(0, "nacht"), (1, "ochtend"), (3, "avond")}
    # Friday 09:00-11:00 lies inside the morning but does not fill it: kept as it is.
    assert extra == [(4, 540, 660)]
    assert merge(grid_windows(cells) + extra) == merge(stored)


def test_a_window_wider_than_a_cell_keeps_its_overhang() -> None:
    cells, extra = to_grid([(2, 420, 720)])  # 07:00-12:00
    assert cells == {(2, "ochtend")}
    assert extra == [(2, 420, 480)]
