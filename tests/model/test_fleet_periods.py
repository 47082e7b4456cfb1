"""Synchronization periods: inheritance and the longest period of groups with devices."""

from __future__ import annotations

from datetime import timedelta

from kscert_gui.model.fleet import (
    DEFAULT_SYNC_HOURS,
    Group,
    effective_sync_hours,
    group_path,
    longest_sync_period,
)

GROUPS = {
    1: Group(1, "Managed devices", None, None),
    2: Group(2, "Office", 1, None),
    3: Group(3, "Field", 1, 48.0),
    4: Group(4, "Remote", 3, None),
    5: Group(5, "Kiosks", 1, 12.0),
}


def test_default_period_is_inherited_unless_overridden() -> None:
    assert effective_sync_hours(GROUPS, 1) == DEFAULT_SYNC_HOURS == 6.0
    assert effective_sync_hours(GROUPS, 2) == 6.0
    assert effective_sync_hours(GROUPS, 4) == 48.0


def test_longest_period_names_its_group() -> None:
    sync = longest_sync_period(GROUPS, [2, 4, 5])
    assert sync.period == timedelta(hours=48)
    assert sync.group == "Managed devices/Field/Remote"
    assert group_path(GROUPS, 5) == "Managed devices/Kiosks"


def test_no_devices_means_default_period_and_no_group() -> None:
    sync = longest_sync_period(GROUPS, [])
    assert sync.period == timedelta(hours=6) and sync.group is None


def test_cycle_in_parent_links_does_not_hang() -> None:
    groups = {1: Group(1, "a", 2, None), 2: Group(2, "b", 1, None)}
    assert effective_sync_hours(groups, 1) == DEFAULT_SYNC_HOURS
    assert group_path(groups, 1) == "b/a"
