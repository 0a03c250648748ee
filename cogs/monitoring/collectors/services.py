"""Service checks an admin configures: a TCP port is open (or closed), an HTTP(S) URL
answers with the expected status. Each has its own timeout; latency is measured.

A server manager must not make the bot probe its own network: a target that is or resolves
to a loopback, link-local, private, unspecified or otherwise non-public address is refused
unless the owner allowed it (`MONITORING_ALLOW_PRIVATE_TARGETS`). The name is resolved and
every address checked when the check is saved and again at every probe (DNS can change);
a probe connects only to addresses it checked, and the result says why it was refused."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

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
            if self.expect and not (
                self.expect.isascii() and self.expect.isdigit() and 100 <= int(self.expect) <= 599
            ):
                raise CheckError("expect", "must be an HTTP status code from 100 to 599")
        else:
            raise CheckError("kind", "must be tcp or http")
        if not 0.1 <= self.timeout_s <= 60:
            raise CheckError("timeout", "must be between 0.1 and 60 seconds")
        return self

    @property
    def host(self) -> str:
        """The name or address the check connects to."""
        if self.kind == "http":
            return urlsplit(self.target).hostname or ""
        return self.target.strip()

    @property
    def probe_port(self) -> int:
        if self.kind == "http":
            parts = urlsplit(self.target)
            return parts.port or (443 if parts.scheme == "https" else 80)
        return self.port or 0


Resolver = Callable[[str, int], Awaitable[list[str]]]
CONSENT = (
    "probing the bot's own network needs the owner's consent "
    "(MONITORING_ALLOW_PRIVATE_TARGETS=true in the bot's settings)"
)


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def why_not_public(address: str) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    ):
        if hit:
            return kind
    return None if ip.is_global else "non-public"


@dataclass
class TargetPolicy:
    """Which addresses checks may reach; `resolve` is replaceable for tests."""

    allow_private: bool = False
    resolve: Resolver = field(default=system_resolve)
    # (address, port) pairs the installation itself runs and may always reach (the offline
    # demo world's game server); nothing else on the bot's network
    own: frozenset[tuple[str, int]] = frozenset()

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; CheckError("target", why) when one is not allowed
        or the name does not resolve."""
        name = host.strip().strip("[]")
        found = _literal(name)
        if found is None:
            try:
                found = await self.resolve(name, port)
            except OSError as exc:
                raise CheckError("target", f"{name} does not resolve ({exc})") from None
            if not found:
                raise CheckError("target", f"{name} does not resolve")
        if not self.allow_private and not all((a, port) in self.own for a in found):
            for address in found:
                kind = why_not_public(address)
                if kind is not None:
                    shown = name if name == address else f"{name} resolves to {address}, which"
                    raise CheckError("target", f"{shown} is a {kind} address; {CONSENT}")
        return found


class TargetRefused(OSError):
    """Raised inside aiohttp's connector when the policy refuses an address."""


def _literal(name: str) -> list[str] | None:
    try:
        return [str(ipaddress.ip_address(name))]
    except ValueError:
        return None


class _CheckedResolver(AbstractResolver):
    """aiohttp's resolver for HTTP checks: the addresses a connection uses are the ones the
    policy checked, so a DNS answer that changes between check and connect cannot slip by."""

    def __init__(self, policy: TargetPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            found = await self.policy.addresses(host, port)
        except CheckError as exc:
            raise TargetRefused(exc.message) from None
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in found
        ]

    async def close(self) -> None:
        return None


def checked_session(policy: TargetPolicy) -> aiohttp.ClientSession:
    """An HTTP session that connects only to addresses `policy` allows."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=_CheckedResolver(policy)))


@dataclass
class CheckResult:
    ok: bool
    latency_ms: float | None
    detail: str


async def run_check(
    check: ServiceCheck,
    http: aiohttp.ClientSession | None = None,
    policy: TargetPolicy | None = None,
) -> CheckResult:
    """One check, bounded by its own timeout; never raises. `http` must come from
    `checked_session(policy)`; `policy` defaults to public targets only."""
    policy = policy or TargetPolicy()
    started = time.perf_counter()
    try:
        addresses = await asyncio.wait_for(
            policy.addresses(check.host, check.probe_port), check.timeout_s
        )
        if check.kind == "tcp":
            return await _tcp(check, started, addresses[0])
        return await _http(check, started, http, policy)
    except CheckError as exc:
        return CheckResult(False, None, f"refused: {exc.message}")
    except TimeoutError:
        return CheckResult(False, None, f"no answer within {check.timeout_s:g} s")
    except Exception as exc:  # a check's failure is its result
        return CheckResult(False, None, f"{type(exc).__name__}: {exc}")


async def _tcp(check: ServiceCheck, started: float, address: str) -> CheckResult:
    want_open = check.expect != "closed"
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(address, check.port), check.timeout_s
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
    check: ServiceCheck, started: float, http: aiohttp.ClientSession | None, policy: TargetPolicy
) -> CheckResult:
    expected = int(check.expect) if check.expect else 200
    timeout = aiohttp.ClientTimeout(total=check.timeout_s)
    own = http is None
    session = http or checked_session(policy)
    try:
        async with session.get(check.target, timeout=timeout, allow_redirects=False) as response:
            await response.read()
            latency = (time.perf_counter() - started) * 1000
            ok = response.status == expected
            return CheckResult(ok, latency, f"HTTP {response.status} (expected {expected})")
    except TimeoutError:
        return CheckResult(False, None, f"no answer within {check.timeout_s:g} s")
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, TargetRefused):
            return CheckResult(False, None, f"refused: {exc.os_error}")
        raise
    finally:
        if own:
            await session.close()


class ServicesCollector:
    """Runs every configured check concurrently; the list comes from `load_checks`.

    Checks may wait up to 60 s each, far longer than a tick, so `collect` never waits for
    them: it returns the newest finished round and starts the next round in the
    background when the previous one is done."""

    name = "services"

    def __init__(self, load_checks: Any, policy: TargetPolicy | None = None) -> None:
        self.load_checks = load_checks
        self.policy = policy or TargetPolicy()
        self._http: aiohttp.ClientSession | None = None
        self._closed = False  # a tick still running at shutdown must not start a new round
        self._round: asyncio.Task[Reading] | None = None
        self._latest = Reading()

    async def run_all(self, checks: list[ServiceCheck] | None = None) -> Reading:
        """One round of every check (default: the configured ones), waiting for them all."""
        if checks is None:
            checks = await self.load_checks()
        if not checks:
            return Reading()
        if self._closed:
            return Reading(unavailable="the monitor is stopping")
        if self._http is None or self._http.closed:
            self._http = checked_session(self.policy)
        results = await asyncio.gather(*(run_check(c, self._http, self.policy) for c in checks))
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
        if self._round is None and not self._closed:
            # The list is read here, in the tick: the background round then does network
            # I/O only, so cancelling it at shutdown never interrupts a database query.
            checks = await self.load_checks()
            self._round = asyncio.create_task(self.run_all(checks), name="service-checks")
        return self._latest

    async def close(self) -> None:
        self._closed = True
        if self._round is not None:
            self._round.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._round
            self._round = None
        if self._http is not None:
            await self._http.close()
            self._http = None
