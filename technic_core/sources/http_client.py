"""The API as a Source: pooled, bounded, timed out, retried, and never a crash.

One aiohttp session lives on a private event loop thread for the life of the
source, so every call reuses its connections.  At most ``concurrency``
requests are in flight; each has a timeout; 429 and 5xx answers and dropped
connections are retried with exponential backoff and jitter, a bounded
number of times.  After that a symbol's failure becomes that symbol's error
(the scan goes on); a malformed answer is an error naming the symbol.  A
server that cannot be reached at all is one ``SourceUnavailable``.

A whole-market (grouped) request for one session that still fails is never
the whole market's error: that session is fetched symbol by symbol (its
range request for that one day), and only a symbol whose own request fails
too becomes an error, naming the session.  If most sessions fail, the API is
unavailable (one ``SourceUnavailable``), not every symbol's problem.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading

import aiohttp
import numpy as np
import pandas as pd

from ..universe.schema import BAR_FIELDS, UNIVERSE_COLUMNS, StoreError
from ..universe.validate import SymbolDataError
from .base import Source

RETRY_STATUS = {429, 500, 502, 503, 504}
_FIELD = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}


def decode(body: bytes):
    """A response body's JSON (NaN and Infinity kept, as the server writes them)."""
    return json.loads(body)


class SourceUnavailable(StoreError, ConnectionError):
    """The API could not be reached or answered nonsense for the whole universe."""


class RequestFailed(Exception):
    def __init__(self, what: str, reason: str):
        super().__init__(f"{what}: {reason}")
        self.reason = reason


class HttpSource(Source):
    name = "http"
    # long() asks for whole sessions of the market: the block engine fetches once, then cuts blocks.
    grouped_fetch = True

    def __init__(
        self,
        url: str,
        concurrency: int = 32,
        timeout_s: float = 10.0,
        retries: int = 5,
        backoff_s: float = 0.05,
        seed: int = 0,
    ):
        super().__init__()
        self.url = url.rstrip("/")
        self.concurrency, self.timeout_s = concurrency, timeout_s
        self.retries, self.backoff_s = retries, backoff_s
        self.retried = 0
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="technic-http"
        )
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None
        self._sem: asyncio.Semaphore | None = None
        self._meta: dict | None = None
        self.fallback_sessions: list[str] = []  # sessions fetched symbol by symbol

    # -- plumbing -----------------------------------------------------------
    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _ensure(self):
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=aiohttp.TCPConnector(limit=self.concurrency),
            )
            self._sem = asyncio.Semaphore(self.concurrency)

    async def _get(self, path: str, what: str):
        """JSON of one GET, retried; RequestFailed with a reason after the last try."""
        await self._ensure()
        last = "no answer"
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                delay = min(2.0, self.backoff_s * 2 ** (attempt - 1)) * (0.5 + self._rng.random())
                await asyncio.sleep(delay)
            async with self._sem:
                self.requests += 1
                try:
                    async with self._session.get(self.url + path) as resp:
                        body = await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                    last = f"connection failed ({type(exc).__name__}: {exc})"
                    continue
            if status in RETRY_STATUS:
                last = f"HTTP {status}"
                continue
            try:
                doc = decode(body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise RequestFailed(what, f"malformed response (not JSON: {exc})") from None
            if status != 200:
                reason = doc.get("error") if isinstance(doc, dict) else None
                raise RequestFailed(what, str(reason or f"HTTP {status}"))
            return doc
        raise RequestFailed(what, f"{last} after {self.retries} retries")

    def _sync_get(self, path: str, what: str):
        try:
            return self._run(self._get(path, what))
        except RequestFailed as exc:
            if exc.reason.startswith("connection failed"):
                raise SourceUnavailable(f"cannot reach {self.url}: {exc.reason}") from None
            raise

    def meta(self) -> dict:
        if self._meta is None:
            try:
                doc = self._sync_get("/v1/meta", "meta")
                self._meta = {
                    "sessions": list(doc["sessions"]),
                    "frequency": str(doc["frequency"]),
                    "last_session": doc.get("last_session"),
                }
            except RequestFailed as exc:
                raise SourceUnavailable(f"{self.url}: {exc}") from None
            except (KeyError, TypeError) as exc:
                raise SourceUnavailable(
                    f"{self.url}/v1/meta: malformed response (missing {exc})"
                ) from None
        return self._meta

    # -- the Source interface -----------------------------------------------
    @property
    def frequency(self) -> str:
        return self.meta()["frequency"]

    def describe(self) -> str:
        return f"HTTP API {self.url}"

    def universe(self) -> pd.DataFrame:
        try:
            doc = self._sync_get("/v3/reference/tickers", "universe")
        except RequestFailed as exc:
            raise SourceUnavailable(f"{self.url}: {exc}") from None
        df = pd.DataFrame(doc)
        miss = [c for c in UNIVERSE_COLUMNS if c not in df.columns]
        if miss:
            raise SourceUnavailable(
                f"{self.url}/v3/reference/tickers: universe lacks {', '.join(miss)}"
            )
        df["market_cap"] = pd.to_numeric(df["market_cap"], errors="coerce").astype(np.float64)
        for c in ("is_etf", "is_leveraged"):
            df[c] = df[c].fillna(False).astype(bool)
        return df[list(UNIVERSE_COLUMNS)]

    @staticmethod
    def _frame(rows, symbol: str) -> pd.DataFrame:
        """Bars (date, OHLCV, n) from API rows (a list of records or a frame of them)."""
        try:
            df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
            out = pd.DataFrame({"date": pd.to_datetime(df["t"].astype(np.int64), unit="ms")})
            for short, name in _FIELD.items():
                out[name] = pd.to_numeric(df[short], errors="coerce").astype(np.float64)
            if "n" in df:
                out["n"] = df["n"].astype(np.int64)
        except (KeyError, ValueError, TypeError) as exc:
            raise SymbolDataError(
                symbol, f"malformed response from the API ({type(exc).__name__}: {exc})"
            ) from None
        return out

    def bars(self, symbol: str) -> pd.DataFrame:
        sessions = self.meta()["sessions"]
        if not sessions:
            raise SymbolDataError(symbol, "no bars")
        path = f"/v2/aggs/ticker/{symbol}/range/1/day/{sessions[0]}/{sessions[-1]}"
        try:
            doc = self._sync_get(path, symbol)
            rows = doc["results"]
        except RequestFailed as exc:
            raise SymbolDataError(symbol, exc.reason) from None
        except (KeyError, TypeError):
            raise SymbolDataError(symbol, "malformed response from the API (no results)") from None
        if not rows:
            raise SymbolDataError(symbol, "no bars (empty file)")
        df = self._frame(rows, symbol)
        return df.sort_values("n", kind="mergesort").drop(columns="n").reset_index(drop=True)

    async def _grouped_all(self, dates: list[str]):
        return await asyncio.gather(
            *(self._get(f"/v2/aggs/grouped/locale/us/market/stocks/{d}", d) for d in dates),
            return_exceptions=True,
        )

    async def _one_day_each(self, symbols: list[str], day: str):
        return await asyncio.gather(
            *(self._get(f"/v2/aggs/ticker/{s}/range/1/day/{day}/{day}", s) for s in symbols),
            return_exceptions=True,
        )

    def _session_by_symbol(
        self, day: str, why: str, symbols: list[str], rows: list, errors: dict[str, str]
    ) -> None:
        """One session's bars fetched per symbol, after its grouped request failed."""
        self.fallback_sessions.append(day)
        docs = self._run(self._one_day_each(symbols, day))
        for sym, doc in zip(symbols, docs):
            try:
                if isinstance(doc, BaseException):
                    raise doc
                rows.extend({**r, "T": sym} for r in doc["results"])
            except RequestFailed as exc:
                # the server's own verdict on a bad symbol (422/404) is that symbol's error
                errors.setdefault(
                    sym,
                    exc.reason
                    if not exc.reason.startswith(("HTTP", "connection"))
                    else f"session {day} missing: the whole-market request failed ({why}) "
                    f"and so did this symbol's own ({exc.reason})",
                )
            except (KeyError, TypeError, AttributeError):
                errors.setdefault(sym, f"session {day}: malformed response from the API")

    def long(self, symbols: list[str]) -> pd.DataFrame:
        """The fewest requests: one grouped request per session, all in flight together."""
        sessions = self.meta()["sessions"]
        docs = self._run(self._grouped_all(sessions))
        return self.grouped_frame(sessions, docs, symbols)

    def grouped_frame(self, sessions: list[str], docs: list, symbols: list[str]) -> pd.DataFrame:
        """The long frame of ``symbols`` from one decoded grouped response per session.

        ``docs[i]`` answers ``sessions[i]``, or is the exception that request
        ended with: every wanted symbol then gets that session as its error.
        """
        wanted = list(symbols)
        rows: list = []
        errors: dict[str, str] = {}
        failed: list[tuple[str, str]] = []
        for d, doc in zip(sessions, docs):
            if isinstance(doc, BaseException):
                failed.append((d, doc.reason if isinstance(doc, RequestFailed) else str(doc)))
                continue
            try:
                errors.update(doc.get("errors") or {})
                rows.extend(doc["results"])
            except (AttributeError, KeyError, TypeError):
                failed.append((d, "malformed response"))
        wanted_set = set(wanted)
        if failed and len(failed) * 2 > len(sessions):
            raise SourceUnavailable(
                f"{self.url}: {len(failed)} of {len(sessions)} sessions could not be "
                f"fetched, e.g. {', '.join(f'{d} ({w})' for d, w in failed[:3])}"
            )
        for day, why in failed:
            self._session_by_symbol(day, why, [s for s in wanted if s not in errors], rows, errors)
        frame = pd.DataFrame(rows, columns=["T", "t", "o", "h", "l", "c", "v", "n"])
        del rows
        keep = [s for s in wanted if s not in errors]
        frame = frame[frame["T"].isin(set(keep))]
        # each symbol's rows in its own file's order (n), symbols in the order asked for
        frame["T"] = pd.Categorical(frame["T"], categories=pd.Index(keep, dtype=object))
        frame = frame.sort_values(["T", "n"], kind="mergesort")
        try:
            out = self._frame(frame, "<grouped>")
        except SymbolDataError as exc:
            raise SourceUnavailable(f"{self.url}: grouped bars: {exc.reason}") from None
        out.insert(
            0,
            "symbol",
            frame["T"].cat.remove_unused_categories().to_numpy()
            if len(frame)
            else pd.Categorical([]),
        )
        out["symbol"] = pd.Categorical(out["symbol"])
        out = out.drop(columns="n", errors="ignore").reset_index(drop=True)
        out.attrs["errors"] = {s: r for s, r in errors.items() if s in wanted_set}
        return out

    def snapshot(self, date=None) -> pd.DataFrame:
        day = str(date or self.meta()["last_session"])
        try:
            doc = self._sync_get(f"/v2/aggs/grouped/locale/us/market/stocks/{day}", day)
            rows = doc["results"]
        except (RequestFailed, KeyError, TypeError) as exc:
            raise SourceUnavailable(f"{self.url}: snapshot of {day}: {exc}") from None
        if not rows:
            return pd.DataFrame(
                {"symbol": [], "date": pd.to_datetime([]), **{f: [] for f in BAR_FIELDS}}
            )
        df = pd.DataFrame(rows).sort_values(["T", "n"], kind="mergesort")
        out = self._frame(df.to_dict(orient="list"), "<snapshot>").drop(
            columns="n", errors="ignore"
        )
        out.insert(0, "symbol", df["T"].astype(str).to_numpy())
        return out.drop_duplicates("symbol", keep="last").reset_index(drop=True)

    def close(self) -> None:
        if self._session is not None:
            self._run(self._session.close())
            self._session = None
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()  # else its self-pipe sockets are left to the garbage collector
