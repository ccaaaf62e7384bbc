"""The serverless A/B's split of stations between the champion and the challenger, and where the API takes the
challenger from; the split through the API, against two real endpoints, is tests/integration/test_web_ab.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cdk_app.cli import main
from cdk_app.deployment.config import load_project_config
from cdk_app.paths import ARTIFACTS_DIR
from cdk_app.rehearsal.challenger_model import challenger_artifacts
from cdk_app.web_api.forecasts import stage_challenger
from cdk_app.web_api.variant_split import VariantSplit, challenger_weight, station_point

CODES = [str(n) for n in range(10_000, 30_000)]


def test_a_stations_point_is_the_first_eight_bytes_of_sha256_of_its_code() -> None:
    for code in ("16107", "Rivoli", "é"):
        expected = int(hashlib.sha256(code.encode()).hexdigest()[:16], 16) / 2**64
        assert station_point(code) == expected and 0 <= expected < 1
    assert station_point(" 16107 ") == station_point("16107")  # the endpoint strips the code: one station


def test_the_share_of_stations_on_the_challenger_is_the_weight() -> None:
    # 20,000 codes, weight 0.1: Binomial sd sqrt(20000 * 0.1 * 0.9) = 42 stations; five sd is 212 (about 1 %).
    on_challenger = sum(VariantSplit(0.1).role(code) == "challenger" for code in CODES)
    assert abs(on_challenger - 2_000) <= 212


def test_raising_the_weight_keeps_the_challengers_stations() -> None:
    small, large = VariantSplit(0.1), VariantSplit(0.3)
    assert all(large.role(code) == "challenger" for code in CODES if small.role(code) == "challenger")


def test_a_partition_keeps_request_order_and_leaves_an_empty_side_out() -> None:
    split = VariantSplit(0.5)
    codes = CODES[:50]
    sides = split.partition(codes)
    assert sorted(sides) == ["challenger", "champion"]
    assert sorted(sides["champion"] + sides["challenger"]) == list(range(50))
    assert all(positions == sorted(positions) for positions in sides.values())
    assert all(split.role(codes[p]) == role for role, positions in sides.items() for p in positions)
    (lone,) = split.partition(codes[:1]).values()
    assert lone == [0]


@pytest.mark.parametrize("text", ["0", "1", "1.5", "-0.1", "nan", "inf", "ten", ""])
def test_a_weight_outside_zero_to_one_names_the_flag(text: str) -> None:
    with pytest.raises(ValueError, match="--challenger-weight: must be a number strictly between 0 and 1"):
        challenger_weight(text)
    assert challenger_weight("0.25") == 0.25


def test_a_split_refuses_a_weight_of_zero_or_one() -> None:
    for weight in (0.0, 1.0):
        with pytest.raises(ValueError, match="challenger_weight"):
            VariantSplit(weight)


def test_the_stages_challenger_is_the_second_endpoint_in_serverless_mode_only(tmp_path: Path) -> None:
    other = str(challenger_artifacts(ARTIFACTS_DIR, tmp_path / "artifacts"))
    serverless = load_project_config(stage="dev", challenger_version=other, challenger_weight=0.2)
    assert stage_challenger(serverless) == {"challenger_endpoint_name": "velib-forecast-dev-challenger",
                                            "challenger_weight": 0.2}
    realtime = load_project_config(stage="dev", challenger_version=other, endpoint_type="realtime")
    assert stage_challenger(realtime) == {}  # SageMaker splits between the endpoint's two variants
    assert stage_challenger(load_project_config(stage="dev", challenger_version="")) == {}


@pytest.mark.parametrize(("arguments", "message"), [
    (["api", "--endpoint-url", "http://127.0.0.1:9", "--challenger-endpoint-url", "http://127.0.0.1:10",
      "--challenger-weight", "1.5"], "--challenger-weight: must be a number strictly between 0 and 1, got '1.5'"),
    (["api", "--endpoint-url", "http://127.0.0.1:9", "--challenger-weight", "0.2"],
     "--challenger-weight: there is no challenger to weigh"),
    (["api", "--endpoint-url", "http://127.0.0.1:9", "--challenger-endpoint-url", "http://127.0.0.1:9"],
     "--challenger-endpoint-name: velib-forecast-local is the champion's endpoint"),
    (["up", "--challenger-weight", "0.2"], "--challenger-weight: there is no challenger to weigh"),
    (["up", "--challenger-archive", "model.tar.gz", "--challenger-weight", "0"],
     "--challenger-weight: must be a number strictly between 0 and 1, got '0'"),
])
def test_a_bad_challenger_flag_is_refused_before_anything_starts(arguments: list[str], message: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(arguments) == 1
    assert message in capsys.readouterr().err
