"""The ETA estimate from positions (pure arithmetic, no database)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from coldchain.eta import NOMINAL_KMH, Position, eta_estimate, ground_speed_kmh, haversine_km

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=10)
MILAN = (45.4642, 9.19)

latitudes = st.floats(min_value=-90, max_value=90)
longitudes = st.floats(min_value=-180, max_value=180)


def along_meridian(*, speed_kmh: float, minutes: int, end_lat: float = 40.0) -> list[Position]:
    """Positions every 10 minutes northwards along 9.19° E, arriving at ``end_lat`` at NOW."""
    km_per_degree = haversine_km(0, 0, 1, 0)
    return [
        Position(
            at=NOW - timedelta(minutes=ago),
            lat=end_lat - speed_kmh * ago / 60 / km_per_degree,
            lon=9.19,
        )
        for ago in range(minutes, -1, -10)
    ]


def test_haversine_from_the_equator_to_the_pole_is_a_quarter_circumference():
    assert abs(haversine_km(0, 0, 90, 0) - 10007.5) < 0.1


@given(latitudes, longitudes, latitudes, longitudes)
def test_haversine_is_symmetric_and_never_exceeds_half_the_circumference(a, b, c, d):
    there = haversine_km(a, b, c, d)
    assert there == haversine_km(c, d, a, b)
    assert 0 <= there <= haversine_km(0, 0, 0, 180) + 1e-6


def test_speed_is_the_path_over_the_last_two_hours():
    assert abs(ground_speed_kmh(along_meridian(speed_kmh=80, minutes=120)) - 80) < 0.5


def test_speed_ignores_positions_older_than_two_hours():
    slow_then_fast = [
        Position(at=NOW - timedelta(hours=5), lat=30.0, lon=9.19),
        *along_meridian(speed_kmh=90, minutes=60),
    ]
    assert abs(ground_speed_kmh(slow_then_fast) - 90) < 0.5


def test_a_stationary_truck_is_assumed_to_move_at_the_nominal_speed():
    parked = [Position(at=NOW - timedelta(minutes=m), lat=40.0, lon=9.19) for m in (0, 30, 60)]
    assert ground_speed_kmh(parked) == NOMINAL_KMH


def test_a_single_position_gives_the_nominal_speed():
    assert ground_speed_kmh([Position(at=NOW, lat=40.0, lon=9.19)]) == NOMINAL_KMH


def test_eta_is_the_remaining_distance_at_the_recent_speed():
    positions = along_meridian(speed_kmh=80, minutes=120)
    eta = eta_estimate(positions=positions, destination=MILAN, deadline_at=DEADLINE, now=NOW)
    hours = haversine_km(40.0, 9.19, *MILAN) / 80
    assert eta.basis == "position"
    assert abs((eta.at - NOW).total_seconds() - hours * 3600) < 60


def test_without_positions_the_eta_is_the_planned_arrival():
    eta = eta_estimate(positions=[], destination=MILAN, deadline_at=DEADLINE, now=NOW)
    assert (eta.at, eta.basis) == (DEADLINE, "planned")


def test_without_destination_coordinates_the_eta_is_the_planned_arrival():
    positions = along_meridian(speed_kmh=80, minutes=60)
    eta = eta_estimate(positions=positions, destination=None, deadline_at=DEADLINE, now=NOW)
    assert (eta.at, eta.basis) == (DEADLINE, "planned")


def test_a_delivered_shipment_arrived_when_it_was_delivered():
    delivered = NOW - timedelta(hours=1)
    eta = eta_estimate(
        positions=along_meridian(speed_kmh=80, minutes=60),
        destination=MILAN,
        deadline_at=DEADLINE,
        now=NOW,
        delivered_at=delivered,
    )
    assert (eta.at, eta.basis) == (delivered, "delivered")


positions_lists = st.lists(
    st.builds(
        Position,
        at=st.integers(min_value=0, max_value=6 * 3600).map(lambda s: NOW - timedelta(seconds=s)),
        lat=latitudes,
        lon=longitudes,
    ),
    min_size=1,
    max_size=20,
)


@given(positions_lists, latitudes, longitudes, st.integers(min_value=0, max_value=48 * 3600))
def test_eta_is_never_before_now(positions, lat, lon, seconds_later):
    now = NOW + timedelta(seconds=seconds_later)
    eta = eta_estimate(positions=positions, destination=(lat, lon), deadline_at=DEADLINE, now=now)
    assert eta.at >= now


@given(
    positions_lists,
    st.floats(min_value=-80, max_value=80),
    st.floats(min_value=0, max_value=90),
    st.floats(min_value=0, max_value=90),
)
def test_eta_grows_with_the_remaining_distance(positions, lat, nearer, farther):
    """Destinations due east of the latest position, at increasing longitudes."""
    near, far = sorted((nearer, farther))
    latest = max(positions, key=lambda position: position.at)
    moved = [*positions, Position(at=latest.at + timedelta(seconds=1), lat=lat, lon=0.0)]

    def eta_to(offset: float) -> datetime:
        return eta_estimate(
            positions=moved, destination=(lat, offset), deadline_at=DEADLINE, now=NOW
        ).at

    assert eta_to(near) <= eta_to(far)
