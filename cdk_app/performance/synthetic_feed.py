"""Real GBFS feeds on loopback, for `bench` and the tests: a city generated from Python objects in Vélib's own
dialect, GBFS 2.3 or GBFS 3.0, with a feed clock the caller moves and faults it injects; and a folder of
hand-written feed files (tests/fixtures/gbfs/) served as they are. Both are real HTTP servers, so the reader
runs its real connections, retries and timeouts.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self
from zoneinfo import ZoneInfo

from cdk_app.loopback import HOST, url

Dialect = Literal["velib", "2.3", "3.0"]
FaultKind = Literal["html", "truncated", "cut_connection", "http_500", "not_found", "unlisted", "malformed_station"]

PARIS = ZoneInfo("Europe/Paris")
JSON_TYPE = "application/json; charset=utf-8"
HTML_PAGE = (b"<!DOCTYPE html>\n<html lang=\"fr\"><head><title>Maintenance</title></head>\n"
             b"<body><h1>Service momentan\xc3\xa9ment indisponible</h1></body></html>\n")


class Answer(NamedTuple):
    status: int
    content_type: str
    body: bytes
    promised: int | None = None  # the Content-Length sent, when it is not the body's


@dataclass(frozen=True)
class FakeStation:
    code: str  # what riders use, e.g. "16107"; Vélib's stationCode, short_name in GBFS 2.3/3.0
    station_id: int
    name: str
    capacity: int
    latitude: float
    longitude: float


@dataclass(frozen=True)
class FakeStatus:
    mechanical: int
    ebikes: int
    docks: int
    last_reported: int
    installed: bool = True
    renting: bool = True


StatusFn = Callable[[FakeStation, int], FakeStatus | None]  # (station, feed time) -> status, None to omit it


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one file (`file` as gbfs.json lists it, e.g. "station_status", or "gbfs"):
    an HTML page instead of JSON, a JSON body cut in half (a half-written file), a connection that closes
    halfway through the promised body, HTTP 500, HTTP 404, not listed in gbfs.json, or its first station made
    malformed (a count of -1)."""

    kind: FaultKind
    file: str


class _LoopbackFeed:
    """A ThreadingHTTPServer on a free loopback port, serving `<name>.json` files, in a daemon thread; as a
    context manager it is stopped on exit. Connections close after each answer (HTTP/1.0), so no handler
    thread outlives the server."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()  # requests per file name, e.g. hits["station_status.json"]
        self._lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                with feed._lock:
                    feed.hits[name] += 1
                answer = feed.answer(name.removesuffix(".json"))
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(answer.promised or len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.base_url = url(int(self._server.server_address[1]))
        self.url = self.file_url("gbfs")  # the gbfs.json autodiscovery URL
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="gbfs-feed",
                                        daemon=True)  # polls for shutdown every 50 ms, so a test ends at once

    def file_url(self, name: str) -> str:
        return f"{self.base_url}/{name}.json"

    def answer(self, name: str) -> Answer:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class GbfsFeedServer(_LoopbackFeed):
    """A city's feed in one dialect. `clock` is the feed time (epoch seconds) the next answers carry, in their
    headers and as the `feed_time` given to `status`; `stations` and `status_only` (stations station_status
    lists but station_information does not yet, as when one opens) may change between polls."""

    def __init__(self, dialect: Dialect, stations: Sequence[FakeStation], status: StatusFn, clock: int) -> None:
        super().__init__()
        self.dialect: _Velib | _Gbfs23 = _DIALECTS[dialect]
        self.stations = list(stations)
        self.status_only: list[FakeStation] = []
        self.status = status
        self.clock = clock
        self.fault: Fault | None = None

    def answer(self, name: str) -> Answer:
        fault = self.fault.kind if self.fault is not None and self.fault.file == name else None
        if (name != "gbfs" and name not in self.dialect.files) or fault == "not_found":
            return Answer(404, "text/plain", b"Not Found")
        if fault == "http_500":
            return Answer(500, "text/html", b"<html><body>Internal Server Error</body></html>")
        if fault == "html":
            return Answer(200, "text/html; charset=utf-8", HTML_PAGE)
        now = self.clock  # read once: a test's clock thread may move it while the answer is built
        document = {**self.dialect.header(name, now), "data": self._data(name, now)}
        if fault == "malformed_station":
            first = document["data"]["stations"][0]
            first[self.dialect.bikes_key if name == "station_status" else "capacity"] = -1
        body = json.dumps(document, ensure_ascii=False).encode()
        if fault in ("truncated", "cut_connection"):
            return Answer(200, JSON_TYPE, body[: len(body) // 2], len(body) if fault == "cut_connection" else None)
        return Answer(200, JSON_TYPE, body)

    def _data(self, name: str, now: int) -> Any:
        dialect = self.dialect
        if name == "gbfs":
            unlisted = self.fault.file if self.fault is not None and self.fault.kind == "unlisted" else None
            return dialect.discovery([{"name": file, "url": self.file_url(file)}
                                      for file in dialect.files if file != unlisted])
        if name == "station_information":
            return {"stations": [dialect.station(station) for station in self.stations]}
        if name != "station_status":
            return dialect.fixed_data(name)
        statuses = ((station, self.status(station, now)) for station in self.stations + self.status_only)
        return {"stations": [dialect.station_status(station, status) for station, status in statuses if status]}


class StaticGbfsFeed(_LoopbackFeed):
    """A directory of hand-written GBFS files served as they are, except that gbfs.json's feed URLs are
    pointed at this server (keeping each file name), so nothing leaves the machine."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def answer(self, name: str) -> Answer:
        path = self.directory / f"{name}.json"
        if not path.is_file():
            return Answer(404, "text/plain", b"Not Found")
        if name != "gbfs":
            return Answer(200, JSON_TYPE, path.read_bytes())
        document = json.loads(path.read_text(encoding="utf-8"))
        data = document["data"]
        for feed in data.get("feeds") or [feed for language in data.values() for feed in language["feeds"]]:
            feed["url"] = self.file_url(feed["url"].rsplit("/", 1)[-1].removesuffix(".json"))
        return Answer(200, JSON_TYPE, json.dumps(document, ensure_ascii=False).encode())


class _Velib:
    """Vélib' Métropole's own feed (GBFS 1.0 in shape): no version, `lastUpdatedOther`, ttl 3600 everywhere,
    integer station_id beside the string stationCode, camelCase duplicates, 0/1 flags, and the bike types as
    single-key objects whose order varies from station to station."""

    files: tuple[str, ...] = ("system_information", "station_information", "station_status")
    bikes_key = "num_bikes_available"

    def header(self, name: str, time: int) -> dict[str, Any]:
        return {"lastUpdatedOther": time, "ttl": 3600}

    def discovery(self, feeds: list[dict[str, str]]) -> Any:
        return {"en": {"feeds": feeds}}

    def fixed_data(self, name: str) -> dict[str, Any]:
        """The data of a file that does not depend on the stations: here only system_information."""
        return {"system_id": "Paris", "language": "en", "name": "Velib' Metropole", "timezone": "Europe/Paris"}

    def station(self, station: FakeStation) -> dict[str, Any]:
        record: dict[str, Any] = {"station_id": station.station_id, "name": station.name, "lat": station.latitude,
                                  "lon": station.longitude, "capacity": station.capacity,
                                  "stationCode": station.code}
        if station.station_id % 3 == 0:
            record["rental_methods"] = ["CREDITCARD"]
        return record

    def station_status(self, station: FakeStation, status: FakeStatus) -> dict[str, Any]:
        types = [{"mechanical": status.mechanical}, {"ebike": status.ebikes}]
        bikes = status.mechanical + status.ebikes
        return {"stationCode": station.code, "station_id": station.station_id,
                "num_bikes_available": bikes, "numBikesAvailable": bikes,
                "num_bikes_available_types": types[:: 1 if station.station_id % 2 else -1],
                "num_docks_available": status.docks, "numDocksAvailable": status.docks,
                "is_installed": int(status.installed), "is_returning": int(status.installed),
                "is_renting": int(status.renting), "last_reported": status.last_reported}


class _Gbfs23:
    """GBFS 2.3 as the spec defines it, for a Vélib'-like system: string station_ids (the code in short_name),
    JSON booleans, POSIX times, vehicle types for the mechanical/e-bike split."""

    files: tuple[str, ...] = ("system_information", "vehicle_types", "station_information", "station_status")
    version = "2.3"
    bikes_key = "num_bikes_available"
    def stamp(self, time: int) -> int | str:
        return time

    def text(self, text: str) -> Any:
        return text

    def header(self, name: str, time: int) -> dict[str, Any]:
        return {"last_updated": self.stamp(time), "ttl": _GBFS_TTLS.get(name, 86400), "version": self.version}

    def discovery(self, feeds: list[dict[str, str]]) -> Any:
        return {"fr": {"feeds": feeds}}

    def system_information(self) -> dict[str, Any]:
        return {"system_id": "velib_metropole", "language": "fr", "name": "Vélib' Métropole", "operator": "Smovengo",
                "url": "https://www.velib-metropole.fr/", "timezone": "Europe/Paris"}

    def fixed_data(self, name: str) -> dict[str, Any]:
        """The data of a file that does not depend on the stations."""
        return self.system_information() if name == "system_information" else {"vehicle_types": self.vehicle_types()}

    def vehicle_types(self) -> list[dict[str, Any]]:
        """Ids that say nothing, so a reader must go by propulsion_type."""
        return [{"vehicle_type_id": "1", "form_factor": "bicycle", "propulsion_type": "human",
                 "name": self.text("Vélib' mécanique")},
                {"vehicle_type_id": "2", "form_factor": "bicycle", "propulsion_type": "electric_assist",
                 "max_range_meters": 50000, "name": self.text("Vélib' électrique")}]

    def station(self, station: FakeStation) -> dict[str, Any]:
        return {"station_id": str(station.station_id), "name": self.text(station.name),
                "short_name": self.text(station.code), "lat": station.latitude, "lon": station.longitude,
                "capacity": station.capacity}

    def station_status(self, station: FakeStation, status: FakeStatus) -> dict[str, Any]:
        types = [{"vehicle_type_id": "1", "count": status.mechanical}, {"vehicle_type_id": "2", "count": status.ebikes}]
        return {"station_id": str(station.station_id), self.bikes_key: status.mechanical + status.ebikes,
                "vehicle_types_available": types[:: 1 if station.station_id % 2 else -1],
                "num_docks_available": status.docks, "is_installed": status.installed,
                "is_renting": status.renting, "is_returning": status.installed,
                "last_reported": self.stamp(status.last_reported)}


class _Gbfs30(_Gbfs23):
    """GBFS 3.0: `data.feeds` without languages, RFC 3339 times (Paris offset), translated names,
    `num_vehicles_available`."""

    version = "3.0"
    bikes_key = "num_vehicles_available"

    def stamp(self, time: int) -> int | str:
        return datetime.fromtimestamp(time, PARIS).isoformat()

    def text(self, text: str) -> Any:
        return [{"text": text, "language": "fr"}]

    def discovery(self, feeds: list[dict[str, str]]) -> Any:
        return {"feeds": feeds}

    def system_information(self) -> dict[str, Any]:
        return {"system_id": "velib_metropole", "languages": ["fr"], "name": self.text("Vélib' Métropole"),
                "operator": self.text("Smovengo"), "opening_hours": "24/7",
                "feed_contact_email": "opendata@example.org", "timezone": "Europe/Paris"}


_GBFS_TTLS = {"station_status": 60, "station_information": 3600}  # any other file: one day
_DIALECTS: dict[str, _Velib | _Gbfs23] = {"velib": _Velib(), "2.3": _Gbfs23(), "3.0": _Gbfs30()}

_STREETS = ("Benjamin Godard", "Victor Hugo", "Saint-André des Arts", "Toudouze", "Clauzel", "Rivoli", "Oberkampf",
            "Faubourg Saint-Antoine", "Belleville", "Convention", "Lecourbe", "Place d'Italie", "Mouffetard",
            "République", "Gare de l'Est", "Montmartre", "Porte de Vincennes", "Jourdain")


def paris_stations(count: int, seed: int = 0) -> list[FakeStation]:
    """`count` plausible Vélib' stations, the same for the same arguments: codes as riders know them (the
    arrondissement, then three digits: "16107"), opaque nine-digit station_ids, 10-60 docks, positions inside
    Paris (an ellipse around the centre). Up to 19,980 stations."""
    rng = random.Random(seed)
    ids = rng.sample(range(100_000_000, 1_000_000_000), count)
    stations = []
    for index, station_id in enumerate(ids):
        radius, angle = math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        stations.append(FakeStation(
            code=f"{1 + index % 20}{1 + index // 20:03d}", station_id=station_id,
            name=f"{rng.choice(_STREETS)} - {rng.choice(_STREETS)}", capacity=rng.randint(10, 60),
            latitude=round(48.8566 + 0.03 * radius * math.sin(angle), 6),
            longitude=round(2.3470 + 0.08 * radius * math.cos(angle), 6)))
    return stations


def daily_cycle(station: FakeStation, feed_time: int) -> FakeStatus:
    """A plausible status that follows a 24-hour cycle, phased per station, about a third of the bikes
    electric, one dock out of service, and a report up to two minutes older than the feed."""
    phase = station.station_id % 24
    fill = 0.5 + 0.4 * math.sin(2 * math.pi * ((feed_time / 3600 + phase) % 24) / 24)
    bikes = min(station.capacity - 1, round(fill * station.capacity))
    ebikes = bikes // 3
    return FakeStatus(mechanical=bikes - ebikes, ebikes=ebikes, docks=station.capacity - 1 - bikes,
                      last_reported=feed_time - station.station_id % 120)
