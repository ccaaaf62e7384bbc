"""The API's serverless A/B: two real local endpoints serving two different archives (the champion's artifacts,
and a copy with other weights, so another model_version), the API under uvicorn splitting the stations between
them, sticky per station; Redis is Debian's own."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from forecast_contract import artifacts_version
from support.fixtures import GUIDE
from support.web_servers import api_process, logged, redis_server

from cdk_app.deployment.model_archive import Archive
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.paths import ARTIFACTS_DIR
from cdk_app.web_api.variant_split import station_point

pytestmark = pytest.mark.server
TIMEOUT = 60
STATIONS = 2_000
WEIGHT = 0.1
# The share of stations on the challenger: if the station hash spreads codes uniformly, the count of the 2,000 on
# the challenger is Binomial(2000, 0.1): mean 200, sd sqrt(2000 * 0.1 * 0.9) = 13.4. Five sd either side (133-267)
# fails a correct split once in about 1.7 million code sets, while a split that ignored the weight (0.5: 1,000),
# inverted it (0.9: 1,800) or was not sticky per station (tested apart) lands far outside.
SD = math.sqrt(STATIONS * WEIGHT * (1 - WEIGHT))
BOUND = 5 * SD
NO_LIMIT = "1000000/hour"


@contextmanager
def ab_api(champion: LocalEndpoint, challenger: LocalEndpoint, log: Path, weight: float = WEIGHT,
           *options: str) -> Iterator[str]:
    with api_process(champion.url, log, "--challenger-endpoint-url", challenger.url, "--challenger-weight",
                     str(weight), "--rate-limit", NO_LIMIT, *options) as api:
        yield api


def request_for(code: str, hour: int = 14) -> dict[str, Any]:
    return {**GUIDE, "station_code": code, "hour": hour}


def predict(session: requests.Session, api: str, body: Any, path: str = "/predict", **headers: str
            ) -> requests.Response:
    response = session.post(f"{api}{path}", data=json.dumps(body), timeout=TIMEOUT,
                            headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 200, response.text
    return response


def health(api: str) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(f"{api}/health", timeout=TIMEOUT).json()
    return answer


@pytest.fixture
def versions(challenger_archive: Archive) -> dict[str, str]:
    """The model_version each side's archive answers with: two, so an answer's tells which model made it."""
    versions = {"champion": artifacts_version(ARTIFACTS_DIR), "challenger": challenger_archive.model_version}
    assert versions["champion"] != versions["challenger"]
    return versions


@pytest.mark.timeout(300)
def test_each_station_is_sticky_to_one_side_and_the_share_of_stations_is_the_weight(
        endpoint: LocalEndpoint, challenger_endpoint: LocalEndpoint, versions: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    codes = [f"AB{i:05d}" for i in range(STATIONS)]
    with ab_api(endpoint, challenger_endpoint, log) as api, requests.Session() as session:
        answers = {code: predict(session, api, request_for(code), **{"X-Request-ID": f"split-{code}"}).json()
                   for code in codes}
        variants = {code: answer["variant"] for code, answer in answers.items()}
        on_challenger = [code for code, variant in variants.items() if variant == "challenger"]
        assert abs(len(on_challenger) - STATIONS * WEIGHT) <= BOUND, len(on_challenger)
        assert set(variants.values()) == {"champion", "challenger"}
        assert all(answer["model_version"] == versions[answer["variant"]] for answer in answers.values())
        assert [answer["station_code"] for answer in answers.values()] == codes
        # asked again, for another hour (so the endpoint answers again, no cache) and for the same (a cache hit)
        again = on_challenger + [code for code in codes if variants[code] == "champion"][:200]
        for code in again:
            fresh = predict(session, api, request_for(code, hour=15))
            cached = predict(session, api, request_for(code))
            assert fresh.headers["X-Cache"] == "miss" and cached.headers["X-Cache"] == "hit"
            assert fresh.json()["variant"] == cached.json()["variant"] == variants[code], code
            assert fresh.json()["model_version"] == versions[variants[code]]
        served = Counter(variants.values()) + Counter(variants[code] for code in again for _ in range(2))
        ab = health(api)["ab"]
    assert {role: (side["weight"], side["forecasts"], side["state"]["state"]) for role, side in ab.items()} == {
        "champion": (1 - WEIGHT, served["champion"], "ok"), "challenger": (WEIGHT, served["challenger"], "ok")}
    logged(log, f"split-{codes[-1]}")  # each request's line is written once its answer has gone out
    lines = {line["request_id"]: line for line in map(json.loads, log.read_text().splitlines())
             if line.get("request_id", "").startswith("split-")}
    assert {code: lines[f"split-{code}"]["variants"] for code in codes} == {
        code: [variant] for code, variant in variants.items()}


def test_a_batch_on_both_sides_is_answered_in_request_order(endpoint: LocalEndpoint,
                                                             challenger_endpoint: LocalEndpoint,
                                                             versions: dict[str, str], tmp_path: Path) -> None:
    codes = [f"MIX{i:03d}" for i in range(40)]
    batch = {"instances": [request_for(code, hour=i % 24) for i, code in enumerate(codes)]}
    log = tmp_path / "api.log"
    with ab_api(endpoint, challenger_endpoint, log, 0.5) as api, requests.Session() as session:
        answered = predict(session, api, batch, "/predict/batch", **{"X-Request-ID": "mixed"})
        assert [a["station_code"] for a in answered.json()] == codes
        assert {a["variant"] for a in answered.json()} == {"champion", "challenger"}
        assert all(a["model_version"] == versions[a["variant"]] for a in answered.json())
        singles = [predict(session, api, row).json() for row in batch["instances"]]
        assert singles == answered.json()  # one at a time: the same side, the same forecast (from the cache)
        repeated = predict(session, api, batch, "/predict/batch")
        assert repeated.headers["X-Cache"] == "hit" and repeated.json() == answered.json()
    (line,) = logged(log, '"mixed"')
    assert line["variants"] == ["challenger", "champion"] and line["endpoint_ms"] > 0


def test_without_a_challenger_the_answer_names_the_endpoints_variant_and_health_no_split(api: str) -> None:
    answer = requests.post(f"{api}/predict", json=GUIDE, timeout=TIMEOUT).json()
    assert answer["variant"] == "AllTraffic"  # the local endpoint's one production variant, as SageMaker's
    assert health(api)["ab"] is None


def test_processes_sharing_redis_add_up_and_never_serve_one_sides_answer_for_the_other(
        endpoint: LocalEndpoint, challenger_endpoint: LocalEndpoint, tmp_path: Path) -> None:
    # A station the challenger serves at weight 0.9 and the champion at 0.1: its point lies between the two.
    code = next(c for c in (f"R{i}" for i in range(1000)) if 0.1 <= station_point(c) < 0.9)
    with redis_server() as store, requests.Session() as session:
        shared = ("--redis-url", store.url)
        with ab_api(endpoint, challenger_endpoint, tmp_path / "a.log", 0.9, *shared) as mostly_challenger, \
                ab_api(endpoint, challenger_endpoint, tmp_path / "b.log", 0.1, *shared) as mostly_champion:
            first = predict(session, mostly_challenger, request_for(code))
            other = predict(session, mostly_champion, request_for(code))
        assert first.json()["variant"] == "challenger" and other.json()["variant"] == "champion"
        assert other.headers["X-Cache"] == "miss"  # the challenger's cached answer was not served for the champion
        with ab_api(endpoint, challenger_endpoint, tmp_path / "c.log", 0.5, *shared) as one, \
                ab_api(endpoint, challenger_endpoint, tmp_path / "d.log", 0.5, *shared) as two:
            sides = [predict(session, api, request_for(f"S{i}")).json()["variant"]
                     for i, api in enumerate([one, two] * 10)]
            counted = [{role: side["forecasts"] for role, side in health(api)["ab"].items()} for api in (one, two)]
            store.stop()  # Redis gone: still answered, and the counts say they are unknown rather than wrong
            assert predict(session, one, request_for("S99")).json()["variant"] in sides
            assert {side["forecasts"] for side in health(one)["ab"].values()} == {None}
    assert counted == [{"champion": sides.count("champion"), "challenger": sides.count("challenger")}] * 2
