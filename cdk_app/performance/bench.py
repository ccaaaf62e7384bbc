"""Latency benchmarks, from the bare forward pass (the floor) to the real serving stack.

A script that prints figures, not a test: wall-clock numbers depend on the machine. Run with
`python -m cdk_app bench`; the table goes to stdout and to JSON for `python -m cdk_app cost`.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import inference
import model_utils
import torch

from cdk_app.atomic_files import write_json
from cdk_app.child_process import ChildServer
from cdk_app.client.example_requests import guide_request
from cdk_app.client.forecast_client import ForecastClient
from cdk_app.deployment.model_archive import build_archive
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.local_serving.model_server import extract_archive
from cdk_app.loopback import free_port
from cdk_app.paths import ARTIFACTS_DIR, MODEL_CODE_DIR, REPO_ROOT
from cdk_app.performance.bench_rows import (
    API_CONCURRENT,
    API_FROM_HISTORY,
    API_HIT,
    API_MISS,
    BATCH_STATIONS,
    CITY_FORECAST,
    POLL_STORE,
    RUNTIME_SEQUENTIAL,
    STACK_BATCH,
    STACK_CONCURRENT,
    STACK_SEQUENTIAL,
    Row,
    chain_id,
    forward_id,
)
from cdk_app.performance.live_bench import api_from_history_row, city_forecast_row, poll_rows
from cdk_app.progress import step

CONCURRENT_CLIENTS = 5


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(row_id: str, name: str, call: Callable[[], object], repeat: int, warmup: int = 20) -> Row:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return Row(row_id, name, percentile(samples, 50), percentile(samples, 99), repeat)


def batch_body(count: int) -> str:
    request = guide_request()
    return json.dumps({"instances": [{**request, "hour": i % 24} for i in range(count)]})


def in_process_rows(repeat: int) -> list[Row]:
    """The bare forward (the floor) and the whole handler chain, on the same inputs."""
    torch.set_num_threads(1)
    bundle = inference.model_fn(str(ARTIFACTS_DIR))
    rows = []
    for count, body in ((1, json.dumps(guide_request())), (BATCH_STATIONS, batch_body(BATCH_STATIONS))):
        runs = repeat if count == 1 else max(repeat // 50, 10)
        inputs, _ = model_utils.preprocess_input(model_utils.validate_input(json.loads(body)), bundle)
        rows.append(timed(forward_id(count), f"bare forward, {count} station(s)",
                          partial(model_utils.predict_occupancy, bundle.model, inputs), runs))

        def chain(b: str = body) -> object:
            return inference.output_fn(inference.predict_fn(inference.input_fn(b, "application/json"), bundle),
                                       "application/json")

        rows.append(timed(chain_id(count), f"handler chain in process, {count} station(s)", chain, runs))
    return rows


class _Caller:
    """A kept-alive connection that POSTs JSON to one path: the container's /invocations or the API's /predict."""

    def __init__(self, port: int, path: str = "/invocations") -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = path

    def __call__(self, body: bytes) -> None:
        self.connection.request("POST", self.path, body=body, headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"benchmark request to {self.path} failed with {response.status}")


def concurrent_row(row_id: str, name: str, caller: Callable[[], _Caller], body: Callable[[int], bytes],
                   total: int) -> Row:
    """CONCURRENT_CLIENTS threads, each on its own connection; `body(i)` gives request i (distinct for misses)."""
    per_client = total // CONCURRENT_CLIENTS
    samples: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        call = caller()
        mine = []
        for i in range(per_client):
            payload = body(number * per_client + i)
            started = time.perf_counter()
            call(payload)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CONCURRENT_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - started
    if len(samples) != per_client * CONCURRENT_CLIENTS:
        raise RuntimeError(f"{name}: {per_client * CONCURRENT_CLIENTS - len(samples)} requests failed")
    return Row(row_id, name, percentile(samples, 50), percentile(samples, 99), len(samples),
               round(len(samples) / elapsed, 1))


def distinct_request(i: int) -> bytes:
    """Request i of a series that never repeats (within 3,500), so each one misses any cache."""
    request = guide_request()
    history = [(v + i) % (request["capacity"] + 1) for v in request["historical_bikes"]]
    return json.dumps({**request, "historical_bikes": history, "hour": i // 21 % 24,
                       "day_of_week": i // (21 * 24) % 7}).encode()


def stack_rows(endpoint: LocalEndpoint, repeat: int) -> list[Row]:
    """Warm latency through TorchServe's container API, and through boto3 and the Runtime API front."""
    port = endpoint.server.ports.inference
    call = _Caller(port)
    one = json.dumps(guide_request()).encode()
    batch = batch_body(BATCH_STATIONS).encode()
    runtime = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None).runtime
    return [timed(STACK_SEQUENTIAL, "through the stack, 1 station, sequential", partial(call, one), repeat),
            concurrent_row(STACK_CONCURRENT, f"through the stack, 1 station, {CONCURRENT_CLIENTS} concurrent clients",
                           partial(_Caller, port), lambda _: one, repeat * 2),
            timed(STACK_BATCH, f"through the stack, {BATCH_STATIONS} stations in one request", partial(call, batch),
                  max(repeat // 50, 10), warmup=3),
            timed(RUNTIME_SEQUENTIAL, "through boto3 and the Runtime API front, 1 station",
                  partial(runtime.invoke_endpoint, EndpointName=endpoint.endpoint_name, Body=one,
                          ContentType="application/json"), repeat)]


def api_rows(endpoint: LocalEndpoint, repeat: int) -> list[Row]:
    """Through the web API (one uvicorn process, in-process cache): a cache hit, a miss, 5 concurrent clients."""
    api = ChildServer([sys.executable, "-m", "cdk_app", "api", "--port", str(free_port()), "--endpoint-url",
                       endpoint.url, "--rate-limit", "1000000000/hour"], "api-url: ", cwd=REPO_ROOT,
                      log=Path(tempfile.gettempdir()) / "velib-bench-api.log")
    with api:
        port = int(api.url.rsplit(":", 1)[1])
        call = _Caller(port, "/predict")
        hit = json.dumps(guide_request()).encode()
        misses = iter(range(10**9))
        return [timed(API_HIT, "through the API, 1 station, cache hit", partial(call, hit), repeat),
                timed(API_MISS, "through the API, 1 station, cache miss",
                      lambda: call(distinct_request(next(misses))), repeat),
                concurrent_row(API_CONCURRENT, f"through the API, {CONCURRENT_CLIENTS} concurrent clients, misses",
                               partial(_Caller, port, "/predict"), lambda i: distinct_request(100_000 + i),
                               repeat)]


def served_rows(archive: Path, repeat: int) -> tuple[list[Row], dict[str, float]]:
    """Cold start (process start to first 200), then everything served over loopback."""
    endpoint = LocalEndpoint(archive)
    started = time.perf_counter()
    with step("starting the local endpoint"):
        endpoint.start()
    try:
        _Caller(endpoint.server.ports.inference)(json.dumps(guide_request()).encode())
        cold = {"cold_start_to_first_200_s": round(time.perf_counter() - started, 2),
                "start_to_ready_s": round(endpoint.server.ready_seconds, 2)}
        with step("sequential, concurrent and batch requests through the stack"):
            rows = stack_rows(endpoint, repeat)
        with step("through the web API"):
            rows += api_rows(endpoint, repeat)
        with step(f"the hourly city forecast of {BATCH_STATIONS} stations"):
            rows.append(city_forecast_row(endpoint, max(repeat // 50, 10)))
        with step("a station's forecast through the API from the history, once the endpoint is stopped"):
            rows.append(api_from_history_row(endpoint, repeat))
    finally:
        endpoint.stop()
    return rows, cold


_OWN_CODE_PROBE = """
import sys, time
started = time.perf_counter()
import torch
imported = time.perf_counter()
import inference
inference.model_fn(sys.argv[1])
print(imported - started, time.perf_counter() - imported)
"""


def own_code_seconds(archive: Path) -> dict[str, float]:
    """What our code adds to a cold start, in a fresh interpreter as a worker has: importing `inference` and
    `model_fn`, apart from importing torch, which the toolkit's own handler needs anyway."""
    with tempfile.TemporaryDirectory(prefix="velib-cold-") as scratch:
        model_dir = extract_archive(archive, Path(scratch))  # laid out as the container lays it out
        result = subprocess.run([sys.executable, "-c", _OWN_CODE_PROBE, str(model_dir)], cwd=model_dir / "code",
                                env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                                check=True, timeout=300)
    torch_s, own_s = (float(x) for x in result.stdout.split())
    return {"cold_start_torch_import_s": round(torch_s, 3), "cold_start_own_code_s": round(own_s, 3)}


def run(output: Path, repeat: int = 1000) -> dict[str, Any]:
    archive = build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, output.parent / "bench-model.tar.gz")
    with step("in-process timings"):
        rows = in_process_rows(repeat)
    with step(f"polls of a {BATCH_STATIONS}-station feed on loopback"):
        rows += poll_rows(max(repeat // 10, 20))
    served, cold = served_rows(archive.path, repeat)
    cold.update(own_code_seconds(archive.path))
    rows += served
    by_id = {r.id: r for r in rows}
    ratio = {count: by_id[chain_id(count)].p50_ms / by_id[forward_id(count)].p50_ms for count in (1, BATCH_STATIONS)}
    report = {"rows": [asdict(r) for r in rows], **cold,
              "handler_over_forward_p50": {str(k): round(v, 2) for k, v in ratio.items()},
              "archive_sha256": archive.sha256, "archive_bytes": archive.size, "batch_stations": BATCH_STATIONS,
              "request_bytes": len(json.dumps(guide_request())), "threads": torch.get_num_threads()}
    write_json(output, report)
    return report


def format_table(report: dict[str, Any]) -> str:
    lines = [f"{'measurement':<62} {'p50 ms':>8} {'p99 ms':>8} {'n':>6} {'req/s':>8}"]
    for row in report["rows"]:
        rate = f"{row['throughput_per_s']:.0f}" if row["throughput_per_s"] else ""
        lines.append(f"{row['name']:<62} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f} {row['samples']:>6} {rate:>8}")
    lines.append(f"cold start, process start to first 200: {report['cold_start_to_first_200_s']} s "
                 f"(ready after {report['start_to_ready_s']} s); of it, our code (importing inference.py and "
                 f"model_fn) {report['cold_start_own_code_s']} s, importing torch "
                 f"{report['cold_start_torch_import_s']} s, the rest TorchServe and the toolkit")
    ratios = ", ".join(f"{k} station(s): {v}x" for k, v in report["handler_over_forward_p50"].items())
    lines.append(f"handler chain / bare forward (p50): {ratios}")
    p50 = {row["id"]: row["p50_ms"] for row in report["rows"]}
    lines.append(f"API cache hit p50 {p50[API_HIT]:.2f} ms (target <= 2 ms); API miss p50 {p50[API_MISS]:.2f} ms = "
                 f"local endpoint p50 + {p50[API_MISS] - p50[STACK_SEQUENTIAL]:.2f} ms (target <= + 3 ms; + "
                 f"{p50[API_MISS] - p50[RUNTIME_SEQUENTIAL]:.2f} ms over boto3 through the Runtime front); "
                 f"{CONCURRENT_CLIENTS} concurrent API clients: 0 errors")
    forward = p50[forward_id(BATCH_STATIONS)]
    lines.append(f"live data: storing a {BATCH_STATIONS}-station poll p50 {p50[POLL_STORE]:.1f} ms (target <= 200 ms); "
                 f"the hourly city forecast p50 {p50[CITY_FORECAST]:.1f} ms in one invocation = "
                 f"{p50[CITY_FORECAST] / forward:.2f}x the bare forward of {BATCH_STATIONS} (target <= 1.5x); "
                 f"a station's forecast from the history p50 {p50[API_FROM_HISTORY]:.2f} ms (target <= 2 ms)")
    return "\n".join(lines)

