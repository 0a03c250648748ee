"""Per-guild settings: cogs register what they need in one place (name, type, default,
limits, help); values are validated on the server and stored per guild."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from bot.database import Database
from bot.guild_objects import parse_snowflake
from bot.models import AuditEntry, GuildRecord, GuildSettingValue

SettingType = Literal["bool", "int", "str", "choice", "channel", "role"]


@dataclass(frozen=True)
class SettingSpec:
    name: str
    label: str
    type: SettingType
    default: Any
    help: str = ""
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()
    owner: str = ""


class SettingValueError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SettingsFormError(ValueError):
    """Several fields were refused; nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class GuildSettingsRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, SettingSpec] = {}

    def register(self, owner: str, *specs: SettingSpec) -> None:
        for spec in specs:
            if spec.name in self._specs and self._specs[spec.name].owner != owner:
                raise ValueError(
                    f"setting {spec.name!r} is already registered by {self._specs[spec.name].owner}"
                )
            self._specs[spec.name] = SettingSpec(**{**spec.__dict__, "owner": owner})

    def specs(self) -> list[SettingSpec]:
        return list(self._specs.values())

    def get(self, name: str) -> SettingSpec:
        return self._specs[name]

    def validate(self, name: str, raw: str | None) -> Any:
        """Turn a raw form value into the typed value, or raise SettingValueError."""
        spec = self._specs.get(name)
        if spec is None:
            raise SettingValueError(name, "is not a known setting")
        text = (raw or "").strip()
        if spec.type == "bool":
            if text.lower() in {"", "0", "false", "off", "no"}:
                return False
            if text.lower() in {"1", "true", "on", "yes"}:
                return True
            raise SettingValueError(name, "must be on or off")
        if spec.type == "int":
            digits = text.removeprefix("-")
            # ASCII digits only: int() takes "١٢" and "1_0", and 5,000 digits cost seconds.
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
                raise SettingValueError(name, "must be a whole number")
            value = int(text)
            if spec.min is not None and value < spec.min:
                raise SettingValueError(name, f"must be at least {spec.min}")
            if spec.max is not None and value > spec.max:
                raise SettingValueError(name, f"must be at most {spec.max}")
            return value
        if spec.type == "choice":
            if text not in spec.choices:
                raise SettingValueError(name, f"must be one of: {', '.join(spec.choices)}")
            return text
        if spec.type in ("channel", "role"):
            if not text:
                return None
            value = parse_snowflake(text)
            # "²" passed isdigit() and then failed int(); 20 digits overflowed the database.
            if value is None or value < 10**14:
                raise SettingValueError(name, f"must be a {spec.type} id")
            return value
        if spec.max is not None and len(text) > spec.max:
            raise SettingValueError(name, f"must be at most {spec.max} characters")
        if spec.min is not None and len(text) < spec.min:
            raise SettingValueError(name, f"must be at least {spec.min} characters")
        return text


class GuildSettingsStore:
    def __init__(self, db: Database, registry: GuildSettingsRegistry) -> None:
        self.db = db
        self.registry = registry

    async def get_all(self, guild_id: int) -> dict[str, Any]:
        values = {spec.name: spec.default for spec in self.registry.specs()}
        async with self.db.session() as session:
            rows = await session.scalars(
                select(GuildSettingValue).where(GuildSettingValue.guild_id == guild_id)
            )
            for row in rows:
                if row.key in values:
                    values[row.key] = row.value
        return values

    async def get(self, guild_id: int, name: str) -> Any:
        return (await self.get_all(guild_id))[name]

    async def update(self, guild_id: int, raw: Mapping[str, str], actor_id: int) -> dict[str, Any]:
        """Validate every registered field first; save all of them in one transaction."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for spec in self.registry.specs():
            try:
                values[spec.name] = self.registry.validate(spec.name, raw.get(spec.name))
            except SettingValueError as exc:
                errors[exc.field] = exc.message
        unknown = sorted(set(raw) - {s.name for s in self.registry.specs()} - {"csrf_token"})
        for name in unknown:
            errors[name] = "is not a known setting"
        if errors:
            raise SettingsFormError(errors)
        async with self.db.session() as session, session.begin():
            if await session.get(GuildRecord, guild_id) is None:
                raise LookupError(f"guild {guild_id} is not known to the bot")
            rows = await session.execute(
                select(GuildSettingValue.key, GuildSettingValue.value).where(
                    GuildSettingValue.guild_id == guild_id
                )
            )
            before = {row.key: row.value for row in rows}
            changed = {k: v for k, v in values.items() if k not in before or before[k] != v}
            if values:
                # An upsert: two concurrent first saves of a guild must not collide.
                await session.execute(_upsert_settings(session.bind.dialect.name, guild_id, values))
            session.add(
                AuditEntry(
                    guild_id=guild_id,
                    actor_id=actor_id,
                    action="settings.update",
                    detail={"changed": changed},
                )
            )
        return values


def _upsert_settings(dialect: str, guild_id: int, values: Mapping[str, Any]) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(GuildSettingValue).values(
        [{"guild_id": guild_id, "key": key, "value": value} for key, value in values.items()]
    )
    return statement.on_conflict_do_update(
        index_elements=["guild_id", "key"], set_={"value": statement.excluded.value}
    )
