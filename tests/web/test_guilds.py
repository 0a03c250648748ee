"""The server list, owner approval, and the per-guild settings form."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.models import AuditEntry, GuildSettingValue
from tests.web.conftest import (
    ADMIN_ID,
    GUILD_ID,
    MEMBER_ID,
    OTHER_GUILD_ID,
    OWNER_ID,
    PENDING_GUILD_ID,
    FakeLive,
    csrf_token,
    sign_in,
)
from web.context import WebContext

SETTINGS = f"/guilds/{GUILD_ID}/settings"
GOOD_FORM = {
    "welcome_enabled": "true",
    "max_channels": "120",
    "prefix": "?",
    "theme": "light",
    "log_channel": "700000000000000007",
}


async def _stored(ctx: WebContext) -> dict[str, object]:
    async with ctx.db.session() as session:
        rows = await session.scalars(
            select(GuildSettingValue).where(GuildSettingValue.guild_id == GUILD_ID)
        )
        return {row.key: row.value for row in rows}


async def _audit(ctx: WebContext, action: str) -> list[AuditEntry]:
    async with ctx.db.session() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_list_shows_only_approved_guilds_the_user_manages(
    client: TestClient, ctx: WebContext
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    text = await (await client.get("/guilds")).text()
    assert "Forge Guild" in text
    assert "Other Place" not in text  # approved, but no Manage Server there
    assert "Waiting Room" not in text  # manages it, but it is pending
    assert "/approve" not in text


async def test_owner_sees_pending_guilds_with_buttons(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, OWNER_ID)
    text = await (await client.get("/guilds")).text()
    assert "Waiting Room" in text
    assert f"/guilds/{PENDING_GUILD_ID}/approve" in text
    assert f"/guilds/{PENDING_GUILD_ID}/reject" in text


async def test_owner_approves_pending_guild(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(
        f"/guilds/{PENDING_GUILD_ID}/approve", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "approved"
    entries = await _audit(ctx, "guild.approved")
    assert any(e.guild_id == PENDING_GUILD_ID and e.actor_id == OWNER_ID for e in entries)
    assert "Approved Waiting Room" in await (await client.get("/guilds")).text()


async def test_owner_rejects_pending_guild_and_bot_leaves(
    client: TestClient, ctx: WebContext, left_guilds: list[int]
) -> None:
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(
        f"/guilds/{PENDING_GUILD_ID}/reject", headers={"X-CSRF-Token": token}, allow_redirects=False
    )
    assert response.status == 303
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "rejected"
    assert left_guilds == [PENDING_GUILD_ID]


async def test_approving_twice_says_already_decided(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(f"/guilds/{GUILD_ID}/approve", data={"csrf_token": token})
    assert response.status == 409
    assert "already approved" in await response.text()


async def test_non_owner_cannot_approve(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    token = await csrf_token(client)
    response = await client.post(f"/guilds/{PENDING_GUILD_ID}/approve", data={"csrf_token": token})
    assert response.status == 403
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "pending"


async def test_settings_form_shows_every_registered_field(
    client: TestClient, ctx: WebContext
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    response = await client.get(SETTINGS)
    text = await response.text()
    assert response.status == 200
    for label in ("Welcome messages", "Channel limit", "Command prefix", "Dashboard theme"):
        assert label in text
    assert 'value="50"' in text  # the default


async def test_good_values_are_saved_with_an_audit_entry(
    client: TestClient, ctx: WebContext
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    token = await csrf_token(client, SETTINGS)
    form = [("csrf_token", token), ("welcome_enabled", "false")]
    form += list(GOOD_FORM.items())
    response = await client.post(SETTINGS, data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert await _stored(ctx) == {
        "welcome_enabled": True,
        "max_channels": 120,
        "prefix": "?",
        "theme": "light",
        "log_channel": 700000000000000007,
    }
    [entry] = await _audit(ctx, "settings.update")
    assert entry.guild_id == GUILD_ID and entry.actor_id == ADMIN_ID
    page = await (await client.get(SETTINGS)).text()
    assert "Settings saved." in page and 'value="120"' in page


async def test_unticked_checkbox_saves_false(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    token = await csrf_token(client, SETTINGS)
    form = {**GOOD_FORM, "csrf_token": token}
    form.pop("welcome_enabled")
    response = await client.post(SETTINGS, data=form, allow_redirects=False)
    assert response.status == 303
    assert (await _stored(ctx))["welcome_enabled"] is False


async def test_bad_value_is_refused_naming_the_field_and_nothing_saved(
    client: TestClient, ctx: WebContext
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    token = await csrf_token(client, SETTINGS)
    form = {**GOOD_FORM, "max_channels": "9000", "csrf_token": token}
    response = await client.post(SETTINGS, data=form)
    text = await response.text()
    assert response.status == 400
    assert 'data-testid="error-max_channels"' in text
    assert "Channel limit must be at most 500." in text
    assert 'value="9000"' in text  # the user's input is kept for correction
    assert "Nothing was saved" in text
    assert await _stored(ctx) == {}
    assert await _audit(ctx, "settings.update") == []


async def test_user_without_manage_server_is_refused(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, MEMBER_ID)
    assert (await client.get(SETTINGS)).status == 403
    token = await csrf_token(client)
    response = await client.post(SETTINGS, data={**GOOD_FORM, "csrf_token": token})
    assert response.status == 403
    assert "Manage Server" in await response.text()
    assert await _stored(ctx) == {}


async def test_user_who_loses_permission_before_submitting_is_refused(
    client: TestClient, ctx: WebContext, live: FakeLive
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    token = await csrf_token(client, SETTINGS)
    live.managers.discard((GUILD_ID, ADMIN_ID))
    response = await client.post(SETTINGS, data={**GOOD_FORM, "csrf_token": token})
    assert response.status == 403
    assert await _stored(ctx) == {}


async def test_pending_guild_settings_are_closed(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    response = await client.get(f"/guilds/{PENDING_GUILD_ID}/settings")
    assert response.status == 403
    assert "waiting for a bot owner" in await response.text()


async def test_unknown_guild_is_not_found(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    assert (await client.get("/guilds/123456789012345678/settings")).status == 404
    assert (await client.get("/guilds/abc/settings")).status == 404


async def test_other_guilds_settings_are_refused(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    assert (await client.get(f"/guilds/{OTHER_GUILD_ID}/settings")).status == 403


async def test_owner_sees_left_servers_apart_and_they_leave_the_other_lists(
    client: TestClient, ctx: WebContext
) -> None:
    await ctx.guild_access.left(PENDING_GUILD_ID)
    await ctx.guild_access.left(GUILD_ID)
    await sign_in(client, ctx, OWNER_ID)
    text = await (await client.get("/guilds")).text()
    yours, _, rest = text.partition("Waiting for approval")
    pending, _, left = rest.partition('data-testid="left-list"')
    assert "Forge Guild" not in yours  # the bot is not in it: nothing to manage there
    assert "Waiting Room" not in pending and "No server is waiting for approval" in pending
    assert "Forge Guild" in left and "Waiting Room" in left and "was approved" in left
    assert "data deleted after" in left  # LEFT_GUILD_RETENTION_DAYS defaults to 30
    assert f"/guilds/{PENDING_GUILD_ID}/approve" not in text


async def test_deciding_a_left_server_is_refused(client: TestClient, ctx: WebContext) -> None:
    await ctx.guild_access.left(PENDING_GUILD_ID)
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(f"/guilds/{PENDING_GUILD_ID}/approve", data={"csrf_token": token})
    assert response.status == 409
    assert "not in that server any more" in await response.text()
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "pending"


async def test_a_non_owner_does_not_see_left_servers(client: TestClient, ctx: WebContext) -> None:
    await ctx.guild_access.left(OTHER_GUILD_ID)
    await sign_in(client, ctx, MEMBER_ID)
    text = await (await client.get("/guilds")).text()
    assert "Other Place" not in text and "left-list" not in text


async def test_channel_settings_pick_from_this_servers_channels_only(
    client: TestClient, ctx: WebContext, caplog: pytest.LogCaptureFixture
) -> None:
    """A channel setting is a select of the server's own channels; an id of another server
    (issue 15.1), or of nothing, is refused naming the field, and nothing is stored."""
    from tests.web.conftest import GUILD_CHANNEL_ID, OTHER_CHANNEL_ID

    await sign_in(client, ctx, ADMIN_ID)
    page = await (await client.get(SETTINGS)).text()
    assert '<select class="form-select" id="setting-log_channel" name="log_channel">' in page
    assert f'<option value="{GUILD_CHANNEL_ID}" >#general</option>' in page
    assert "#elsewhere" not in page and str(OTHER_CHANNEL_ID) not in page

    token = await csrf_token(client, SETTINGS)
    for foreign in (str(OTHER_CHANNEL_ID), "700000000000009999"):
        form = {**GOOD_FORM, "csrf_token": token, "log_channel": foreign}
        response = await client.post(SETTINGS, data=form, allow_redirects=False)
        assert response.status == 400
        assert "must be a channel of this server" in await response.text()
        assert await _stored(ctx) == {}
    form = {**GOOD_FORM, "csrf_token": token, "log_channel": str(GUILD_CHANNEL_ID)}
    assert (await client.post(SETTINGS, data=form, allow_redirects=False)).status == 303
    assert (await _stored(ctx))["log_channel"] == GUILD_CHANNEL_ID
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
