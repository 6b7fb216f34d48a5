"""Two real HTTP servers on loopback for the weather office's tests.

- :class:`FakeOpenWeather` answers ``GET /data/2.5/weather?q=CITY&appid=KEY&units=metric``
  the way OpenWeather does: the same JSON shape, 401 ``{"cod":401,...}`` for a bad key,
  404 ``{"cod":"404","message":"city not found"}`` for an unknown city.  ``down()``
  closes its socket (connections are refused) and ``up()`` opens it again on the port.
- :class:`FakeCentral` records every request and keeps the alerts it was given, as
  Central's ``/api/alerts`` and ``/api/weather`` contract says, behind a bearer token.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        owner = self

        class Handler(self.handler):
            server_owner = owner

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    close = down


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _OpenWeatherHandler(_Quiet):
    server_owner: FakeOpenWeather

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        fake = self.server_owner
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        with fake.lock:
            fake.requests.append(self.path)
            temperatures = dict(fake.temperatures)
            status = fake.status
        if status is not None:
            return self.reply(status, {"cod": status, "message": "scripted"})
        if url.path != "/data/2.5/weather" or query.get("units") != ["metric"]:
            return self.reply(400, {"cod": "400", "message": "bad request"})
        if query.get("appid") != [fake.key]:
            return self.reply(401, {"cod": 401, "message": "Invalid API key. Please see "
                                    "https://openweathermap.org/faq#error401 for more info."})
        city = query.get("q", [""])[0]
        if city.lower() not in temperatures:
            return self.reply(404, {"cod": "404", "message": "city not found"})
        temp = temperatures[city.lower()]
        self.reply(200, {
            "coord": {"lon": -3.7026, "lat": 40.4165},
            "weather": [{"id": 800, "main": "Clear", "description": "clear sky", "icon": "01d"}],
            "base": "stations",
            "main": {"temp": temp, "feels_like": temp - 1, "temp_min": temp - 2,
                     "temp_max": temp + 1, "pressure": 1021, "humidity": 60},
            "visibility": 10000, "wind": {"speed": 2.1, "deg": 250},
            "clouds": {"all": 0}, "dt": 1764500000,
            "sys": {"type": 2, "id": 2007545, "country": "ES", "sunrise": 1764487000,
                    "sunset": 1764522000},
            "timezone": 3600, "id": 3117735, "name": city, "cod": 200})


class FakeOpenWeather(_Server):
    handler = _OpenWeatherHandler

    def __init__(self, port: int, key: str, temperatures: dict[str, float]) -> None:
        self.key = key
        self.temperatures = {k.lower(): v for k, v in temperatures.items()}
        self.requests: list[str] = []
        self.status: int | None = None  # answer every request with this (e.g. 429)
        super().__init__(port)

    def set(self, city: str, temp: float) -> None:
        with self.lock:
            self.temperatures[city.lower()] = temp


class _CentralHandler(_Quiet):
    server_owner: FakeCentral

    def _record(self) -> dict | None:
        fake = self.server_owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        path = urllib.parse.unquote(self.path)
        with fake.lock:
            fake.requests.append((self.command, path, body))
            fake.raw_paths.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            self.reply(401, {"error": "unauthorized"})
            return None
        return {"path": path, "body": body}

    def do_GET(self) -> None:  # noqa: N802
        if self._record() is None:
            return
        with self.server_owner.lock:
            alerts = [{"location": k, **v} for k, v in self.server_owner.alerts.items()]
        self.reply(200, alerts)

    def do_PUT(self) -> None:  # noqa: N802
        got = self._record()
        if got is None:
            return
        fake, path, body = self.server_owner, got["path"], got["body"]
        if path == "/api/weather":
            with fake.lock:
                fake.weather = body
            return self.reply(200, {"ok": True})
        location = path.removeprefix("/api/alerts/")
        with fake.lock:
            new = location not in fake.alerts
            fake.alerts[location] = {"temperature_c": body["temperature_c"],
                                     "raised_at": body["observed_at"]}
        self.reply(201 if new else 200, {"location": location, **body})

    def do_DELETE(self) -> None:  # noqa: N802
        got = self._record()
        if got is None:
            return
        location = got["path"].removeprefix("/api/alerts/")
        with self.server_owner.lock:
            gone = self.server_owner.alerts.pop(location, None)
        self.reply(200 if gone else 404, {"location": location})


class FakeCentral(_Server):
    handler = _CentralHandler

    def __init__(self, port: int, token: str) -> None:
        self.token = token
        self.alerts: dict[str, dict] = {}
        self.weather: dict | None = None
        self.requests: list[tuple[str, str, object]] = []
        self.raw_paths: list[str] = []  # as sent, percent-encoded
        super().__init__(port)

    def calls(self, method: str, prefix: str = "/api/alerts/") -> list[tuple[str, object]]:
        with self.lock:
            return [(path, body) for m, path, body in self.requests
                    if m == method and path.startswith(prefix)]
