"""The training channel: a history exported column by column, read back as the trainer's arrays with the live
forecast's time features, and every bad input refused with the file, the column and the row named."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.training_history import (
    ACCEPTED,
    BUILDING,
    DST_END,
    FIRST,
    HOURS,
    OUTAGE,
    REMOVED,
    STATIONS,
    bikes,
    counted,
    expected_counts,
)

from cdk_app.lifecycle.channel import COUNTS_FILE, STATIONS_FILE, ChannelError, read_channel
from cdk_app.lifecycle.dataset import Export, export_dataset
from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.history import HOUR, History
from cdk_app.paths import REPO_ROOT


@pytest.fixture(scope="module")
def exported(training_history: Path, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return export_dataset(History(LocalBlobs(training_history)), tmp_path_factory.mktemp("channel"))


def test_counts_column_by_column(exported: Export) -> None:
    table = pq.read_table(exported.folder / COUNTS_FILE)
    rows = expected_counts()
    assert table.column_names == ["station_code", "hour_end", "bikes"]
    assert table.column("station_code").to_pylist() == [code for code, _, _ in rows]
    assert table.column("hour_end").to_pylist() == [datetime.fromtimestamp(hour, UTC) for _, hour, _ in rows]
    assert table.column("bikes").to_pylist() == [count for _, _, count in rows]
    assert (exported.counts, exported.first_hour, exported.last_hour) == (len(rows), HOURS[0], HOURS[-1])


def test_stations_column_by_column_and_the_left_out_named(exported: Export) -> None:
    table = pq.read_table(exported.folder / STATIONS_FILE)
    assert table.column_names == ["station_code", "name", "capacity", "latitude", "longitude"]
    assert table.column("station_code").to_pylist() == ACCEPTED
    for column in ("name", "capacity", "latitude", "longitude"):
        assert table.column(column).to_pylist() == [getattr(STATIONS[c], column) for c in ACCEPTED]
    assert exported.left_out == {BUILDING.code: "capacity 0 is outside 1-200",
                                 REMOVED: "latest.json no longer describes it"}


def test_the_same_history_exports_the_same_bytes(exported: Export, training_history: Path, tmp_path: Path) -> None:
    again = export_dataset(History(LocalBlobs(training_history)), tmp_path)
    for name in (COUNTS_FILE, STATIONS_FILE):
        assert (again.folder / name).read_bytes() == (exported.folder / name).read_bytes()


def test_days_keeps_the_last_days_only(training_history: Path, tmp_path: Path) -> None:
    export = export_dataset(History(LocalBlobs(training_history)), tmp_path, days=2)
    hours = pq.read_table(tmp_path / COUNTS_FILE).column("hour_end").to_pylist()
    assert (min(hours), max(hours)) == tuple(datetime.fromtimestamp(h, UTC) for h in (HOURS[-48], HOURS[-1]))
    assert (export.first_hour, export.last_hour) == (HOURS[-48], HOURS[-1])


def test_the_channel_reads_back_as_the_hourly_matrix_with_paris_time_features(exported: Export) -> None:
    net = read_channel(exported.folder)
    assert net.codes == ACCEPTED
    np.testing.assert_array_equal(net.hour_end, HOURS)  # contiguous: the outage hour is on the axis, uncounted
    for s, code in enumerate(ACCEPTED):
        expected = [bikes(code, h) if counted(code, h) else np.nan for h in HOURS]
        np.testing.assert_array_equal(net.bikes[s], expected)
    np.testing.assert_array_equal(net.capacity, [STATIONS[c].capacity for c in ACCEPTED])
    assert np.isnan(net.bikes[:, HOURS.index(OUTAGE)]).all()
    first, before, after = 0, HOURS.index(DST_END - HOUR), HOURS.index(DST_END)
    assert (net.hour[first], net.day_of_week[first], net.is_weekend[first]) == (3, 0, False)  # Monday 03:00
    assert (net.hour[before], net.hour[after]) == (2, 2)  # 02:00 twice as summer time ends
    assert (net.day_of_week[after], net.is_weekend[after]) == (6, True)
    assert net.source.startswith("collected: ") and "hours ending 2025-10-20T01:00Z to" in net.source


def test_an_empty_history_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holds no collected hours"):
        export_dataset(History(LocalBlobs(tmp_path / "nothing")), tmp_path / "channel")


def _rewrite(folder: Path, name: str, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.read_table(folder / name)), folder / name)


def _set(column: str, values: list[object]) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        return table.set_column(table.column_names.index(column), column,
                                pa.array(values + table.column(column).to_pylist()[len(values):]))
    return change


@pytest.mark.parametrize(("name", "change", "message"), [
    (COUNTS_FILE, lambda t: t.drop_columns(["bikes"]), "counts.parquet: has no column 'bikes'"),
    (COUNTS_FILE, lambda t: t.set_column(2, "bikes", pa.array([str(v) for v in t.column("bikes").to_pylist()])),
     "counts.parquet: column 'bikes' holds string, not int32"),
    (COUNTS_FILE, lambda t: t.set_column(2, "bikes", pa.array([2.0**40] * t.num_rows)),
     "counts.parquet: column 'bikes' holds double, not int32"),
    (COUNTS_FILE, lambda t: t.set_column(2, "bikes", pa.array([2**40] * t.num_rows)),
     "counts.parquet: column 'bikes' holds a value that does not fit int32"),
    (COUNTS_FILE, _set("bikes", [None]), "counts.parquet: column 'bikes' has 1 empty values, the first at row 0"),
    (COUNTS_FILE, _set("bikes", [0, -2]),
     r"counts.parquet: row 1 \(station '11104', hour ending 2025-10-20T02:00Z\): bikes must be 0 or more, got -2"),
    (COUNTS_FILE, _set("station_code", ["11104", "77"]), "counts.parquet: row 1 counts station '77', which "
                                                          "stations.parquet does not list"),
    (COUNTS_FILE, _set("hour_end", [datetime.fromtimestamp(FIRST + 1200, UTC)]),
     r"counts.parquet: row 0 \(station '11104', hour ending 2025-10-20T01:20Z\): hour_end must fall on the hour"),
    (COUNTS_FILE, _set("hour_end", [datetime.fromtimestamp(FIRST, UTC)] * 2),
     r"row 1 \(station '11104', hour ending 2025-10-20T01:00Z\): a second count of that station and hour"),
    (STATIONS_FILE, _set("capacity", [0]), "stations.parquet: row 0, station '11104': capacity 0 is outside 1-200"),
    (STATIONS_FILE, _set("station_code", ["16107"]), "stations.parquet: station '16107' is listed twice"),
    (STATIONS_FILE, _set("latitude", [40.0]), "station '11104': latitude 40 is outside 48.7-49.05"),
])
def test_a_bad_channel_is_refused_naming_file_column_and_row(
        exported: Export, tmp_path: Path, name: str, change: Callable[[pa.Table], pa.Table], message: str) -> None:
    channel = Path(shutil.copytree(exported.folder, tmp_path / "channel"))
    _rewrite(channel, name, change)
    with pytest.raises(ChannelError, match=message):
        read_channel(channel)


def test_a_missing_or_unreadable_file_is_named(exported: Export, tmp_path: Path) -> None:
    channel = Path(shutil.copytree(exported.folder, tmp_path / "channel"))
    (channel / STATIONS_FILE).write_text("station_code,name\n")
    with pytest.raises(ChannelError, match=r"stations\.parquet: not a readable Parquet file"):
        read_channel(channel)
    shutil.copy(exported.folder / STATIONS_FILE, channel)
    (channel / COUNTS_FILE).unlink()
    with pytest.raises(ChannelError, match=re.escape(f"counts.parquet: missing from the training channel {channel}")):
        read_channel(channel)


def test_dataset_command_reports_what_it_wrote_and_left_out(training_history: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "cdk_app", "dataset", "--history", str(training_history),
                             "--output", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"{tmp_path}: 3 stations, {len(expected_counts())} hourly counts, "
                                     "hours ending 2025-10-20T01:00Z to 2025-11-01T00:00Z")
    assert "left out station 42001: capacity 0 is outside 1-200" in result.stderr
    assert f"hours read {len(HOURS) - 1}/{len(HOURS) - 1}" in result.stderr  # all but the outage
    bad = subprocess.run([sys.executable, "-m", "cdk_app", "dataset", "--history", str(tmp_path / "none"),
                          "--output", str(tmp_path / "out")], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and "error: --history:" in bad.stderr and "holds no collected hours" in bad.stderr
