"""The training channel: the collected history as Parquet, the format `dataset` writes and the training job reads.

A channel is a folder (SageMaker downloads it to SM_CHANNEL_TRAINING) with two files:

    counts.parquet    a row per station and counted hour, sorted by station then hour: station_code,
                      hour_end (the hour named by its end, UTC, as in the history), bikes
    stations.parquet  a row per station, sorted by code: station_code, name, capacity, latitude, longitude

A missing hour has no row, as in the history: nothing is invented. The time features are not stored but derived
from hour_end as the live forecast derives them (Paris time; is_weekend left to the endpoint's default, Saturday
or Sunday), so a model trained on the channel is trained on what it will be sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from forecast_contract import CAPACITY_RANGE, LATITUDE_RANGE, LONGITUDE_RANGE

from cdk_app.training.network import StationNetwork

COUNTS_FILE = "counts.parquet"
STATIONS_FILE = "stations.parquet"
COUNTS_SCHEMA = pa.schema([pa.field("station_code", pa.string(), nullable=False),
                           pa.field("hour_end", pa.timestamp("s", tz="UTC"), nullable=False),
                           pa.field("bikes", pa.int32(), nullable=False)])
STATIONS_SCHEMA = pa.schema([pa.field("station_code", pa.string(), nullable=False),
                             pa.field("name", pa.string(), nullable=False),
                             pa.field("capacity", pa.int32(), nullable=False),
                             pa.field("latitude", pa.float64(), nullable=False),
                             pa.field("longitude", pa.float64(), nullable=False)])
HISTORY_METADATA_KEY = b"velib.history"  # the history a channel was exported from, for metrics.json
HOUR = 3600
PARIS = ZoneInfo("Europe/Paris")  # the live forecast's time zone (cdk_app.live_data.city_forecast)
WEEKEND_FROM = 5  # Saturday: the endpoint's default is_weekend, which the live forecast relies on


class ChannelError(ValueError):
    """A training channel the trainer cannot use; the message names the file, the column and the row."""


def station_problems(capacity: float, latitude: float, longitude: float) -> list[str]:
    """Why the endpoint would refuse this station's requests (its contract), if it would: such a station is not
    forecast live, so it is neither exported nor trained on."""
    checks = (("capacity", capacity, CAPACITY_RANGE), ("latitude", latitude, LATITUDE_RANGE),
              ("longitude", longitude, LONGITUDE_RANGE))
    return [f"{name} {value:g} is outside {low}-{high}" for name, value, (low, high) in checks
            if not low <= value <= high]


def hour_name(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%MZ")


def write_table(table: pa.Table) -> bytes:
    """Parquet bytes, the same for the same rows (no write time is recorded), so an unchanged export is unchanged."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def read_channel(folder: Path) -> StationNetwork:
    """Check the channel and turn it into the trainer's arrays: hours from the first counted to the last."""
    stations = _read(folder, STATIONS_FILE, STATIONS_SCHEMA)
    counts = _read(folder, COUNTS_FILE, COUNTS_SCHEMA)
    codes = stations.column("station_code").to_pylist()
    _check_stations(stations, codes)
    if counts.num_rows == 0:
        raise ChannelError(f"{COUNTS_FILE}: has no rows; export a history that has counted hours")
    station_index, hour_end, bikes = _check_counts(counts, codes)
    first, last = int(hour_end.min()), int(hour_end.max())
    axis = np.arange(first, last + HOUR, HOUR, dtype=np.int64)
    matrix = np.full((len(codes), len(axis)), np.nan)
    matrix[station_index, (hour_end - first) // HOUR] = bikes
    local = [datetime.fromtimestamp(int(h), PARIS) for h in axis]
    day_of_week = np.array([t.weekday() for t in local])
    metadata = counts.schema.metadata or {}
    origin = metadata.get(HISTORY_METADATA_KEY, str(folder).encode()).decode()
    return StationNetwork(
        source=f"collected: {origin}, {len(codes)} stations, hours ending {hour_name(first)} to {hour_name(last)}",
        codes=codes, capacity=stations.column("capacity").to_numpy().astype(np.int64),
        latitude=stations.column("latitude").to_numpy(), longitude=stations.column("longitude").to_numpy(),
        bikes=matrix, hour=np.array([t.hour for t in local]), day_of_week=day_of_week,
        is_weekend=day_of_week >= WEEKEND_FROM, hour_end=axis)


def _read(folder: Path, name: str, schema: pa.Schema) -> pa.Table:
    """The file's columns in the schema's types; a column of another kind, or with empty values, is refused."""
    path = folder / name
    if not path.is_file():
        raise ChannelError(f"{name}: missing from the training channel {folder} (a channel holds {COUNTS_FILE} "
                           f"and {STATIONS_FILE}, as `python -m cdk_app dataset` writes them)")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ChannelError(f"{name}: not a readable Parquet file ({exc})") from None
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            raise ChannelError(f"{name}: has no column '{field.name}' (it needs {', '.join(schema.names)})")
        column = table.column(field.name)
        if column.null_count:
            first = pc.index(pc.is_null(column), True).as_py()
            raise ChannelError(f"{name}: column '{field.name}' has {column.null_count} empty values, "
                               f"the first at row {first}")
        if not _same_kind(column.type, field.type):
            raise ChannelError(f"{name}: column '{field.name}' holds {column.type}, not {field.type}")
        try:
            columns.append(column.cast(field.type))
        except pa.ArrowInvalid as exc:
            raise ChannelError(f"{name}: column '{field.name}' holds a value that does not fit {field.type} "
                               f"({exc})") from None
    return pa.Table.from_arrays(columns, schema=schema.with_metadata(table.schema.metadata))


def _same_kind(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Integers where integers are expected (any width), numbers for floats, text for text, times for times:
    a cast may narrow a type, never turn text into numbers."""
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    return bool(pa.types.is_integer(actual) if pa.types.is_integer(expected) else pa.types.is_timestamp(actual))


def _check_stations(stations: pa.Table, codes: list[str]) -> None:
    seen: set[str] = set()
    rows = zip(codes, *(stations.column(c).to_pylist() for c in ("capacity", "latitude", "longitude")), strict=True)
    for row, (code, capacity, latitude, longitude) in enumerate(rows):
        if code in seen:
            raise ChannelError(f"{STATIONS_FILE}: station {code!r} is listed twice (row {row})")
        seen.add(code)
        problems = station_problems(capacity, latitude, longitude)
        if problems:
            raise ChannelError(f"{STATIONS_FILE}: row {row}, station {code!r}: {'; '.join(problems)}")


def _check_counts(counts: pa.Table, codes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each count's station row, hour (epoch s) and bikes, once every row is known good."""
    station_codes = counts.column("station_code")
    station_index = pc.index_in(station_codes, value_set=pa.array(codes, pa.string()))
    if station_index.null_count:
        row = pc.index(pc.is_null(station_index), True).as_py()
        raise ChannelError(f"{COUNTS_FILE}: row {row} counts station {station_codes[row].as_py()!r}, "
                           f"which {STATIONS_FILE} does not list")
    index = station_index.to_numpy()
    hour_end = counts.column("hour_end").cast(pa.int64()).to_numpy()
    bikes = counts.column("bikes").to_numpy()

    def where(row: int) -> str:
        return f"row {row} (station {codes[index[row]]!r}, hour ending {hour_name(int(hour_end[row]))})"

    off_hour, negative = np.flatnonzero(hour_end % HOUR), np.flatnonzero(bikes < 0)
    if len(off_hour):
        raise ChannelError(f"{COUNTS_FILE}: {where(int(off_hour[0]))}: hour_end must fall on the hour")
    if len(negative):
        row = int(negative[0])
        raise ChannelError(f"{COUNTS_FILE}: {where(row)}: bikes must be 0 or more, got {bikes[row]}")
    order = np.lexsort((hour_end, index))
    repeated = np.flatnonzero((np.diff(index[order]) == 0) & (np.diff(hour_end[order]) == 0))
    if len(repeated):
        raise ChannelError(f"{COUNTS_FILE}: {where(int(order[repeated[0] + 1]))}: a second count of that station "
                           "and hour")
    return index, hour_end, bikes.astype(np.float64)
