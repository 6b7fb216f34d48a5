"""The CP table's pages: in id order, however the CPs came and went."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloud.central.core import Core
from tests.unit.central.test_core import at

IDS = st.lists(st.text("ABC-123", min_size=1, max_size=4), max_size=30)


@given(IDS, IDS, st.integers(0, 35), st.integers(0, 35))
def test_a_page_is_the_cps_in_id_order_after_any_registrations_and_removals(
        added, removed, offset, limit):
    core = Core()
    for cp_id in added:
        core.register(cp_id, "Madrid", "0.35", frozenset(), at(0))
    for cp_id in removed:
        core.deregistered(cp_id, at(1))
    left = sorted(set(added) - set(removed))
    assert [view["id"] for view in core.views()] == left
    assert [view["id"] for view in core.views(offset, limit)] == left[offset:offset + limit]
