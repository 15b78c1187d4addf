"""The canonical readings frame: what scoring and the feature function take as input.

One row per reading: ``shipment, device, ts, temp_c`` and, when the device
reports them, ``ambient_c, humidity_pct, door_open, reefer_on, setpoint_c,
temp_min, temp_max``. The loader is the border to the outside world (a CSV
from an integrator, the score command), so every defect is reported as a
``ReadingsError`` naming the column and the first offending rows, never as a
traceback from deep inside pandas.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REQUIRED = ("shipment", "device", "ts", "temp_c")
OPTIONAL_FLAGS = ("door_open", "reefer_on")
OPTIONAL = (
    "ambient_c",
    "humidity_pct",
    "door_open",
    "reefer_on",
    "setpoint_c",
    "temp_min",
    "temp_max",
)
COLUMNS = REQUIRED + OPTIONAL
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f"})
SHOWN_ROWS = 3  # offending rows quoted in an error: enough to find them, short enough to read


class ReadingsError(ValueError):
    """The input is not a valid readings frame; the message says why and where."""


def _where(values: pd.Series, bad: pd.Series) -> str:
    # Row numbers as a spreadsheet shows them: the header is line 1.
    shown = [f"line {i + 2}: {values.iloc[i]!r}" for i in bad.to_numpy().nonzero()[0][:SHOWN_ROWS]]
    more = int(bad.sum()) - len(shown)
    return "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")


def _text(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype("string").str.strip().fillna("")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # Everything as text: parsing is ours, so errors can name the line.
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise ReadingsError(f"{path}: no such file") from exc
    except pd.errors.EmptyDataError as exc:
        raise ReadingsError(f"{path}: the file is empty (a header line is required)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise ReadingsError(f"{path}: not a readable CSV file: {exc}") from exc


def _numbers(frame: pd.DataFrame, name: str, *, required: bool) -> pd.Series:
    text = _text(frame, name)
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce").astype("float64")
    blank = text == ""
    bad = numbers.isna() & ~blank
    if bad.any():
        raise ReadingsError(f"column {name!r} must be numeric: {_where(text, bad)}")
    if required and blank.any():
        raise ReadingsError(f"column {name!r} must not be empty: {_where(text, blank)}")
    return numbers


def _flags(frame: pd.DataFrame, name: str) -> pd.Series:
    text = _text(frame, name).str.lower()
    bad = ~(text.isin(TRUE_WORDS) | text.isin(FALSE_WORDS) | (text == ""))
    if bad.any():
        raise ReadingsError(f"column {name!r} must be true or false: {_where(text, bad)}")
    flags = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    flags[text.isin(TRUE_WORDS)] = True
    flags[text.isin(FALSE_WORDS)] = False
    return flags


def _timestamps(frame: pd.DataFrame) -> pd.Series:
    text = _text(frame, "ts")
    parsed = pd.to_datetime(text.where(text != ""), utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        raise ReadingsError(f"column 'ts' must be an ISO 8601 / RFC 3339 time: {_where(text, bad)}")
    return parsed.astype("datetime64[ms, UTC]")


def readings_frame(source: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Validate readings (a frame or a CSV path) into the canonical frame.

    Returns every column of ``COLUMNS`` (optional ones filled with missing
    values), ``ts`` as UTC datetimes, flags as nullable booleans, sorted by
    shipment, device and time, exact duplicate rows dropped (a device that
    stores and forwards may send a reading twice).
    """
    if isinstance(source, pd.DataFrame):
        raw = source.reset_index(drop=True)
    else:
        raw = _read_csv(Path(source))
    raw = raw.rename(columns=lambda name: str(name).strip())
    missing = [name for name in REQUIRED if name not in raw.columns]
    if missing:
        raise ReadingsError(
            f"missing required column(s) {', '.join(missing)}; "
            f"required: {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)}"
        )
    for name in COLUMNS:
        if name not in raw.columns:
            raw[name] = ""
    out = pd.DataFrame(index=raw.index)
    for name in ("shipment", "device"):
        text = _text(raw, name)
        if (text == "").any():
            raise ReadingsError(f"column {name!r} must not be empty: {_where(text, text == '')}")
        out[name] = text
    out["ts"] = _timestamps(raw)
    out["temp_c"] = _numbers(raw, "temp_c", required=True)
    for name in OPTIONAL:
        out[name] = (
            _flags(raw, name) if name in OPTIONAL_FLAGS else _numbers(raw, name, required=False)
        )
    inverted = out["temp_min"] > out["temp_max"]
    if inverted.any():
        raise ReadingsError(
            f"temp_min is above temp_max: {_where(raw['temp_min'].astype(str), inverted)}"
        )
    out = out.drop_duplicates().sort_values(["shipment", "device", "ts"], kind="stable")
    return out.reset_index(drop=True)
