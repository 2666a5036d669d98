"""The HTTP source: bars through ``technic serve`` on loopback, no added latency (``gate = True``).

The server runs in a thread of the benchmark process (``serve_in_thread``),
started once per process and stopped at exit, so the measured CPU time is
the client's and the server's together; with no latency added there is no
waiting to hide either.  ``HttpFetch`` times the client alone fetching and
parsing every session of the store (one grouped request per session);
``HttpScan`` the prefetching vectorised scan through it; ``HttpParse`` the
client's response parsing alone (JSON to the long frame), on response bodies
fetched from the server once a process, so that a change in parsing shows
undiluted by the transport.
"""

from __future__ import annotations

import atexit
import json

from .common import HTTP_UNIVERSE, run_scan, scan_symbols, step_phases, store_path

_SERVER: list = []


def _url() -> str:
    """``technic serve`` over the HTTP_UNIVERSE store in a thread of this process (once)."""
    if not _SERVER:
        try:
            import aiohttp  # noqa: F401

            from technic_core.sources.http_server import serve_in_thread
        except ImportError as exc:
            raise NotImplementedError(f"no HTTP source at this commit ({exc})") from None
        ctx = serve_in_thread(store_path(HTTP_UNIVERSE), latency_ms=0.0)
        url, _server = ctx.__enter__()
        atexit.register(ctx.__exit__, None, None, None)
        _SERVER.append(url)
    return _SERVER[0]


class HttpFetch:
    """Every session of the store through the client: requests, JSON parsing, the long frame."""

    timeout = 300
    gate = True

    def setup(self):
        from technic_core.sources.http_client import HttpSource

        self.src = HttpSource(_url())
        self.symbols = self.src.universe()["symbol"].tolist()
        self.src.meta()

    def teardown(self):
        src = getattr(self, "src", None)
        if src is not None:
            src.close()

    def time_long(self):
        self.src.long(self.symbols)


class HttpScan:
    """prefetch + prescreen + vectorized through the API (a source opened and closed per scan)."""

    timeout = 300
    gate = True

    def setup(self):
        self.url = _url()
        self.phases = step_phases("+vectorized")
        self.symbols = scan_symbols(store_path(HTTP_UNIVERSE), HTTP_UNIVERSE)

    def time_scan(self):
        run_scan(self.url, self.phases, symbols=self.symbols)


_BODIES: list = []


def _grouped_bodies() -> tuple[list[str], list[bytes]]:
    """(sessions, the server's raw grouped response for each), fetched once a process."""
    if not _BODIES:
        import urllib.request

        url = _url()
        with urllib.request.urlopen(url + "/v1/meta", timeout=30) as r:
            sessions = json.loads(r.read())["sessions"]
        bodies = []
        for d in sessions:
            with urllib.request.urlopen(
                f"{url}/v2/aggs/grouped/locale/us/market/stocks/{d}", timeout=30
            ) as r:
                bodies.append(r.read())
        _BODIES.extend((sessions, bodies))
    return _BODIES[0], _BODIES[1]


class HttpParse:
    """The client's parsing of every session's grouped response: JSON, then the long frame."""

    timeout = 300
    gate = True

    def setup(self):
        try:
            from technic_core.sources.http_client import HttpSource, decode
        except ImportError as exc:
            raise NotImplementedError(f"no HTTP source at this commit ({exc})") from None
        self.src = HttpSource(_url())
        if not hasattr(self.src, "grouped_frame"):
            self.src.close()
            raise NotImplementedError("the HTTP client has no grouped_frame at this commit")
        self.decode = decode
        self.sessions, self.bodies = _grouped_bodies()
        self.symbols = (
            scan_symbols(store_path(HTTP_UNIVERSE), HTTP_UNIVERSE)
            or self.src.universe()["symbol"].tolist()
        )

    def teardown(self):
        src = getattr(self, "src", None)
        if src is not None:
            src.close()

    def time_parse_grouped(self):
        docs = [self.decode(b) for b in self.bodies]
        self.src.grouped_frame(self.sessions, docs, self.symbols)
