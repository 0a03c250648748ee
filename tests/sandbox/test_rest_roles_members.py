"""Roles (hierarchy, 250 limit) and member role changes."""

from __future__ import annotations

from sandbox import permissions as perm
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient


async def test_create_edit_delete_role_dispatches(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    mark = len(sandbox.dispatches)
    status, role, _ = await api.request(
        "POST", f"/guilds/{demo.id}/roles", {"name": "Helper", "permissions": "0", "hoist": True}
    )
    assert status == 200 and role["name"] == "Helper" and role["position"] == 1
    await sandbox.wait_for_dispatch("GUILD_ROLE_CREATE", since=mark)
    status, edited, _ = await api.request(
        "PATCH", f"/guilds/{demo.id}/roles/{role['id']}", {"name": "Helpers"}
    )
    assert status == 200 and edited["name"] == "Helpers"
    status, _, _ = await api.request("DELETE", f"/guilds/{demo.id}/roles/{role['id']}")
    assert status == 204
    deleted = await sandbox.wait_for_dispatch("GUILD_ROLE_DELETE", since=mark)
    assert deleted["data"]["role_id"] == role["id"]


async def test_role_hierarchy_and_missing_manage_roles(
    api: RestClient, sandbox: SandboxServer
) -> None:
    guild = sandbox.add_guild("Hier", bot_permissions=["manage_roles", "view_channel"])
    bot_role = guild.role(sandbox.bot_user.username)
    high = sandbox.add_role(guild, "High", position=bot_role.position + 1)
    status, body, _ = await api.request(
        "PATCH", f"/guilds/{guild.id}/roles/{high.id}", {"name": "x"}
    )
    assert (status, body["code"]) == (403, 50013)
    status, _, _ = await api.request(
        "POST",
        f"/guilds/{guild.id}/roles",
        {"name": "admin", "permissions": str(perm.ADMINISTRATOR)},
    )
    assert status == 403  # cannot grant what it does not have
    plain = sandbox.add_guild("Plain", bot_permissions=["view_channel"])
    status, body, _ = await api.request("POST", f"/guilds/{plain.id}/roles", {"name": "r"})
    assert (status, body["code"]) == (403, 50013)


async def test_250_roles_is_30005(api: RestClient, sandbox: SandboxServer, demo: Guild) -> None:
    while len(demo.roles) < 250:
        sandbox.add_role(demo, f"r{len(demo.roles)}", emit=False)
    status, body, _ = await api.request("POST", f"/guilds/{demo.id}/roles", {"name": "one more"})
    assert (status, body["code"]) == (400, 30005)


async def test_creating_a_role_moves_no_other_role(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    before = {r.id: r.position for r in demo.roles.values()}
    mark = len(sandbox.dispatches)
    status, role, _ = await api.request("POST", f"/guilds/{demo.id}/roles", {"name": "New"})
    assert status == 200 and role["position"] == 1
    await sandbox.wait_for_dispatch("GUILD_ROLE_CREATE", since=mark)
    assert {r.id: r.position for r in demo.roles.values() if r.id in before} == before
    assert [d["event"] for d in sandbox.dispatches[mark:]] == ["GUILD_ROLE_CREATE"]
    # what REST lists is what a client's cache holds: the old positions plus the new role
    status, listed, _ = await api.request("GET", f"/guilds/{demo.id}/roles")
    assert {int(r["id"]): r["position"] for r in listed} == {**before, int(role["id"]): 1}


async def test_reorder_dispatches_an_update_for_every_role_it_moves(
    api: RestClient, sandbox: SandboxServer
) -> None:
    guild = sandbox.add_guild("Order", bot_role_position=4)
    a = sandbox.add_role(guild, "A", position=1)
    b = sandbox.add_role(guild, "B", position=2)
    c = sandbox.add_role(guild, "C", position=3)
    before = {r.id: r.position for r in guild.roles.values()}
    mark = len(sandbox.dispatches)
    status, listed, _ = await api.request(
        "PATCH", f"/guilds/{guild.id}/roles", [{"id": str(a.id), "position": 3}]
    )
    assert status == 200
    assert (b.position, c.position, a.position) == (1, 2, 3)
    moved = {rid for rid, pos in before.items() if guild.roles[rid].position != pos}
    assert moved == {a.id, b.id, c.id}
    updates = [d["data"] for d in sandbox.dispatches[mark:] if d["event"] == "GUILD_ROLE_UPDATE"]
    assert {int(u["role"]["id"]) for u in updates} == moved
    assert all(u["role"]["position"] == guild.roles[int(u["role"]["id"])].position for u in updates)
    assert {int(r["id"]): r["position"] for r in listed} == {
        r.id: r.position for r in guild.roles.values()
    }
    assert [r["position"] for r in listed] == sorted(r["position"] for r in listed)


async def test_member_role_add_remove_and_listing(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    carol = demo.member("carol")
    mod = demo.role("Mod")
    mark = len(sandbox.dispatches)
    path = f"/guilds/{demo.id}/members/{carol.user.id}/roles/{mod.id}"
    assert (await api.request("PUT", path))[0] == 204
    assert mod.id in carol.roles
    update = await sandbox.wait_for_dispatch("GUILD_MEMBER_UPDATE", since=mark)
    assert update["data"]["roles"] == [str(mod.id)]
    assert (await api.request("DELETE", path))[0] == 204
    assert mod.id not in carol.roles
    status, member, _ = await api.request("GET", f"/guilds/{demo.id}/members/{carol.user.id}")
    assert status == 200 and member["user"]["username"] == "carol"
    status, members, _ = await api.request("GET", f"/guilds/{demo.id}/members?limit=2")
    assert status == 200 and len(members) == 2
    after = members[-1]["user"]["id"]
    _, rest, _ = await api.request("GET", f"/guilds/{demo.id}/members?limit=1000&after={after}")
    assert len(members) + len(rest) == len(demo.members)
    status, body, _ = await api.request("GET", f"/guilds/{demo.id}/members/1")
    assert (status, body["code"]) == (404, 10007)


async def test_at_the_same_position_the_older_role_is_higher(
    api: RestClient, sandbox: SandboxServer
) -> None:
    """New roles all start at position 1, where the bot's own role may sit too: Discord
    orders such roles by id, the older one higher, so the bot manages the roles it creates
    but not an older role beside its own."""
    from sandbox.state import Role

    guild = sandbox.add_guild("Ties", bot_permissions=["manage_roles", "view_channel"])
    bot_role = guild.role(sandbox.bot_user.username)
    bot_role.position = 1
    status, created, _ = await api.request("POST", f"/guilds/{guild.id}/roles", {"name": "New"})
    assert status == 200 and created["position"] == 1
    status, _, _ = await api.request(
        "PATCH", f"/guilds/{guild.id}/roles/{created['id']}", {"name": "Newer"}
    )
    assert status == 200
    older = Role(id=bot_role.id - 1, guild_id=guild.id, name="Older", position=1)
    guild.roles[older.id] = older
    status, body, _ = await api.request(
        "PATCH", f"/guilds/{guild.id}/roles/{older.id}", {"name": "x"}
    )
    assert (status, body["code"]) == (403, 50013)


async def test_a_member_edits_a_role_with_the_rights_the_call_needs(
    sandbox: SandboxServer,
) -> None:
    """`edit_role_as`, as Discord's client does it: Manage Roles and a role above the edited
    one (the owner is above all), only permissions the member holds; then
    GUILD_ROLE_UPDATE, as for the bot's own edits."""
    import pytest

    from sandbox.errors import ApiError

    owner, mod, plain = (sandbox.add_user(name) for name in ("rowner", "rmod", "rplain"))
    guild = sandbox.add_guild("Roles", owner=owner)
    member_role = sandbox.add_role(guild, "Member", position=1)
    mod_role = sandbox.add_role(
        guild, "Mod", permissions=perm.PERMISSION_BITS["manage_roles"], position=2
    )
    sandbox.add_member(guild, mod, roles=[mod_role])
    sandbox.add_member(guild, plain, roles=[member_role])
    for who, role in (("rplain", member_role), ("rmod", mod_role)):  # no right; not above
        with pytest.raises(ApiError) as refused:
            sandbox.edit_role_as(who, role, name="nope")
        assert refused.value.code == 50013 and role.name != "nope"
    with pytest.raises(ApiError):  # a permission the moderator does not hold
        sandbox.edit_role_as("rmod", member_role, permissions=str(perm.ADMINISTRATOR))
    mark = len(sandbox.dispatches)
    sandbox.edit_role_as("rmod", member_role, name="Regulars", hoist=True)
    updated = await sandbox.wait_for_dispatch("GUILD_ROLE_UPDATE", since=mark)
    assert updated["data"]["role"]["name"] == "Regulars" and updated["data"]["role"]["hoist"]
    sandbox.edit_role_as("rowner", mod_role, name="Moderators")  # the owner is above all
    assert guild.role("Moderators") is mod_role and member_role.permissions == 0
    newest, older = sandbox.audit_logs[guild.id][:2]  # as Discord logs them: ROLE_UPDATE
    assert (newest["action_type"], newest["user_id"]) == (31, str(owner.id))
    assert newest["changes"] == [{"key": "name", "old_value": "Mod", "new_value": "Moderators"}]
    assert older["target_id"] == str(member_role.id) and older["user_id"] == str(mod.id)
    assert {c["key"] for c in older["changes"]} == {"name", "hoist"}
