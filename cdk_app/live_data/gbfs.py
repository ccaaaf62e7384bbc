"""The GBFS reader: one `poll()` gives a `Snapshot` of the city, from Vélib's own feed, GBFS 2.3 or GBFS 3.0.

It runs inside the collector function, whose runtime has urllib3 but not requests, so it imports only the
standard library, urllib3 and the snapshot types. A feed that cannot be read at all raises `FeedError`, one
line that names the file and the problem; a single bad station never fails the poll, it lands in
`Snapshot.skipped` with its reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util import Retry, Timeout

from cdk_app.live_data.snapshot import Reading, Snapshot, Station

DEFAULT_FEED_URL = "https://velib-metropole-opendata.smovengo.cloud/opendata/Velib_Metropole/gbfs.json"

_STATUS, _INFO, _TYPES = "station_status", "station_information", "vehicle_types"
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_BIKE_KINDS = {"human": "mechanical", "electric_assist": "ebike", "electric": "ebike"}  # GBFS propulsion_type
_DISCOVERY_LANGUAGES = ("en", "fr")  # GBFS 1.x/2.x list feeds per language; the first of these present wins
_UNFINISHED_TOKEN = re.compile(r"[-+.eE0-9]*|t|tr|tru|f|fa|fal|fals|n|nu|nul")
_NAME_LANGUAGE = "fr"  # GBFS 3.0 names are lists of translations; riders know the French one


class FeedError(RuntimeError):
    """The feed cannot be read (unreachable, HTTP error, not JSON, a required file missing); the message is one
    line naming the URL or file and the problem, so a log line or an alarm says everything."""


class _BadStation(ValueError):
    """One station's record is unusable; the poll skips that station and keeps the others."""


@dataclass(frozen=True)
class _Document:
    """A fetched GBFS file that is a JSON object with a `data` object; `where` names it in every message."""

    where: str
    body: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.body["data"]
        return data

    def fail(self, problem: str) -> FeedError:
        return FeedError(f"{self.where}: {problem}")

    def header(self) -> tuple[int, int]:
        """(time, ttl). Vélib's feed names its time `lastUpdatedOther`; GBFS 3.0 writes it in RFC 3339."""
        time = _epoch(self.body.get("last_updated", self.body.get("lastUpdatedOther")))
        if time is None:
            raise self.fail("header has no valid last_updated time")
        ttl = self.body.get("ttl")
        if not _is_count(ttl):
            raise self.fail("header has no valid ttl")
        return time, ttl

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise self.fail(f"data.{key} is not a list")
        return value


@dataclass(frozen=True)
class _Reference:
    """What changes slowly, read again when station_information's own ttl runs out in feed time: where the
    files are, the stations (by station_id, the key station_status uses), the vehicle types."""

    urls: dict[str, str]
    stations: dict[str, Station]
    unusable: set[str]  # station_ids of the stations station_information describes badly
    skipped: dict[str, str]  # label -> why, for those stations
    bike_kinds: dict[str, str]  # vehicle_type_id -> "mechanical" | "ebike"
    expires: int  # the feed time from which station_information is stale


class GbfsReader:
    """Polls one feed. It keeps station_information between polls (Vélib's is about 1,500 stations that
    rarely change) and reads station_status, the one that moves every minute, at every poll."""

    def __init__(self, feed_url: str = DEFAULT_FEED_URL, *, timeout_seconds: float = 10.0, retries: int = 2,
                 backoff_seconds: float = 0.5) -> None:
        """`timeout_seconds` bounds each connect and each read of each attempt; `retries` retries a GET after
        a connection error or a 429/5xx answer, waiting per urllib3's exponential backoff of `backoff_seconds`.
        A Retry-After header is not obeyed: the next scheduled poll is the better retry."""
        self._feed_url = feed_url
        self._attempts = retries + 1
        self._http = urllib3.PoolManager(
            retries=Retry(total=None, connect=retries, read=retries, status=retries, other=retries, redirect=5,
                          backoff_factor=backoff_seconds, status_forcelist=_RETRIED_STATUSES,
                          allowed_methods=frozenset({"GET"}), raise_on_status=False,
                          respect_retry_after_header=False),
            timeout=Timeout(connect=timeout_seconds, read=timeout_seconds))
        self._reference: _Reference | None = None

    def poll(self) -> Snapshot:
        """Raises FeedError when the feed cannot be read. It does not judge staleness: `last_reported` is
        passed on as the feed says, for the store to decide."""
        refreshed = self._reference is None
        reference = self._reference or self._load_reference()
        status = self._get(_STATUS, reference.urls[_STATUS])
        feed_time, _ = status.header()  # station_status's ttl (3600 at Vélib) is not obeyed: status is polled
        entries = status.array("stations")
        if not refreshed and feed_time >= reference.expires:
            reference, refreshed = self._load_reference(), True
        snapshot, unknown = _combine(feed_time, entries, reference)
        if unknown and not refreshed:  # a station opened since station_information was read
            reference = self._load_reference()
            snapshot, _ = _combine(feed_time, entries, reference)
        return snapshot

    def _load_reference(self) -> _Reference:
        """Reads gbfs.json again too, so a feed that moves its files is followed within one info ttl."""
        discovery = self._get("gbfs.json", self._feed_url)
        urls = _feed_urls(discovery, self._feed_url)
        bike_kinds = _bike_kinds(self._get(_TYPES, urls[_TYPES])) if _TYPES in urls else {}
        info = self._get(_INFO, urls[_INFO])
        info_time, ttl = info.header()
        stations, unusable, skipped = _stations(info.array("stations"))
        self._reference = _Reference(urls, stations, unusable, skipped, bike_kinds, info_time + ttl)
        return self._reference

    def _get(self, name: str, url: str) -> _Document:
        where = f"{name} ({url})"
        try:
            response = self._http.request("GET", url)
        except MaxRetryError as error:  # every attempt failed
            raise FeedError(f"{where}: {_describe(error.reason)}{_after(self._attempts)}") from None
        except HTTPError as error:
            raise FeedError(f"{where}: {_describe(error)}") from None
        if response.status != 200:
            attempts = len(response.retries.history) + 1 if response.retries else 1
            raise FeedError(f"{where}: HTTP {response.status}{_after(attempts)}")
        try:
            body = json.loads(response.data.decode("utf-8-sig"))
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError both are
            raise FeedError(f"{where}: {_not_json(response.data, error)}") from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise FeedError(f"{where}: not a GBFS document (no 'data' object)")
        return _Document(where, body)


def _feed_urls(discovery: _Document, base: str) -> dict[str, str]:
    """GBFS 3.0 lists `data.feeds`; Vélib's feed and GBFS 2.x list `data.<language>.feeds`."""
    data = discovery.data
    if "feeds" not in data:
        language = next((lang for lang in _DISCOVERY_LANGUAGES if lang in data), next(iter(data), None))
        data = data[language] if language is not None and isinstance(data[language], dict) else {}
    feeds = data.get("feeds")
    if not isinstance(feeds, list):
        raise discovery.fail("lists no feeds")
    urls = {feed["name"]: urljoin(base, feed["url"]) for feed in feeds
            if isinstance(feed, dict) and isinstance(feed.get("name"), str) and isinstance(feed.get("url"), str)}
    for required in (_STATUS, _INFO):
        if required not in urls:
            raise discovery.fail(f"lists no {required} feed")
    return urls


def _bike_kinds(vehicle_types: _Document) -> dict[str, str]:
    """Which vehicle types are mechanical bikes and which e-bikes; other types are not split out."""
    kinds: dict[str, str] = {}
    for vehicle_type in vehicle_types.array("vehicle_types"):
        if isinstance(vehicle_type, dict) and isinstance(vehicle_type.get("vehicle_type_id"), str) \
                and vehicle_type.get("propulsion_type") in _BIKE_KINDS:
            kinds[vehicle_type["vehicle_type_id"]] = _BIKE_KINDS[vehicle_type["propulsion_type"]]
    return kinds


def _stations(entries: list[Any]) -> tuple[dict[str, Station], set[str], dict[str, str]]:
    """Stations by station_id, plus those described badly (their station_ids; label -> why). A feed that has
    `stationCode` (Vélib's) is keyed by it, the code riders use; others by station_id."""
    keyed_by_code = any(isinstance(entry, dict) and "stationCode" in entry for entry in entries)
    stations: dict[str, Station] = {}
    unusable: set[str] = set()
    skipped: dict[str, str] = {}
    for index, entry in enumerate(entries):
        try:
            station_id = _station_id(entry)
            code = _text(entry, "stationCode") if keyed_by_code else station_id
            stations[station_id] = Station(code, _name(entry), _count(entry, "capacity"),
                                           _coordinate(entry, "lat", 90.0), _coordinate(entry, "lon", 180.0))
        except _BadStation as bad:
            skipped[_label(entry, index)] = f"station_information: {bad}"
            if isinstance(entry, dict) and _is_id(entry.get("station_id")):
                unusable.add(str(entry["station_id"]))
    return stations, unusable, skipped


def _combine(feed_time: int, entries: list[Any], reference: _Reference) -> tuple[Snapshot, bool]:
    """The snapshot, and whether station_status named a station station_information lacks."""
    readings: dict[str, Reading] = {}
    skipped = dict(reference.skipped)
    unknown = False
    for index, entry in enumerate(entries):
        try:
            station_id = _station_id(entry)
            if station_id in reference.unusable:
                continue  # already in skipped, with station_information's reason
            station = reference.stations.get(station_id)
            if station is None:
                unknown = True
                raise _BadStation("not in station_information")
            readings[station.code] = _reading(entry, station.code, reference.bike_kinds)
        except _BadStation as bad:
            skipped[_label(entry, index)] = str(bad)
    stations = {station.code: station for station in reference.stations.values()}
    return Snapshot(feed_time, stations, readings, skipped), unknown


def _reading(entry: dict[str, Any], code: str, bike_kinds: dict[str, str]) -> Reading:
    bikes = _count(entry, "num_vehicles_available" if "num_vehicles_available" in entry else "num_bikes_available")
    mechanical, ebikes = _bike_split(entry, bike_kinds)
    docks = None if entry.get("num_docks_available") is None else _count(entry, "num_docks_available")
    last_reported = _epoch(entry.get("last_reported"))
    if last_reported is None:
        raise _bad("last_reported", entry.get("last_reported"), "a time")
    return Reading(code, bikes, mechanical, ebikes, docks, _flag(entry, "is_installed"), _flag(entry, "is_renting"),
                   last_reported)


def _bike_split(entry: dict[str, Any], bike_kinds: dict[str, str]) -> tuple[int | None, int | None]:
    """Vélib lists `[{"mechanical": 3}, {"ebike": 2}]` in any order; GBFS 2.1+ lists
    `[{"vehicle_type_id", "count"}]`, whose kinds vehicle_types.json gives. None when the feed does not say."""
    pairs: Iterable[tuple[Any, Any]]
    if "num_bikes_available_types" in entry:
        pairs = [pair for item in _list(entry, "num_bikes_available_types") for pair in _object(item).items()]
    elif bike_kinds and "vehicle_types_available" in entry:
        pairs = [(bike_kinds.get(str(_object(item).get("vehicle_type_id"))), _object(item).get("count"))
                 for item in _list(entry, "vehicle_types_available")]
    else:
        return None, None
    split = {"mechanical": 0, "ebike": 0}
    for kind, count in pairs:
        if not _is_count(count):
            raise _bad("a bike type count", count, "a count")
        if kind in split:
            split[kind] += count
    return split["mechanical"], split["ebike"]


def _epoch(value: Any) -> int | None:
    """POSIX seconds (Vélib, GBFS 1.x/2.x) or an RFC 3339 string with an offset (GBFS 3.0)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return int(moment.timestamp()) if moment.tzinfo is not None else None
    return None


def _station_id(entry: Any) -> str:
    """Vélib's station_id is an integer, GBFS's a string; both are compared as strings."""
    station_id = _object(entry).get("station_id")
    if not _is_id(station_id):
        raise _bad("station_id", station_id, "an id")
    return str(station_id)


def _name(entry: dict[str, Any]) -> str:
    """A string, or GBFS 3.0's `[{"text", "language"}]`, of which the French one or else the first."""
    name = entry.get("name")
    if isinstance(name, list) and name and all(isinstance(item, dict) for item in name):
        name = next((item for item in name if item.get("language") == _NAME_LANGUAGE), name[0]).get("text")
    if not isinstance(name, str):
        raise _bad("name", entry.get("name"), "a name")
    return name


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(key, value, "a code")
    return value


def _count(entry: dict[str, Any], key: str) -> int:
    value = entry.get(key)
    if not _is_count(value):
        raise _bad(key, value, "a count")
    return value


def _coordinate(entry: dict[str, Any], key: str, limit: float) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or abs(value) > limit:
        raise _bad(key, value, "a coordinate")
    return float(value)


def _flag(entry: dict[str, Any], key: str) -> bool:
    """JSON booleans (GBFS 2.0+) or Vélib's 0/1 integers."""
    value = entry.get(key)
    if not isinstance(value, bool) and not (type(value) is int and value in (0, 1)):
        raise _bad(key, value, "a flag")
    return bool(value)


def _list(entry: dict[str, Any], key: str) -> list[Any]:
    value = entry.get(key)
    if not isinstance(value, list):
        raise _bad(key, value, "a list")
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _BadStation(f"{_show(value)} is not an object")
    return value


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and bool(value))


def _label(entry: Any, index: int) -> str:
    """How a skipped station is named: the code riders use when the record has one, else its station_id, else
    its place in the file."""
    if isinstance(entry, dict):
        for key in ("stationCode", "station_id"):
            if _is_id(entry.get(key)):
                return str(entry[key])
    return f"#{index}"


def _bad(key: str, value: Any, expected: str) -> _BadStation:
    return _BadStation(f"{key} missing" if value is None else f"{key} is {_show(value)}, not {expected}")


def _show(value: Any) -> str:
    """A value in a one-line message, short even when the feed sent something huge."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _not_json(body: bytes, error: ValueError) -> str:
    """Tells a cut-off body (a half-written file, a dropped transfer) from one that is something else, such
    as the HTML page a proxy serves during maintenance."""
    if not body.strip():
        return "empty body"
    if _cut_off(error):
        return f"not JSON (cut off after {len(body)} bytes)"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 (byte {error.start})"
    if isinstance(error, json.JSONDecodeError) and error.doc[:error.pos].strip():
        return f"not JSON ({error.msg} at character {error.pos})"
    head = body[:40].decode("utf-8", "replace").strip().splitlines()[0]
    return f"not JSON (starts with {head!r})"


def _cut_off(error: ValueError) -> bool:
    """Whether the body ran out rather than went wrong: inside a UTF-8 sequence, at the end of the JSON,
    inside a string, or at a last token that is the start of a literal or a number."""
    if isinstance(error, UnicodeDecodeError):
        return error.reason == "unexpected end of data"
    if isinstance(error, json.JSONDecodeError):
        rest = error.doc[error.pos:].strip()
        return error.msg.startswith("Unterminated string") or _UNFINISHED_TOKEN.fullmatch(rest) is not None
    return False


def _after(attempts: int) -> str:
    return f" after {attempts} attempts" if attempts > 1 else ""


def _describe(error: Exception | None) -> str:
    """urllib3's failure as a few words: its messages carry object reprs and span lines."""
    one_line = " ".join(f"{type(error).__name__}: {error}".split())
    if isinstance(error, NewConnectionError):  # before timeouts: urllib3 makes it a ConnectTimeoutError
        return f"cannot connect ({getattr(error.__cause__, 'strerror', None) or one_line})"
    if isinstance(error, ProtocolError):  # args: urllib3's words, then the cause (IncompleteRead, a reset...)
        return " ".join(f"connection broken ({error.args[-1]})".split())
    return "timed out" if isinstance(error, Urllib3TimeoutError) else one_line
