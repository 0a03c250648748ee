"""Monitoring's environment variables, declared here (the feature owns them) and read with
the core's at start: `settings.feature(SETTINGS)` is a `MonitoringSettings`. Declarations
and parsers only, so that `bot.settings` finds them cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.settings import FeatureSettings, Secret, Variable

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class MonitoringSettings:
    host_proc: str | None = None
    docker_host: str = DEFAULT_DOCKER_HOST
    monitoring_host: str = ""
    monitoring_interval: float = 10.0
    monitoring_retention: tuple[int, int, int] = (24, 30, 365)
    speedtest_interval: int = 0
    monitoring_allow_private_targets: bool = False
    monitoring_game_interval: float = 30.0
    agent_url: str = ""
    agent_token: Secret | None = None
    agent_token_file: Path | None = None


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(raw)


def _text(raw: str) -> str | None:
    return raw.strip() or None


def _minutes(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


def _sample_interval(raw: str) -> float:
    value = float(raw)
    if not 2 <= value <= 3600:
        raise ValueError(raw)
    return value


def _game_interval(raw: str) -> float:
    value = float(raw)
    if not 15 <= value <= 3600:
        raise ValueError(raw)
    return value


def _retention(raw: str) -> tuple[int, int, int]:
    """`raw hours,5-minute days,hourly days`, e.g. `24,30,365`; each tier outlives the last."""
    parts = [int(part) for part in raw.replace(" ", "").split(",")]
    if len(parts) != 3 or min(parts) < 1 or parts[0] > parts[1] * 24 or parts[1] > parts[2]:
        raise ValueError(raw)
    return parts[0], parts[1], parts[2]


def _docker_host(raw: str) -> str:
    raw = raw.strip() or DEFAULT_DOCKER_HOST
    if not raw.startswith(("unix://", "tcp://", "http://")):
        raise ValueError(raw)
    return raw


def _http_url(raw: str) -> str:
    raw = raw.strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise ValueError(raw)
    return raw


def _secret(raw: str) -> Secret | None:
    raw = raw.strip()
    return Secret(raw) if raw else None


def _file(raw: str) -> Path | None:
    return Path(raw.strip()) if raw.strip() else None


SETTINGS = FeatureSettings(
    "monitoring",
    MonitoringSettings,
    (
        Variable("HOST_PROC", "host_proc", _text, "a folder path such as /host/proc"),
        Variable(
            "DOCKER_HOST",
            "docker_host",
            _docker_host,
            "unix:///path/docker.sock or tcp://host:port",
        ),
        Variable("MONITORING_HOST", "monitoring_host", lambda raw: raw.strip(), "a host name"),
        Variable(
            "MONITORING_INTERVAL", "monitoring_interval", _sample_interval, "seconds, 2 to 3600"
        ),
        Variable(
            "MONITORING_RETENTION",
            "monitoring_retention",
            _retention,
            "raw hours, 5-minute days, hourly days (e.g. 24,30,365), each tier at least as long",
        ),
        Variable("SPEEDTEST_INTERVAL", "speedtest_interval", _minutes, "minutes, 0 for off"),
        Variable(
            "MONITORING_ALLOW_PRIVATE_TARGETS",
            "monitoring_allow_private_targets",
            _bool,
            "true or false",
        ),
        Variable(
            "MONITORING_GAME_INTERVAL",
            "monitoring_game_interval",
            _game_interval,
            "seconds between two polls of each game server, 15 to 3600",
        ),
        Variable("AGENT_URL", "agent_url", _http_url, "a URL starting http:// or https://"),
        Variable("AGENT_TOKEN", "agent_token", _secret, "a token (fcm_...)", secret=True),
        Variable("AGENT_TOKEN_FILE", "agent_token_file", _file, "a file holding the token"),
    ),
)
