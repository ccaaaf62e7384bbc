"""Bad input never gets a 5xx, and every error is a JSON body naming its fields, with no traceback.

Through the toolkit's own Transformer in process; tests/integration/test_wire_fuzz.py sends the same kinds
of bodies through the real serving stack.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, cast

import inference
import pytest
import torch
from forecast_contract import MAX_BATCH, MAX_PAYLOAD_BYTES, OPTIONAL_FIELDS, REQUIRED_FIELDS
from support.fixtures import GUIDE
from support.fuzz import bad_bodies, problems
from support.handler_driver import Response, Toolkit
from ts.context import Context, RequestProcessor

FUZZ_BODIES = 10_000


@pytest.fixture(scope="module")
def toolkit() -> Toolkit:
    return Toolkit()


def error_of(response: Response) -> dict[str, Any]:
    assert "Traceback" not in response.body and "site-packages" not in response.body, response.body
    error = response.json()["error"]
    assert error["status"] == response.status
    return dict(error)


def test_a_bad_field_is_named_in_the_error_body(toolkit: Toolkit) -> None:
    response = toolkit.invoke(json.dumps({**GUIDE, "hour": 24}))
    assert response.status == 400
    assert response.json() == {"error": {"status": 400, "message": "hour: must be an integer 0-23, got 24",
                                         "fields": [{"field": "hour", "problem": "must be an integer 0-23, got 24"}]}}


def test_a_batch_with_two_bad_rows_lists_both(toolkit: Toolkit) -> None:
    rows = [GUIDE, {**GUIDE, "hour": 24}, GUIDE, {**GUIDE, "capacity": 0}]
    error = error_of(toolkit.invoke(json.dumps({"instances": rows})))
    assert [f["field"] for f in error["fields"]] == ["instances[1].hour", "instances[3].capacity"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_invalid_utf8_is_a_400_with_and_without_charset(toolkit: Toolkit, content_type: str) -> None:
    response = toolkit.invoke(b'{"station_code": "\xff\xfe"}', content_type)
    assert response.status == 400
    assert error_of(response)["fields"][0]["field"] == "request body"
    assert "not valid UTF-8" in error_of(response)["message"]


def test_a_utf8_byte_order_mark_is_accepted(toolkit: Toolkit) -> None:
    plain = toolkit.invoke(json.dumps(GUIDE))
    with_bom = toolkit.invoke(b"\xef\xbb\xbf" + json.dumps(GUIDE).encode())
    assert with_bom.status == 200 and with_bom.json()["predictions"] == plain.json()["predictions"]


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_is_a_400_anywhere(toolkit: Toolkit, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    for text in (nested, json.dumps({**GUIDE, "hour": "@"}).replace('"@"', nested)):
        response = toolkit.invoke(text)
        assert 400 <= response.status < 500, response.body[:300]
        error_of(response)


@pytest.mark.parametrize("literal", ["9" * 5000, "-" + "9" * 5000, "9" * 400, "1e400", "-1e400"])
@pytest.mark.parametrize("field", [*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "historical_bikes[3]"])
def test_huge_numbers_in_every_field_are_a_400_naming_it(toolkit: Toolkit, literal: str, field: str) -> None:
    request: dict[str, Any] = {**GUIDE, "historical_bikes": list(GUIDE["historical_bikes"])}
    if field == "historical_bikes[3]":
        request["historical_bikes"][3] = "@"
    else:
        request[field] = "@"
    response = toolkit.invoke(json.dumps(request).replace('"@"', literal))
    assert response.status == 400, response.body[:300]
    assert field.split("[")[0] in " ".join(f["field"] for f in error_of(response)["fields"])


def test_a_lone_surrogate_in_station_code_is_a_400(toolkit: Toolkit) -> None:
    response = toolkit.invoke(json.dumps({**GUIDE, "station_code": "\ud800"}))
    assert response.status == 400
    assert error_of(response)["fields"] == [{"field": "station_code",
                                             "problem": "must be valid Unicode text, without lone surrogates"}]


def test_duplicate_keys_the_last_one_wins(toolkit: Toolkit) -> None:
    text = json.dumps(GUIDE)[:-1] + ', "hour": 3}'
    assert toolkit.invoke(text).json()["predictions"] == toolkit.invoke(json.dumps({**GUIDE, "hour": 3})).json()[
        "predictions"]
    assert toolkit.invoke(json.dumps({**GUIDE, "hour": 3})[:-1] + ', "hour": 99}').status == 400


def test_a_body_over_4_mb_is_a_413(toolkit: Toolkit) -> None:
    body = json.dumps({"instances": [GUIDE] * 20_000}).encode()
    assert len(body) > MAX_PAYLOAD_BYTES
    response = toolkit.invoke(body)
    assert response.status == 413 and "4194304-byte limit" in error_of(response)["message"]


@pytest.mark.parametrize(("count", "fragment"), [(0, "non-empty list"), (MAX_BATCH + 1, "at most 2000")])
def test_an_empty_or_oversized_batch_is_a_400(toolkit: Toolkit, count: int, fragment: str) -> None:
    response = toolkit.invoke(json.dumps({"instances": [GUIDE] * count}))
    assert response.status == 400 and fragment in error_of(response)["message"]


def test_content_type_and_accept_errors_are_json_too(toolkit: Toolkit) -> None:
    assert error_of(toolkit.invoke("1,2", "text/csv"))["fields"][0]["field"] == "Content-Type"
    refused = toolkit.invoke(json.dumps(GUIDE), accept="text/csv")
    assert refused.status == 406 and error_of(refused)["fields"][0]["field"] == "Accept"


class _Broken(torch.nn.Module):
    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("weights gone at /opt/ml/model/code/model_utils.py")


def test_a_model_failure_is_a_500_that_says_what_but_not_where(toolkit: Toolkit) -> None:
    bundle = inference.model_fn(toolkit.context.system_properties["model_dir"])
    context = Context("model", "", {}, 1, None, "0.12.0")
    context.request_processor = [RequestProcessor({})]
    parsed = inference.input_fn(json.dumps(GUIDE), "application/json", context)
    body, _ = inference.output_fn(inference.predict_fn(parsed, replace(bundle, model=cast(Any, _Broken())), context),
                                  "application/json", context)
    assert context.get_response_status(0)[0] == 500
    message = json.loads(body)["error"]["message"]
    assert message == "the model failed: RuntimeError: weights gone at model_utils.py"


def test_without_a_context_an_error_is_the_toolkits_own_exception() -> None:
    from sagemaker_inference.errors import GenericInferenceToolkitError

    refusal = inference.input_fn(b"[", "application/json")
    assert isinstance(refusal, inference.Refusal)
    with pytest.raises(GenericInferenceToolkitError) as raised:
        inference.output_fn(refusal, "application/json")
    assert raised.value.status_code == 400


def test_ten_thousand_fuzzed_bodies_get_no_5xx_and_no_traceback(toolkit: Toolkit) -> None:
    found: list[str] = []
    statuses: dict[int, int] = {}
    for body in bad_bodies(GUIDE, FUZZ_BODIES, seed=2026):
        response = toolkit.invoke(body.body, body.content_type)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        found += problems(response.status, response.body, body)
    assert found == []
    assert sum(statuses.values()) == FUZZ_BODIES and statuses.get(400, 0) > FUZZ_BODIES // 2
