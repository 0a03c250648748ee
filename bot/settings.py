"""Typed settings read from the environment and `.env`, validated once at start."""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable and what is expected."""


class Secret:
    """A string that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    discord_token: Secret | None = None
    discord_client_id: str | None = None
    discord_client_secret: Secret | None = None
    owner_ids: frozenset[int] = frozenset()
    auto_approve: bool = False
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None  # None: every shard (or unsharded)
    internal_url: str = ""  # where the other processes reach this one's web server
    discord_global_rate: int = 50  # REST requests/s this process may spend
    data_dir: Path = Path("data")
    database_url: str = field(default="", repr=False)  # may hold a password
    redis_url: str | None = field(default=None, repr=False)
    web_enabled: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_max_connections: int = 1000
    public_url: str = ""
    secret_key: Secret | None = None
    log_level: str = "INFO"
    db_connect_retries: int = 5
    discord_api_base: str = "https://discord.com/api/v10"
    sandbox_port: int = 0
    left_guild_retention_days: int = 30
    features: frozenset[str] | None = None  # None: every feature in cogs/
    # Each feature's own settings (`cogs/<feature>/settings.py`), by feature name; a
    # feature reads its own with `settings.feature(SPEC)`.
    feature_settings: Mapping[str, Any] = field(default_factory=dict, repr=False)
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.discord_client_id and self.discord_client_secret)

    def feature[T](self, spec: FeatureSettings[T]) -> T:
        """The settings of the feature `spec` declares (its defaults when not loaded)."""
        found = self.feature_settings.get(spec.feature)
        return found if found is not None else spec.cls()

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter."""
        values = [
            s.get() for s in (self.discord_token, self.discord_client_secret, self.secret_key) if s
        ]
        for own in self.feature_settings.values():
            for name in getattr(own, "__dataclass_fields__", {}):
                value = getattr(own, name)
                if isinstance(value, Secret) and value.get():
                    values.append(value.get())
        password = database_password(self.database_url)
        if password:
            values.append(password)
        if self.redis_url:
            redis_password = urlsplit(self.redis_url).password
            if redis_password:
                values.append(redis_password)
        return [v for v in values if v]


@dataclass(frozen=True)
class Variable:
    """One environment variable: its parser, default and the help line in `.env.example`."""

    name: str
    attr: str
    parse: Callable[[str], Any]
    expected: str
    secret: bool = False


@dataclass(frozen=True)
class FeatureSettings[T]:
    """A feature's environment variables, declared as `SETTINGS` in
    `cogs/<feature>/settings.py` (found like `cli.py`): `cls` is a frozen dataclass whose
    fields the variables' `attr`s name, its defaults the values when a variable is unset."""

    feature: str
    cls: type[T]
    variables: tuple[Variable, ...]


def feature_settings_specs() -> list[FeatureSettings[Any]]:
    """Every feature's `SETTINGS`, in folder order. Importing a `settings.py` is cheap: it
    holds declarations and parsers only."""
    import importlib
    import pkgutil

    import cogs

    specs = []
    for module in sorted(pkgutil.iter_modules(cogs.__path__), key=lambda m: m.name):
        # A file check, not find_spec: that would import every feature's package.
        folder = Path(module.module_finder.path) / module.name  # type: ignore[union-attr]
        if module.ispkg and (folder / "settings.py").is_file():
            specs.append(importlib.import_module(f"cogs.{module.name}.settings").SETTINGS)
    return specs


def all_variables() -> list[Variable]:
    """The core's variables and every feature's: what `.env.example` documents."""
    return [*VARIABLES, *(v for spec in feature_settings_specs() for v in spec.variables)]


def with_changes(settings: Settings, **changes: Any) -> Settings:
    """`settings` with fields changed, a feature's own fields included (by their names)."""
    core = {k: v for k, v in changes.items() if k in Settings.__dataclass_fields__}
    rest = {k: v for k, v in changes.items() if k not in core}
    own = dict(settings.feature_settings)
    for spec in feature_settings_specs():
        mine = {k: rest.pop(k) for k in list(rest) if k in spec.cls.__dataclass_fields__}  # type: ignore[attr-defined]
        if mine:
            own[spec.feature] = dataclasses.replace(settings.feature(spec), **mine)  # type: ignore[type-var]
    if rest:
        raise TypeError(f"no setting named {', '.join(sorted(rest))}")
    return dataclasses.replace(settings, **core, feature_settings=own)


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(raw)


def _port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError(raw)
    return port


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _shard_ids(raw: str) -> tuple[int, ...] | None:
    from bot.shards import parse_shard_ids

    return parse_shard_ids(raw) if raw.strip() else None


def _global_rate(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 50:
        raise ValueError(raw)
    return value


def _feature_names(raw: str) -> frozenset[str] | None:
    names = {part.strip().lower() for part in raw.replace(";", ",").split(",") if part.strip()}
    bad = sorted(name for name in names if not name.isidentifier())
    if bad:
        raise ValueError(bad[0])
    return frozenset(names) or None


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


def _snowflakes(raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 15 <= len(part) <= 20:
            raise ValueError(part)
        ids.add(int(part))
    return frozenset(ids)


def _text(raw: str) -> str | None:
    return raw.strip() or None


def _secret(raw: str) -> Secret | None:
    raw = raw.strip()
    return Secret(raw) if raw else None


def _client_id(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(raw)
    return raw


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(raw)
    return level


def _http_url(raw: str) -> str:
    raw = raw.strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise ValueError(raw)
    return raw


_DATABASE_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def _database_url(raw: str) -> str:
    raw = raw.strip()
    if not raw:
        return ""
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in _DATABASE_SCHEMES:
        raise ValueError(scheme or raw)
    normalised = _DATABASE_SCHEMES[scheme] + raw[len(scheme) :]
    from sqlalchemy.engine import make_url  # here: the agent never needs SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(normalised)
    except ArgumentError as exc:
        raise ValueError(scheme) from exc
    return normalised


def _redis_url(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(raw)
    _ = parts.port  # raises ValueError for a port that is not a number 0-65535
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(raw)
    return raw


MIN_SECRET_KEY = 32


def _secret_key(raw: str) -> Secret | None:
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) < MIN_SECRET_KEY:
        raise ValueError("too short")
    return Secret(raw)


VARIABLES: tuple[Variable, ...] = (
    Variable("DISCORD_TOKEN", "discord_token", _secret, "a bot token", secret=True),
    Variable("DISCORD_CLIENT_ID", "discord_client_id", _client_id, "a numeric application id"),
    Variable(
        "DISCORD_CLIENT_SECRET", "discord_client_secret", _secret, "an OAuth2 secret", secret=True
    ),
    Variable(
        "OWNER_IDS", "owner_ids", _snowflakes, "comma-separated Discord user ids (17-20 digits)"
    ),
    Variable("AUTO_APPROVE", "auto_approve", _bool, "true or false"),
    Variable("SHARD_COUNT", "shard_count", _positive_int, "a whole number of shards, 1 or more"),
    Variable(
        "SHARD_IDS",
        "shard_ids",
        _shard_ids,
        "the shards this process runs, as ranges like 0-3 or 0,2,4-5",
    ),
    Variable(
        "INTERNAL_URL",
        "internal_url",
        _http_url,
        "a URL starting http:// where the other bot processes reach this one's web server",
    ),
    Variable(
        "DISCORD_GLOBAL_RATE",
        "discord_global_rate",
        _global_rate,
        "REST requests per second this process may send, 1 to 50",
    ),
    Variable(
        "DISCORD_API_BASE",
        "discord_api_base",
        lambda raw: _http_url(raw) or None,
        "a URL starting http:// or https:// (Discord's REST API or a proxy in front of it)",
    ),
    Variable("DATA_DIR", "data_dir", lambda raw: Path(raw.strip()), "a folder path"),
    Variable(
        "DATABASE_URL",
        "database_url",
        _database_url,
        "a URL starting sqlite+aiosqlite:// or postgresql+asyncpg://",
        secret=True,
    ),
    Variable(
        "REDIS_URL",
        "redis_url",
        _redis_url,
        "a URL like redis://host:6379/0 (or rediss://)",
        secret=True,
    ),
    Variable("WEB_ENABLED", "web_enabled", _bool, "true or false"),
    Variable("WEB_HOST", "web_host", lambda raw: raw.strip() or "127.0.0.1", "an address"),
    Variable("WEB_PORT", "web_port", _port, "a port number 0-65535"),
    Variable(
        "WEB_MAX_CONNECTIONS",
        "web_max_connections",
        _positive_int,
        "a whole number of connections, 1 or more",
    ),
    Variable("PUBLIC_URL", "public_url", _http_url, "a URL starting http:// or https://"),
    Variable(
        "SECRET_KEY",
        "secret_key",
        _secret_key,
        f"a random string of {MIN_SECRET_KEY} characters or more",
        secret=True,
    ),
    Variable("LOG_LEVEL", "log_level", _log_level, "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    Variable("DB_CONNECT_RETRIES", "db_connect_retries", _non_negative_int, "a whole number >= 0"),
    Variable("SANDBOX_PORT", "sandbox_port", _port, "a port number 0-65535"),
    Variable(
        "LEFT_GUILD_RETENTION_DAYS",
        "left_guild_retention_days",
        _non_negative_int,
        "a whole number of days >= 0 (0: keep forever)",
    ),
    Variable(
        "FEATURES",
        "features",
        _feature_names,
        "comma-separated feature names (folders in cogs/), or empty for all",
    ),
)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `.env` file; a line that is not KEY=VALUE stops with its line number."""
    from dotenv.parser import parse_stream  # only when there is a file to read

    text = path.read_text(encoding="utf-8")
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # The line's text is not echoed: it may hold a secret.
            raise SettingsError(
                f"{path} line {binding.original.line} is not a valid KEY=VALUE line; "
                "fix or remove it"
            )
        if binding.key is not None:
            values[binding.key] = binding.value or ""
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Build settings from `.env` (if present) overlaid by the real environment."""
    source: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        source.update(read_env_file(env_file))
    source.update(os.environ if environ is None else environ)

    values = _parse(VARIABLES, source)
    values["feature_settings"] = {
        spec.feature: spec.cls(**_parse(spec.variables, source))
        for spec in feature_settings_specs()
    }
    settings = _with_derived(Settings(**values))
    check_shard_range(settings)
    return settings


def _parse(variables: tuple[Variable, ...], source: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable in variables:
        raw = source.get(variable.name)
        if raw is None:
            continue
        try:
            value = variable.parse(raw)
        except (ValueError, TypeError):
            shown = "" if variable.secret else f"={raw.strip()!r}"
            raise SettingsError(
                f"{variable.name}{shown} is not valid: expected {variable.expected}"
            ) from None
        if value is not None:
            values[variable.attr] = value
    return values


def check_shard_range(settings: Settings) -> None:
    """Shard ranges split one bot over several processes, which share their state through
    PostgreSQL and must sign each other's links and sessions with one key."""
    ids = settings.shard_ids
    if ids is None:
        return
    if not settings.shard_count:
        raise SettingsError("SHARD_IDS needs SHARD_COUNT: the total number of shards")
    outside = [i for i in ids if i >= settings.shard_count]
    if outside:
        raise SettingsError(
            f"SHARD_IDS names shard {outside[0]}, but SHARD_COUNT={settings.shard_count} has "
            f"shards 0-{settings.shard_count - 1}"
        )
    if set(ids) == set(range(settings.shard_count)):
        return  # every shard in this process: nothing to share
    if not settings.database_url.startswith("postgresql"):
        raise SettingsError(
            "SHARD_IDS runs part of the bot in this process: the processes share one "
            "PostgreSQL database; set DATABASE_URL=postgresql+asyncpg://..."
        )
    if settings.secret_key is None:
        raise SettingsError(
            "SHARD_IDS runs part of the bot in this process: every process must sign links "
            "and sessions with one key; set SECRET_KEY (the same in each)"
        )


def _with_derived(settings: Settings) -> Settings:
    data_dir = settings.data_dir
    database_url = settings.database_url or f"sqlite+aiosqlite:///{(data_dir / 'foundrycord.db')}"
    host = settings.web_host
    shown_host = f"[{host}]" if ":" in host else host
    public_url = settings.public_url or f"http://{shown_host}:{settings.web_port}"
    return Settings(
        **{
            **{f: getattr(settings, f) for f in settings.__dataclass_fields__},
            "database_url": database_url,
            "public_url": public_url,
        }
    )


def database_password(url: str) -> str | None:
    if not url or "@" not in url:
        return None  # no credentials (SQLite): no need to load SQLAlchemy to know
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except ArgumentError:
        return None
    return str(password) if password else None


def redacted_database_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
