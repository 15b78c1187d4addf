"""Every fault kind acts where it should and is labelled with kind, truck, device, start, end."""

from datetime import UTC, datetime

import pytest

from devices.keys import generate_private_key, raw_public_key
from devices.simulator.faults import (
    ALL_FAULTS,
    FaultSpecError,
    parse_duration,
    parse_fault_spec,
    random_faults,
)
from devices.simulator.fleet import Fleet, FleetConfig
from devices.simulator.probes import sign_emitted, timestamp
from devices.wire import WireError, decode_payload, encode_payload, parse_compact, verify_signature

START = datetime(2026, 7, 6, tzinfo=UTC).timestamp()  # summer: outside is warmer than the box
MINUTE = 60.0
HOUR = 3600.0


def simulate(*specs, instants=360, seed=4, **config):
    """Run one truck (reefer + logger) for ``instants`` minutes under the given --fault specs."""
    fleet = Fleet(
        FleetConfig(
            start=START,
            seed=seed,
            products=("chilled",),
            faults=tuple(parse_fault_spec(spec) for spec in specs),
            **config,
        )
    )
    truths, messages = [], []
    for _ in range(instants):
        _, truth, emitted = fleet.tick()
        truths.extend(truth)
        messages.extend(emitted)
    return fleet, truths, messages


def genuine(messages, device):
    return [m for m in messages if m.device == device and not m.injected]


def within(message_or_truth, start_min, end_min):
    return START + start_min * MINUTE <= message_or_truth.t < START + end_min * MINUTE


def only_label(fleet, kind):
    labels = [f for unit in fleet.units for f in fleet.labels(unit, START + 10 * 24 * HOUR)]
    assert [f.kind for f in labels] == [kind]
    return labels[0]


# --- the --fault syntax ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("45s", 45), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_a_fault_spec_names_kind_target_start_duration_and_magnitude():
    spec = parse_fault_spec("clock_skew:truck-001-logger@1h+3h=-600")
    assert (spec.kind, spec.target, spec.offset_s, spec.duration_s, spec.magnitude) == (
        "clock_skew",
        "truck-001-logger",
        3600,
        10800,
        -600,
    )
    default = parse_fault_spec("reefer_failure:truck-003@30m")
    assert (default.duration_s, default.magnitude) == (4 * HOUR, 0.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reefer_failure", "expected KIND:TARGET@OFFSET"),
        ("melted:truck-001@1h", "unknown kind"),
        ("dropout:truck-001-logger@1x", "expected"),
        ("dropout:truck-001-logger@1h=3", "takes no magnitude"),
        ("reefer_failure:truck-001@1h=1.5", "capacity fraction"),
        ("stuck_probe:truck-001-logger@1h+0", "duration must be positive"),
    ],
)
def test_bad_fault_specs_say_what_is_wrong(text, message):
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_spec(text)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("dropout:truck-001@1h", "targets a device"), ("power_loss:truck-009@1h", "not one of")],
)
def test_a_fault_must_target_a_simulated_truck_or_device_of_the_right_kind(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        simulate(spec, instants=1)


# --- truck faults: the true state changes ----------------------------------------


def test_reefer_failure_stops_cooling_and_the_air_and_cargo_warm():
    fleet, truths, _ = simulate("reefer_failure:truck-001@1h+3h")
    _, baseline, _ = simulate()
    during = [t for t in truths if within(t, 61, 240)]
    assert {t.reefer_mode for t in during} == {"failed"}
    assert all(t.cooling_w == 0.0 and t.reefer_on for t in during)
    assert "reefer_failure" in during[0].faults
    end = 239
    assert truths[end].air_c > baseline[end].air_c + 2.0
    assert truths[end].cargo_c > baseline[end].cargo_c
    label = only_label(fleet, "reefer_failure")
    assert (label.truck, label.device, label.start, label.end) == (
        "truck-001",
        None,
        START + HOUR,
        START + 4 * HOUR,
    )


def test_power_loss_switches_the_unit_off_and_the_controller_reports_it():
    fleet, truths, messages = simulate("power_loss:truck-001@1h+2h")
    during = [t for t in truths if within(t, 61, 180)]
    assert {t.reefer_mode for t in during} == {"off"}
    reports = [m.payload for m in genuine(messages, "truck-001-reefer") if within(m, 61, 180)]
    assert reports
    assert not any(p["reefer_on"] for p in reports)
    after = [m.payload for m in genuine(messages, "truck-001-reefer") if within(m, 181, 360)]
    assert all(p["reefer_on"] for p in after)
    assert only_label(fleet, "power_loss").end == START + 3 * HOUR


def test_a_door_left_open_lets_warm_air_in():
    fleet, truths, messages = simulate("door_left_open:truck-001@2h+45m")
    during = [t for t in truths if within(t, 120, 165)]
    assert all(t.door_open for t in during)
    assert max(t.air_c for t in during) > during[0].air_c + 3.0
    reports = [m.payload for m in genuine(messages, "truck-001-reefer") if within(m, 120, 165)]
    assert all(p["door_open"] for p in reports)
    assert only_label(fleet, "door_left_open").start == START + 2 * HOUR


def test_poor_precooling_loads_warm_cargo_and_is_labelled_until_it_is_back_in_range():
    fleet, truths, _ = simulate("poor_precooling:truck-001@0=3", instants=1440)
    product = truths[0].product
    assert truths[0].cargo_c == pytest.approx(product.temp_max + 3)
    assert "poor_precooling" in truths[0].faults
    label = only_label(fleet, "poor_precooling")
    assert label.start == START
    back = next(t for t in truths if t.cargo_c <= product.temp_max)
    assert label.end == back.t
    assert "poor_precooling" not in back.faults


# --- probe faults: one device's reports change, the cargo does not ---------------


def test_a_stuck_probe_repeats_one_value_while_the_other_device_keeps_measuring():
    fleet, _, messages = simulate("stuck_probe:truck-001-logger@1h+2h")
    stuck = [
        m.payload["temp_c"] for m in genuine(messages, "truck-001-logger") if within(m, 60, 180)
    ]
    other = [
        m.payload["temp_c"] for m in genuine(messages, "truck-001-reefer") if within(m, 60, 180)
    ]
    assert len(stuck) == 120
    assert len(set(stuck)) == 1
    assert len(set(other)) > 10
    assert all("stuck_probe" in m.faults for m in genuine(messages, "truck-001-logger")[60:180])
    assert only_label(fleet, "stuck_probe").device == "truck-001-logger"


def test_a_drifting_probe_drifts_away_linearly():
    _, _, faulty = simulate("probe_drift:truck-001-logger@1h+4h=1.5")
    _, _, clean = simulate()
    pairs = zip(
        genuine(faulty, "truck-001-logger"), genuine(clean, "truck-001-logger"), strict=True
    )
    for bad, good in pairs:
        offset = bad.payload["temp_c"] - good.payload["temp_c"]
        expected = 1.5 * max(0.0, bad.t - START - HOUR) / HOUR if within(bad, 60, 300) else 0.0
        assert offset == pytest.approx(expected, abs=0.011)


def test_spikes_jump_far_from_the_truth_only_inside_the_fault():
    _, truths, messages = simulate("probe_spike:truck-001-reefer@2h+5m=20")
    air = {t.t: t.air_c for t in truths}
    for message in genuine(messages, "truck-001-reefer"):
        error = abs(message.payload["temp_c"] - air[message.t])
        assert (error > 10.0) == within(message, 120, 125)


def test_a_dropout_omits_readings_and_the_sequence_carries_on_without_a_gap():
    fleet, _, messages = simulate("dropout:truck-001-logger@1h+30m")
    logger = genuine(messages, "truck-001-logger")
    assert not [m for m in logger if within(m, 60, 90)]
    assert len(logger) == 360 - 30
    assert [m.seq for m in logger] == list(range(1, 331))
    assert only_label(fleet, "dropout").end == START + 90 * MINUTE


def test_clock_skew_shifts_the_reported_timestamp_only():
    _, _, messages = simulate("clock_skew:truck-001-reefer@1h+1h=-600")
    for message in genuine(messages, "truck-001-reefer"):
        shift = -600 if within(message, 60, 120) else 0
        assert message.payload["ts"] == timestamp(message.t + shift)
        decode_payload(encode_payload(message.payload))  # still a valid reading


# --- message faults: what the platform must refuse -------------------------------


def test_a_forged_message_does_not_verify_with_the_device_key():
    fleet, _, messages = simulate("forged_signature:truck-001-reefer@1h+10m")
    device_key = generate_private_key()
    keys, attacker = {"truck-001-reefer": device_key}, generate_private_key()
    forged = [m for m in messages if m.injected == "forged_signature"]
    assert len(forged) == 10
    for message in forged:
        assert message.device == "truck-001-reefer"
        assert within(message, 60, 70)
        token = sign_emitted(message, keys, attacker)
        parsed = parse_compact(token)
        assert parsed.kid == "truck-001-reefer"
        with pytest.raises(WireError, match="bad_signature"):
            verify_signature(parsed, raw_public_key(device_key))
    real = genuine(messages, "truck-001-reefer")[61]
    verify_signature(parse_compact(sign_emitted(real, keys, attacker)), raw_public_key(device_key))
    assert only_label(fleet, "forged_signature").device == "truck-001-reefer"


def test_a_replayed_message_is_an_earlier_message_byte_for_byte():
    fleet, _, messages = simulate("replayed_message:truck-001-logger@2h+10m")
    replays = [m for m in messages if m.injected == "replayed_message"]
    assert len(replays) == 10
    for replay in replays:
        original = replay.original
        assert original.device == replay.device
        assert original.t < replay.t
        assert encode_payload(replay.payload) == encode_payload(original.payload)
        assert replay.seq == original.seq < genuine(messages, "truck-001-logger")[-1].seq
    assert only_label(fleet, "replayed_message").source == "flag"


# --- random schedule -------------------------------------------------------------


def test_the_random_schedule_is_seeded_covers_every_kind_and_labels_every_fault():
    def draw(seed):
        return [
            fault
            for window in range(60)
            for fault in random_faults(
                seed=seed,
                truck="truck-001",
                devices=["truck-001-reefer", "truck-001-logger"],
                window=window,
                window_start=START + window * 86400,
                window_s=86400,
                rate_per_day=3.0,
                kinds=ALL_FAULTS,
            )
        ]

    faults = draw(1)
    assert draw(1) == faults
    assert draw(2) != faults
    assert {f.kind for f in faults} == set(ALL_FAULTS)
    assert 120 < len(faults) < 240  # Poisson, mean 180
    for fault in faults:
        assert fault.end >= fault.start
        assert (fault.device is None) == (
            fault.kind in ("reefer_failure", "power_loss", "poor_precooling", "door_left_open")
        )


def test_random_faults_in_a_fleet_show_up_in_readings_and_labels():
    fleet, _truths, messages = simulate(instants=3 * 1440, fault_rate_per_day=4.0, seed=11)
    labels = [f for unit in fleet.units for f in fleet.labels(unit, START + 3 * 86400)]
    assert len(labels) >= 4
    for label in labels:
        affected = [
            m
            for m in messages
            if label.kind in m.faults.split(";")
            and (label.device is None or m.device == label.device)
        ]
        if label.kind == "dropout":
            assert not any(
                m.device == label.device and label.start <= m.t < label.end for m in messages
            )
        elif label.end - label.start >= 60:
            assert affected, label
