"""Seeded bad request bodies: byte-level and JSON-level mutations of valid requests.

The same seed gives the same bodies, so a failure found here is found again. Each body comes with the
content type to send; what is expected of every answer is the same: never a 5xx, never a traceback,
a JSON error body (the container's, or AWS's shape for the Runtime front's own refusals), and a 200 only
with every forecast in [0, capacity].
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from forecast_contract import MAX_BATCH, MAX_PAYLOAD_BYTES, OPTIONAL_FIELDS, REQUIRED_FIELDS

JSON = "application/json"
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
PLACE = "@@value@@"
TRACEBACK_MARKERS = ("Traceback", 'File "', "site-packages", ".py\", line")


@dataclass(frozen=True)
class BadBody:
    kind: str
    content_type: str | None
    body: bytes


def _weird_values(rng: random.Random) -> list[Any]:
    return [None, True, False, "", "x" * rng.randint(1, 80), -1, 0, 10**400, -(10**30), 1.5e308, [], {},
            [[[[1]]]], {"a": 1}, rng.random() * 1e6, "\ud800", "16107\u0000", 24, 7, 201, 48.0, 2.9]


def _json_mutations(rng: random.Random, valid: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, text) pairs; texts are JSON or near-JSON, most of them invalid requests."""
    while True:
        request = copy.deepcopy(valid)
        choice = rng.randrange(12)
        field = rng.choice(FIELDS)
        if choice == 0:
            request[field] = rng.choice(_weird_values(rng))
            yield f"{field} replaced", json.dumps(request)
        elif choice == 1:
            request.pop(field, None)
            yield f"{field} removed", json.dumps(request)
        elif choice == 2:
            history = request["historical_bikes"]
            history[rng.randrange(len(history))] = rng.choice(_weird_values(rng))
            yield "history value replaced", json.dumps(request)
        elif choice == 3:
            literal = rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * 5000, "-" + "9" * 4400])
            yield f"{field} as {literal[:8]}", json.dumps({**request, field: PLACE}).replace(f'"{PLACE}"', literal)
        elif choice == 4:
            depth = rng.choice([50, 1_000, 5_000, 100_000])
            nested = "[" * depth + "]" * depth
            yield f"nested {depth}", json.dumps({**request, field: PLACE}).replace(f'"{PLACE}"', nested)
        elif choice == 5:
            text = json.dumps(request)
            yield "duplicate key", text[:-1] + f', "{field}": {json.dumps(rng.choice(_weird_values(rng)))}}}'
        elif choice == 6:
            count = rng.choice([0, 1, MAX_BATCH + 1, 3])
            rows = [copy.deepcopy(request) for _ in range(count)]
            if rows and count < MAX_BATCH:
                rows[rng.randrange(count)][field] = rng.choice(_weird_values(rng))
            yield f"batch of {count}", json.dumps({"instances": rows})
        elif choice == 7:
            yield "extra field", json.dumps({**request, rng.choice(["is_wekend", "instances", "x"]): 1})
        elif choice == 8:
            shapes = [[request], "text", 12, None, [], request["historical_bikes"]]
            yield "not an object", json.dumps(rng.choice(shapes))
        elif choice == 9:
            yield "lone surrogate code", json.dumps({**request, "station_code": "16\ud83d07"})
        elif choice == 10:
            text = json.dumps(request)
            yield "truncated JSON", text[: rng.randrange(len(text))]
        else:
            yield "string where a number goes", json.dumps(request).replace(f'"{field}": ', f'"{field}": "', 1)


def _byte_mutations(rng: random.Random, data: bytes) -> bytes:
    body = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        action = rng.randrange(5)
        position = rng.randrange(len(body) + 1)
        if action == 0 and body:
            body[min(position, len(body) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            body[position:position] = bytes([rng.choice([0x80, 0xC0, 0xFF, 0xFE, 0xED, 0xF8])])
        elif action == 2:
            del body[position:position + rng.randint(1, 10)]
        elif action == 3:
            body[position:position] = rng.choice([b"\xef\xbb\xbf", b"\x00", b"\xed\xa0\x80", b"{", b"]", b"\\u"])
        else:
            body[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(body)


def bad_bodies(valid: dict[str, Any], count: int, seed: int) -> list[BadBody]:
    """`count` bodies: half JSON-level mutations, half byte-level, a few with odd content types and sizes."""
    rng = random.Random(seed)
    mutations = _json_mutations(rng, valid)
    valid_bytes = json.dumps(valid).encode()
    specials: list[Callable[[], BadBody]] = [
        lambda: BadBody("over 4 MB", JSON, b'{"instances": [' + b"1," * (MAX_PAYLOAD_BYTES // 2) + b"1]}"),
        lambda: BadBody("BOM", JSON, b"\xef\xbb\xbf" + valid_bytes),
        lambda: BadBody("latin-1", JSON, json.dumps({**valid, "station_code": "é"}).encode("latin-1")),
        lambda: BadBody("charset, bad bytes", "application/json; charset=utf-8", b"\xff\xfe" + valid_bytes),
        lambda: BadBody("no content type", None, valid_bytes),
        lambda: BadBody("text/csv", "text/csv", b"1,2,3\xff"),
        lambda: BadBody("empty", JSON, b""),
    ]
    bodies = [make() for make in specials]
    while len(bodies) < count:
        kind, text = next(mutations)
        data = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.5:
            bodies.append(BadBody(f"bytes of {kind}", JSON, _byte_mutations(rng, data)))
        else:
            bodies.append(BadBody(kind, rng.choice([JSON, JSON, "application/json; charset=utf-8"]), data))
    return bodies[:count]


def problems(status: int, text: str, body: BadBody) -> list[str]:
    """What is wrong with an answer to a bad body; an empty list means it was answered as it should be."""
    return _problems(status, text, body, _is_error_body)


def front_problems(status: int, text: str, body: BadBody) -> list[str]:
    """The same for a refusal by the Runtime front itself, whose error body is AWS's (`{"message": ...}`)."""
    return _problems(status, text, body, _is_aws_error_body)


def _problems(status: int, text: str, body: BadBody, is_error_body: Callable[[str, int], bool]) -> list[str]:
    found = []
    if status >= 500:
        found.append(f"{status} for {body.kind}")
    if any(marker in text for marker in TRACEBACK_MARKERS):
        found.append(f"a traceback for {body.kind}: {text[:200]}")
    if status == 200:
        found += _out_of_range(text, body)
    elif not is_error_body(text, status):
        found.append(f"{status} without the JSON error body for {body.kind}: {text[:200]}")
    return found


def _is_error_body(text: str, status: int) -> bool:
    try:
        error = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(error["status"] == status and error["message"] and isinstance(error["fields"], list))


def _is_aws_error_body(text: str, status: int) -> bool:
    try:
        message = json.loads(text)["message"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(message, str) and bool(message)


def _out_of_range(text: str, body: BadBody) -> list[str]:
    sent = json.loads(body.body.decode("utf-8-sig"))
    requests = sent["instances"] if isinstance(sent, dict) and "instances" in sent else [sent]
    answers = json.loads(text)
    answers = answers if isinstance(answers, list) else [answers]
    return [f"forecast {answer['predictions']} outside [0, {request['capacity']}] for {body.kind}"
            for request, answer in zip(requests, answers, strict=True)
            if not all(0 <= v <= request["capacity"] for v in answer["predictions"].values())]
