"""The fleet's power history: a bounded ring, one sample per step, the last hour."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloud.central.power import Point, PowerHistory, fleet_kw, iso

T0 = 1_767_348_000.0  # 2026-01-02T10:00:00Z


def test_one_sample_per_step():
    ring = PowerHistory(span=60, step=5)
    assert ring.add(T0, Decimal("7.4")) == Point(T0, Decimal("7.4"))
    assert not ring.due(T0 + 4.9)
    assert ring.add(T0 + 4.9, Decimal("9")) is None
    assert ring.add(T0 + 5, Decimal("11.1")) == Point(T0 + 5, Decimal("11.1"))
    assert ring.points(T0 + 5) == [Point(T0, Decimal("7.4")), Point(T0 + 5, Decimal("11.1"))]


def test_keeps_only_the_last_span():
    ring = PowerHistory(span=60, step=5)
    for i in range(100):
        ring.add(T0 + 5 * i, Decimal(i))
    now = T0 + 5 * 99
    points = ring.points(now)
    assert len(points) == 12  # 60 s of 5 s steps
    assert [p.kw for p in points] == [Decimal(i) for i in range(88, 100)]
    assert all(now - 60 < p.t <= now for p in points)


def test_a_quiet_hour_empties_the_view_and_the_ring_stays_bounded():
    ring = PowerHistory()  # the default: an hour, every 5 s
    for i in range(3 * 720):
        ring.add(T0 + 5 * i, Decimal(1))
    assert len(ring._points) <= 721
    last = T0 + 5 * (3 * 720 - 1)
    assert len(ring.points(last)) == 720
    assert ring.points(last + 3600) == []


def test_late_samples_count_from_the_last_kept_one():
    ring = PowerHistory(span=60, step=5)
    ring.add(T0, Decimal(1))
    assert ring.add(T0 + 7, Decimal(2)) is not None
    assert ring.add(T0 + 11, Decimal(3)) is None  # 4 s after the last kept sample
    assert ring.add(T0 + 12, Decimal(3)) is not None


def test_a_wall_clock_that_goes_back_starts_over():
    ring = PowerHistory(span=60, step=5)
    ring.add(T0, Decimal(1))
    ring.add(T0 + 5, Decimal(2))
    assert ring.add(T0 + 1, Decimal(9)) is None  # a jitter of less than a step is ignored
    assert ring.add(T0 - 3600, Decimal(3)) == Point(T0 - 3600, Decimal(3))
    assert ring.points(T0 - 3600) == [Point(T0 - 3600, Decimal(3))]


@pytest.mark.parametrize(("span", "step"), [(60, 0), (60, -1), (5, 10)])
def test_bad_geometry_is_refused(span, step):
    with pytest.raises(ValueError):
        PowerHistory(span=span, step=step)


def test_as_json():
    ring = PowerHistory(span=60, step=5)
    ring.add(T0, Decimal("7.40"))
    assert ring.as_json(T0 + 1) == {
        "span": 60.0, "step": 5.0, "now": "2026-01-02T10:00:01.000Z",
        "points": [{"t": "2026-01-02T10:00:00.000Z", "kw": "7.40"}]}


@pytest.mark.parametrize(("views", "expected"), [
    ([], Decimal(0)),
    ([{"kw": "7.4"}, {"kw": None}, {"kw": "11"}, {}], Decimal("18.4")),
    ([{"kw": "0.1"}, {"kw": "0.2"}], Decimal("0.3")),
    ([{"kw": "junk"}, {"kw": "NaN"}, {"kw": "-3"}, {"kw": "2"}], Decimal(2)),
])
def test_fleet_kw(views, expected):
    assert fleet_kw(views) == expected


def test_iso():
    assert iso(T0 + 0.25) == "2026-01-02T10:00:00.250Z"
