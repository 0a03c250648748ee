import pytest
from sqlalchemy import func, select

from bot.database import Database
from bot.guild_access import GuildAccess
from bot.guild_settings import (
    GuildSettingsRegistry,
    GuildSettingsStore,
    SettingsFormError,
    SettingSpec,
    SettingValueError,
)
from bot.models import AuditEntry, GuildSettingValue

GUILD = 301234567890123456
ADMIN = 123456789012345678


def make_registry() -> GuildSettingsRegistry:
    registry = GuildSettingsRegistry()
    registry.register(
        "monitoring",
        SettingSpec("interval", "Interval", "int", 60, min=10, max=3600),
        SettingSpec("alerts", "Alerts", "bool", True),
        SettingSpec("units", "Units", "choice", "metric", choices=("metric", "imperial")),
        SettingSpec("alert_channel", "Alert channel", "channel", None),
        SettingSpec("title", "Title", "str", "Status", max=20),
    )
    return registry


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("interval", "abc", "must be a whole number"),
        ("interval", "5", "must be at least 10"),
        ("units", "kelvin", "must be one of: metric, imperial"),
        ("alert_channel", "general", "must be a channel id"),
        ("title", "x" * 21, "at most 20 characters"),
        ("alerts", "perhaps", "must be on or off"),
        ("interval", "١٢٠", "must be a whole number"),  # int() takes Arabic-Indic digits
        ("interval", "1_00", "must be a whole number"),
        ("interval", "9" * 5000, "must be a whole number"),  # int() raised past 4300 digits
        ("alert_channel", "²" * 17, "must be a channel id"),  # isdigit() yes, int() no: a 500
        ("alert_channel", "1" * 20, "must be a channel id"),  # above the database's BIGINT
        ("alert_channel", str(2**63), "must be a channel id"),
    ],
)
def test_bad_values_are_refused_naming_the_field(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingValueError) as info:
        make_registry().validate(name, raw)
    assert info.value.field == name and message in info.value.message


def test_good_values_are_typed() -> None:
    registry = make_registry()
    assert registry.validate("interval", " 120 ") == 120
    assert registry.validate("alert_channel", f" {GUILD} ") == GUILD
    assert registry.validate("alert_channel", "") is None


def test_two_cogs_cannot_claim_one_setting() -> None:
    registry = make_registry()
    with pytest.raises(ValueError, match="already registered by monitoring"):
        registry.register("dashboards", SettingSpec("interval", "I", "int", 1))


@pytest.mark.backend
async def test_update_saves_all_or_nothing(migrated_db: Database) -> None:
    await GuildAccess(migrated_db, auto_approve=True).joined(GUILD, "Homelab")
    store = GuildSettingsStore(migrated_db, make_registry())
    assert (await store.get_all(GUILD))["interval"] == 60

    good = {
        "interval": "120",
        "alerts": "on",
        "units": "imperial",
        "alert_channel": "",
        "title": "Lab",
    }
    await store.update(GUILD, good, ADMIN)
    values = await store.get_all(GUILD)
    assert values == {
        "interval": 120,
        "alerts": True,
        "units": "imperial",
        "alert_channel": None,
        "title": "Lab",
    }

    with pytest.raises(SettingsFormError) as info:
        await store.update(GUILD, {**good, "interval": "1", "units": "x", "title": "ok"}, ADMIN)
    assert set(info.value.errors) == {"interval", "units"}
    assert (await store.get_all(GUILD))["title"] == "Lab"  # nothing half-applied

    async with migrated_db.session() as session:
        audits = await session.scalar(select(func.count()).select_from(AuditEntry))
        rows = await session.scalar(select(func.count()).select_from(GuildSettingValue))
    assert (audits, rows) == (1, 5)


@pytest.mark.backend
async def test_concurrent_first_saves_do_not_collide(migrated_db: Database) -> None:
    import asyncio

    await GuildAccess(migrated_db, auto_approve=True).joined(GUILD, "Homelab")
    store = GuildSettingsStore(migrated_db, make_registry())
    form = {"interval": "120", "alerts": "on", "units": "metric", "alert_channel": "", "title": "A"}
    results = await asyncio.gather(
        *(store.update(GUILD, {**form, "title": f"T{i}"}, ADMIN) for i in range(4)),
        return_exceptions=True,
    )
    assert [type(r) for r in results] == [dict] * 4
    assert (await store.get_all(GUILD))["title"] in {"T0", "T1", "T2", "T3"}
