"""The collector with a champion and a challenger: two real local endpoints serving two different archives (the
tier's `challenger_endpoint`: the reference model with other weights), a GBFS feed on loopback. Each completed
hour is forecast once per role and both forecasts are scored and paired; a challenger that fails, or serves the
champion's own model, never costs the champion's forecast; a poll cut short does again only the role it missed;
and `collect` takes the challenger's flags."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from forecast_contract import HORIZON_KEYS
from support import ab_history

from cdk_app.cli import main
from cdk_app.client.forecast_client import ForecastClient
from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.city_forecast import city_requests
from cdk_app.live_data.collector import Collector
from cdk_app.live_data.gbfs import GbfsReader
from cdk_app.live_data.history import CHALLENGER, CHAMPION, HOUR, History, hour_key
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.performance.synthetic_feed import GbfsFeedServer, daily_cycle, paris_stations

START = 1_764_417_600  # 2025-11-29 12:00 UTC
STATIONS = paris_stations(20, seed=11)
HOURS = 26
POLL_EVERY = 1800
WARM_HOURS = 20  # a warmed history: hourly polls and no endpoint, so the next hour is the first forecast
NEXT = START + WARM_HOURS * HOUR  # that hour, the warmed history's last poll's: a poll just past it completes it


def client(endpoint: LocalEndpoint, variant: str | None = None) -> ForecastClient:
    return ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None,
                          target_variant=variant)


def collect_with_both(history: History, champion: LocalEndpoint, challenger: LocalEndpoint) -> list[str]:
    """26 feed-hours polled every 30 minutes, with both endpoints from the start; the poll lines."""
    with GbfsFeedServer("velib", STATIONS, daily_cycle, START) as feed:
        collector = Collector(GbfsReader(feed.url, backoff_seconds=0), history, client(champion), client(challenger))
        lines = []
        for t in range(START, START + HOURS * HOUR + 1, POLL_EVERY):
            feed.clock = t
            lines.append(collector.poll().line())
    return lines


def test_each_hour_is_forecast_by_each_role_and_both_are_paired(tmp_path: Path, endpoint: LocalEndpoint,
                                                               challenger_endpoint: LocalEndpoint) -> None:
    history = History(LocalBlobs(tmp_path / "history"))
    lines = collect_with_both(history, endpoint, challenger_endpoint)
    hours = history.forecast_hours()
    assert hours and hours == list(range(hours[0], START + HOURS * HOUR, HOUR))
    for hour in hours:
        made = {f.role: f for f in history.forecasts(hour)}
        assert set(made) == {CHAMPION, CHALLENGER}, hour
        assert made[CHAMPION].model_version != made[CHALLENGER].model_version
        assert made[CHAMPION].forecasts.keys() == made[CHALLENGER].forecasts.keys()
        assert made[CHAMPION].forecasts != made[CHALLENGER].forecasts  # two models
    line = next(line for line in lines if f"forecast {hour_key(hours[0])}:" in line)
    assert f"challenger forecast {hour_key(hours[0])}: {len(STATIONS)} stations by model" in line
    # each stored forecast is its own endpoint's answer
    latest = history.latest()
    assert latest is not None
    requests = city_requests(hours[-1], history.counts(hours[-1]), latest.stations)
    roles = {}
    for role, served_by in ((CHAMPION, endpoint), (CHALLENGER, challenger_endpoint)):
        answers = client(served_by).predict_many(requests)
        (forecast,) = [f for f in history.forecasts(hours[-1]) if f.role == role]
        assert {a.station_code: a.predictions for a in answers} == forecast.forecasts
        assert forecast.model_version == answers[0].model_version
        roles[role] = forecast.model_version
    # both scored, on the same station-hours, and compared
    scores = history.scores()
    assert {s.role for s in scores} == {CHAMPION, CHALLENGER} and all(s.case_errors is not None for s in scores)
    report = ab_history.report(scores)
    comparison = report["comparison"]
    assert (comparison["champion"], comparison["challenger"]) == (roles[CHAMPION], roles[CHALLENGER])
    scored_hours = len({s.hour for s in scores})
    for horizon in HORIZON_KEYS:
        served = comparison["by_horizon"][horizon]
        assert served["hours"] == scored_hours and served["n"] == scored_hours * len(STATIONS)
        assert served["verdict"] == f"not enough evidence yet (n = {served['n']})"  # fewer than 24 hours
        assert served["champion_mae"] == report["by_model_version"][roles[CHAMPION]][horizon]["mae"]


@pytest.fixture(scope="module")
def warmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("warmed") / "history"
    with GbfsFeedServer("velib", STATIONS, daily_cycle, START) as feed:
        collector = Collector(GbfsReader(feed.url), History(LocalBlobs(root)))
        for hour in range(WARM_HOURS + 1):
            feed.clock = START + hour * HOUR
            collector.poll()
    return root


@pytest.fixture
def feed() -> Iterator[GbfsFeedServer]:
    """The feed just past the hour a warmed history forecasts next."""
    with GbfsFeedServer("velib", STATIONS, daily_cycle, NEXT + 600) as server:
        yield server


def copy_of(warmed: Path, tmp_path: Path) -> History:
    return History(LocalBlobs(Path(shutil.copytree(warmed, tmp_path / "history"))))


def test_a_failing_challenger_costs_the_champion_nothing(warmed: Path, feed: GbfsFeedServer, tmp_path: Path,
                                                         endpoint: LocalEndpoint) -> None:
    """The local endpoint has one variant, AllTraffic, and refuses any other, as SageMaker does."""
    history = copy_of(warmed, tmp_path)
    report = Collector(GbfsReader(feed.url), history, client(endpoint, "AllTraffic"),
                       client(endpoint, "Challenger")).poll()
    (error,) = report.errors
    assert error.startswith(f"challenger forecast {hour_key(NEXT)} failed (BadRequestError)") and "Challenger" in error
    (forecast,) = history.forecasts(NEXT)
    assert forecast.role == CHAMPION and len(forecast.forecasts) == len(STATIONS)
    assert f"forecast {hour_key(NEXT)}: {len(STATIONS)} stations by model" in report.line()


def test_a_challenger_serving_the_champions_model_is_not_stored(warmed: Path, feed: GbfsFeedServer,
                                                                tmp_path: Path, endpoint: LocalEndpoint) -> None:
    history = copy_of(warmed, tmp_path)
    report = Collector(GbfsReader(feed.url), history, client(endpoint), client(endpoint)).poll()
    (forecast,) = history.forecasts(NEXT)
    assert forecast.role == CHAMPION
    assert report.errors == [f"challenger forecast {hour_key(NEXT)}: model {forecast.model_version} already "
                             "forecast this hour as the champion, so it is not stored (a challenger must be another "
                             "model)"]


def test_a_poll_cut_short_does_again_only_the_role_it_missed(warmed: Path, feed: GbfsFeedServer, tmp_path: Path,
                                                             endpoint: LocalEndpoint,
                                                             challenger_endpoint: LocalEndpoint) -> None:
    history = copy_of(warmed, tmp_path)
    latest = tmp_path / "history" / "latest.json"
    before = latest.read_bytes()
    Collector(GbfsReader(feed.url), history, client(endpoint)).poll()
    stored = tmp_path / "history" / "forecasts" / hour_key(NEXT)
    (champion,) = stored.iterdir()
    champion_bytes = champion.read_bytes()
    latest.write_bytes(before)  # as if the poll had stopped before its last write
    report = Collector(GbfsReader(feed.url), history, client(endpoint), client(challenger_endpoint)).poll()
    assert report.errors == []
    assert [n for n in report.notes if "forecast" in n] == [
        f"challenger forecast {hour_key(NEXT)}: {len(STATIONS)} stations by model "
        f"{next(f.model_version for f in history.forecasts(NEXT) if f.role == CHALLENGER)}"]
    assert champion.read_bytes() == champion_bytes  # the champion was not asked again


def test_collect_takes_the_challengers_endpoint(warmed: Path, feed: GbfsFeedServer, tmp_path: Path,
                                                endpoint: LocalEndpoint, challenger_endpoint: LocalEndpoint,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    history = copy_of(warmed, tmp_path)
    assert main(["collect", "--once", "--feed", feed.url, "--history", history.location, "--endpoint-url",
                 endpoint.url, "--challenger-endpoint-url", challenger_endpoint.url]) == 0
    assert f"challenger forecast {hour_key(NEXT)}: {len(STATIONS)} stations" in capsys.readouterr().out
    assert {f.role for f in history.forecasts(NEXT)} == {CHAMPION, CHALLENGER}


@pytest.mark.parametrize(("options", "says"), [
    (["--challenger-endpoint-url", "http://127.0.0.1:9"], "--endpoint-name or --endpoint-url is needed too"),
    (["--endpoint-url", "http://127.0.0.1:9", "--challenger-variant", "Challenger"],
     "--challenger-variant Challenger: names a variant of no endpoint"),
])
def test_collect_refuses_a_challenger_without_its_pair(tmp_path: Path, options: list[str], says: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--once", "--history", str(tmp_path), *options]) == 1
    assert says in capsys.readouterr().err
