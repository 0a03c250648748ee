"""Service checks an admin configures: a TCP port is open (or closed), an HTTP(S) URL
answers with the expected status. Each has its own timeout; latency is measured."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from cogs.monitoring.collectors import Reading


class CheckError(ValueError):
    """A check's definition is wrong; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ServiceCheck:
    id: int
    name: str
    kind: str  # "tcp" or "http"
    target: str  # host for tcp, URL for http
    port: int | None = None
    timeout_s: float = 5.0
    expect: str = ""  # tcp: "open" or "closed"; http: a status code such as "200"

    def validate(self) -> ServiceCheck:
        if not self.name.strip() or len(self.name) > 64:
            raise CheckError("name", "give a name of 1-64 characters")
        if self.kind == "tcp":
            if not self.target.strip() or len(self.target) > 253 or " " in self.target:
                raise CheckError("target", "give a host name or IP address")
            if self.port is None or not 1 <= self.port <= 65535:
                raise CheckError("port", "must be a port number from 1 to 65535")
            if self.expect not in ("", "open", "closed"):
                raise CheckError("expect", "must be open or closed for a TCP check")
        elif self.kind == "http":
            parts = urlsplit(self.target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise CheckError("target", "must be an http:// or https:// URL")
            if self.expect and not (self.expect.isdigit() and 100 <= int(self.expect) <= 599):
                raise CheckError("expect", "must be an HTTP status code from 100 to 599")
        else:
            raise CheckError("kind", "must be tcp or http")
        if not 0.1 <= self.timeout_s <= 60:
            raise CheckError("timeout", "must be between 0.1 and 60 seconds")
        return self


@dataclass
class CheckResult:
    ok: bool
    latency_ms: float | None
    detail: str


async def run_check(check: ServiceCheck, http: aiohttp.ClientSession | None = None) -> CheckResult:
    """One check, bounded by its own timeout; never raises."""
    started = time.perf_counter()
    try:
        if check.kind == "tcp":
            return await _tcp(check, started)
        return await _http(check, started, http)
    except Exception as exc:  # a check's failure is its result
        return CheckResult(False, None, f"{type(exc).__name__}: {exc}")


async def _tcp(check: ServiceCheck, started: float) -> CheckResult:
    want_open = check.expect != "closed"
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(check.target, check.port), check.timeout_s
        )
    except TimeoutError:
        return CheckResult(not want_open, None, f"no answer within {check.timeout_s:g} s")
    except OSError as exc:
        return CheckResult(not want_open, None, f"closed ({exc.strerror or exc})")
    latency = (time.perf_counter() - started) * 1000
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return CheckResult(want_open, latency, "open")


async def _http(
    check: ServiceCheck, started: float, http: aiohttp.ClientSession | None
) -> CheckResult:
    expected = int(check.expect) if check.expect else 200
    timeout = aiohttp.ClientTimeout(total=check.timeout_s)
    own = http is None
    session = http or aiohttp.ClientSession()
    try:
        async with session.get(check.target, timeout=timeout, allow_redirects=False) as response:
            await response.read()
            latency = (time.perf_counter() - started) * 1000
            ok = response.status == expected
            return CheckResult(ok, latency, f"HTTP {response.status} (expected {expected})")
    except TimeoutError:
        return CheckResult(False, None, f"no answer within {check.timeout_s:g} s")
    finally:
        if own:
            await session.close()


class ServicesCollector:
    """Runs every configured check concurrently; the list comes from `load_checks`.

    Checks may wait up to 60 s each, far longer than a tick, so `collect` never waits for
    them: it returns the newest finished round and starts the next round in the
    background when the previous one is done."""

    name = "services"

    def __init__(self, load_checks: Any) -> None:
        self.load_checks = load_checks
        self._http: aiohttp.ClientSession | None = None
        self._round: asyncio.Task[Reading] | None = None
        self._latest = Reading()

    async def run_all(self, checks: list[ServiceCheck] | None = None) -> Reading:
        """One round of every check (default: the configured ones), waiting for them all."""
        if checks is None:
            checks = await self.load_checks()
        if not checks:
            return Reading()
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        results = await asyncio.gather(*(run_check(c, self._http) for c in checks))
        metrics: dict[str, float] = {}
        rows = []
        for check, result in zip(checks, results, strict=True):
            metrics[f"service.{check.id}.up"] = 1.0 if result.ok else 0.0
            if result.latency_ms is not None:
                metrics[f"service.{check.id}.latency_ms"] = result.latency_ms
            rows.append(
                {"id": check.id, "name": check.name, "ok": result.ok, "detail": result.detail}
            )
        return Reading(metrics, {"services": rows})

    async def collect(self) -> Reading:
        if self._round is not None and self._round.done():
            try:
                self._latest = self._round.result()
            except Exception as exc:
                self._latest = Reading(unavailable=f"service checks failed: {exc}")
            self._round = None
        if self._round is None:
            # The list is read here, in the tick: the background round then does network
            # I/O only, so cancelling it at shutdown never interrupts a database query.
            checks = await self.load_checks()
            self._round = asyncio.create_task(self.run_all(checks), name="service-checks")
        return self._latest

    async def close(self) -> None:
        if self._round is not None:
            self._round.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._round
            self._round = None
        if self._http is not None:
            await self._http.close()
            self._http = None
