"""``technic serve``: the bar store behind an aggregates-style HTTP API, on loopback.

Shaped like the well-known market-data aggregates APIs:

    GET /v3/reference/tickers                                   the universe table
    GET /v1/meta                                                sessions, frequency
    GET /v2/aggs/ticker/{symbol}/range/1/day/{from}/{to}        one symbol's bars
    GET /v2/aggs/grouped/locale/us/market/stocks/{date}         every symbol, one session

Bars are served exactly as stored, bad ones included, so a scan through the API
reports the same errors as one reading the store: each grouped row carries
``n``, its position in its symbol's own file, so a client can rebuild files
whose dates are duplicated or out of order; a symbol whose file cannot be read
is an error response (range) or an entry of ``errors`` (grouped).  Numbers are
JSON with NaN and Infinity kept, as Python's json module writes them.

``--latency-ms`` delays every response server-side (``asyncio.sleep``, so
concurrent requests overlap as they would against a remote vendor), and
``--error-rate`` answers that share of requests with 429 or 503.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from aiohttp import web

from ..universe.store import Store, default_store_dir

# A US data vendor seen from a US cloud region answers in ~20-60 ms; 30 ms is
# the figure benchmarks use (docs/data.md, "Market-data API").
DEFAULT_LATENCY_MS = 30.0


def _ms(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy().astype("datetime64[ms]").astype(np.int64)


class BarServer:
    """The data a server answers from, prepared once at start."""

    def __init__(
        self,
        root: Path | str,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        error_rate: float = 0.0,
        seed: int = 0,
    ):
        self.store = Store(root)
        self.latency_ms, self.jitter_ms, self.error_rate = latency_ms, jitter_ms, error_rate
        self.rng = random.Random(seed)
        self.requests = 0
        uni = self.store.universe()
        self.universe_body = json.dumps(
            uni.replace({np.nan: None}).to_dict(orient="records")
        ).encode()
        long = self.store.long()
        self.errors = dict(long.attrs.get("errors", {}))
        long = long.assign(symbol=long["symbol"].astype(str))
        long["n"] = long.groupby("symbol", sort=False).cumcount()
        long["t"] = _ms(long["date"])
        self.by_symbol = {s: g for s, g in long.groupby("symbol", sort=False)}
        self.by_date = {int(t): g for t, g in long.groupby("t", sort=True)}
        sessions = sorted(self.by_date)
        self.meta_body = json.dumps(
            {
                "sessions": [str(np.datetime64(t, "ms").astype("datetime64[D]")) for t in sessions],
                "frequency": self.store.frequency,
                "last_session": self.store.meta.get("last_session"),
            }
        ).encode()
        self._grouped_cache: dict[int, bytes] = {}

    @staticmethod
    def _rows(g: pd.DataFrame, with_symbol: bool) -> list[dict]:
        names = {
            "t": "t",
            "open": "o",
            "high": "h",
            "low": "l",
            "close": "c",
            "volume": "v",
            "n": "n",
        }
        if with_symbol:
            names["symbol"] = "T"
        return g[list(names)].rename(columns=names).to_dict(orient="records")

    def grouped_body(self, t: int) -> bytes:
        if t not in self._grouped_cache:
            g = self.by_date.get(t)
            rows = self._rows(g, True) if g is not None else []
            self._grouped_cache[t] = json.dumps(
                {"status": "OK", "resultsCount": len(rows), "results": rows, "errors": self.errors}
            ).encode()
        return self._grouped_cache[t]

    def range_body(self, symbol: str, t0: int, t1: int) -> tuple[int, bytes]:
        if symbol in self.errors:
            return 422, json.dumps(
                {"status": "ERROR", "ticker": symbol, "error": self.errors[symbol]}
            ).encode()
        g = self.by_symbol.get(symbol)
        if g is None:
            return 404, json.dumps(
                {"status": "NOT_FOUND", "ticker": symbol, "error": "no bars"}
            ).encode()
        g = g[(g["t"] >= t0) & (g["t"] <= t1)]
        rows = self._rows(g, False)
        return 200, json.dumps(
            {"status": "OK", "ticker": symbol, "resultsCount": len(rows), "results": rows}
        ).encode()

    # -- the web app ---------------------------------------------------------
    async def _shape(self, request: web.Request):
        """Latency and injected faults, applied to every request."""
        self.requests += 1
        delay = self.latency_ms + (
            self.rng.uniform(-1, 1) * self.jitter_ms if self.jitter_ms else 0.0
        )
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        if self.error_rate and self.rng.random() < self.error_rate:
            status = self.rng.choice((429, 503))
            return web.json_response({"status": "ERROR", "error": "injected fault"}, status=status)
        return None

    def app(self) -> web.Application:
        routes = web.RouteTableDef()

        def reply(body: bytes, status: int = 200) -> web.Response:
            return web.Response(body=body, status=status, content_type="application/json")

        @routes.get("/v3/reference/tickers")
        async def tickers(request):
            return await self._shape(request) or reply(self.universe_body)

        @routes.get("/v1/meta")
        async def meta(request):
            return await self._shape(request) or reply(self.meta_body)

        @routes.get("/v2/aggs/ticker/{symbol}/range/1/day/{start}/{end}")
        async def agg_range(request):
            fault = await self._shape(request)
            if fault:
                return fault
            try:
                t0 = int(np.datetime64(request.match_info["start"], "ms").astype(np.int64))
                t1 = int(np.datetime64(request.match_info["end"], "ms").astype(np.int64))
            except ValueError:
                return reply(b'{"status": "ERROR", "error": "dates must be YYYY-MM-DD"}', 400)
            status, body = self.range_body(request.match_info["symbol"], t0, t1)
            return reply(body, status)

        @routes.get("/v2/aggs/grouped/locale/us/market/stocks/{date}")
        async def grouped(request):
            fault = await self._shape(request)
            if fault:
                return fault
            try:
                t = int(np.datetime64(request.match_info["date"], "ms").astype(np.int64))
            except ValueError:
                return reply(b'{"status": "ERROR", "error": "date must be YYYY-MM-DD"}', 400)
            return reply(self.grouped_body(t))

        app = web.Application()
        app.add_routes(routes)
        return app


def run_server(root=None, host="127.0.0.1", port=8765, **shape) -> None:
    """Serve until interrupted (the ``technic serve`` command)."""
    server = BarServer(root or default_store_dir(), **shape)
    print(
        f"serving {server.store.root} on http://{host}:{port} "
        f"(latency {server.latency_ms:g} ms, jitter {server.jitter_ms:g} ms, "
        f"error rate {server.error_rate:g}); Ctrl-C stops",
        flush=True,
    )
    web.run_app(server.app(), host=host, port=port, print=None)


@contextmanager
def serve_in_thread(root, host="127.0.0.1", port=0, **shape):
    """A real server on loopback in a background thread; yields (url, BarServer)."""
    server = BarServer(root, **shape)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    async def start():
        runner = web.AppRunner(server.app())
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        state["runner"] = runner
        state["port"] = site._server.sockets[0].getsockname()[1]
        ready.set()

    def main():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True, name="technic-serve")
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the HTTP server did not start within 30 s")
    try:
        yield f"http://{host}:{state['port']}", server
    finally:
        fut = asyncio.run_coroutine_threadsafe(state["runner"].cleanup(), loop)
        fut.result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
