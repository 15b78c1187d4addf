"""The readings-frame loader: valid input is normalised, invalid input is a clear error."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.readings import COLUMNS, ReadingsError, readings_frame


def csv_file(tmp_path, text):
    path = tmp_path / "in.csv"
    path.write_text(text)
    return path


def test_a_minimal_csv_gives_every_column_with_typed_values(tmp_path):
    path = csv_file(
        tmp_path,
        "shipment,device,ts,temp_c,door_open\n"
        "s1,b,2026-01-05T00:01:00Z,4.5,true\n"
        "s1,a,2026-01-05T00:00:00Z,4.0,false\n",
    )
    frame = readings_frame(path)
    assert tuple(frame.columns) == COLUMNS
    assert list(frame["device"]) == ["a", "b"]
    assert frame["temp_c"].tolist() == [4.0, 4.5]
    assert frame["door_open"].tolist() == [False, True]
    assert frame["ts"].dt.tz is not None
    assert frame["temp_max"].isna().all()


def test_a_missing_required_column_is_named(tmp_path):
    path = csv_file(tmp_path, "shipment,device,temp_c\ns1,a,4.0\n")
    with pytest.raises(ReadingsError, match=r"missing required column.*ts"):
        readings_frame(path)


def test_an_unparseable_time_names_its_line(tmp_path):
    path = csv_file(tmp_path, "shipment,device,ts,temp_c\ns1,a,yesterday,4.0\n")
    with pytest.raises(ReadingsError, match=r"'ts'.*line 2: 'yesterday'"):
        readings_frame(path)


def test_a_non_numeric_temperature_names_its_line(tmp_path):
    path = csv_file(tmp_path, "shipment,device,ts,temp_c\ns1,a,2026-01-05T00:00:00Z,warm\n")
    with pytest.raises(ReadingsError, match=r"'temp_c' must be numeric.*line 2: 'warm'"):
        readings_frame(path)


def test_an_empty_file_is_an_error_not_a_traceback(tmp_path):
    with pytest.raises(ReadingsError, match="empty"):
        readings_frame(csv_file(tmp_path, ""))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_either_loads_or_raises_a_readings_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "in.csv"
    path.write_text("shipment,device,ts,temp_c,door_open,temp_min\n" + text)
    try:
        frame = readings_frame(path)
    except ReadingsError:
        return
    assert tuple(frame.columns) == COLUMNS


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["s1", "s2"]),
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 10_000),
            st.floats(-40, 40, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_valid_rows_come_back_sorted_with_their_values(rows):
    frame = pd.DataFrame(
        {
            "shipment": [r[0] for r in rows],
            "device": [r[1] for r in rows],
            "ts": [pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(seconds=r[2]) for r in rows],
            "temp_c": [r[3] for r in rows],
        }
    )
    out = readings_frame(frame)
    assert len(out) == len(frame.drop_duplicates())
    keys = list(zip(out["shipment"], out["device"], out["ts"], strict=True))
    assert keys == sorted(keys)
