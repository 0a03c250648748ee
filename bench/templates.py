"""Template apply benchmark against the sandbox with its Discord-like rate limits on.

Templates of 20, 100 and 400 channels (with roles and overwrites) are applied to (a) an
empty server and (b) the same server again, which then already matches. Beside them, in
the same run and through the same REST client, two simple methods a bot could use instead
(each row says exactly what it does; neither is a claim about any particular project):

- **delete + recreate**: delete every channel and role, then create each role, each
  category and each channel with one request, and set each permission overwrite with one
  more request (PUT /channels/{id}/permissions/{id}) after its channel exists;
- **create missing**: the strongest simple alternative: read the server, create only the
  roles, categories and channels whose name is missing (overwrites inside the create call),
  change nothing that exists (so drift stays), and send no bulk reorder (order follows
  creation).

For each row: write requests made beside the minimum (one create per missing object plus
the bulk reorder; 0 when nothing is missing), the 429s, the wall time beside the lower
bound that the sandbox's buckets allow for the requests made (global 50/s and the
per-route windows), and whether the server then matches the template (roles, channels,
overwrites and order, compared as a snapshot). Target (c) drifts both servers by hand
first: one channel renamed, one dragged out of its category, one overwrite removed.
Discord allows 500 channel creations per server per day (the sandbox enforces it), so
delete + recreate runs on a third server, loaded with the template's structure.

Run: ``python bench/templates.py [--sizes 20 100 400]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from nextcord.http import HTTPClient, Route  # noqa: E402

from bot.database import Database  # noqa: E402
from bot.discord_http import CorrectedHTTPClient  # noqa: E402
from cogs.templates.document import (  # noqa: E402
    CHANNEL_TYPES,
    ChannelSpec,
    Template,
    load_document,
)
from cogs.templates.plan import ApplyOptions  # noqa: E402
from cogs.templates.planning.model import OPERATOR  # noqa: E402
from cogs.templates.service import TemplateService  # noqa: E402
from cogs.templates.snapshot import snapshot  # noqa: E402
from sandbox.client import point_nextcord_at, restore_nextcord  # noqa: E402
from sandbox.ratelimit import major_id_of  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

ROLES = ["Admin", "Moderator", "Helper", "Member", "Guest", "Bots", "Events", "Muted"]


def make_template(size: int) -> dict[str, Any]:
    """`size` channels: categories of 9 channels each (7 text, 2 voice); every third
    category private to Moderator, others with a per-channel overwrite here and there."""
    categories = max(1, size // 10)
    per = size // categories - 1
    channels = []
    for c in range(categories):
        private = c % 3 == 0
        children = []
        for i in range(per):
            voice = i >= per - 2
            node: dict[str, Any] = {
                "name": f"room-{c}-{i}" if not voice else f"Voice {c}-{i}",
                "type": "voice" if voice else "text",
            }
            if private:
                node["sync"] = True
            elif i % 4 == 1:
                node["overwrites"] = [{"role": "Muted", "deny": ["send_messages", "speak"]}]
            children.append(node)
        category: dict[str, Any] = {"name": f"Area {c}", "type": "category", "channels": children}
        if private:
            category["overwrites"] = [
                {"role": "@everyone", "deny": ["view_channel"]},
                {"role": "Moderator", "allow": ["view_channel"]},
            ]
        channels.append(category)
    roles = [
        {"name": name, "permissions": ["manage_messages"] if name == "Moderator" else []}
        for name in ROLES
    ]
    return {"version": 2, "name": f"bench-{size}", "roles": roles, "channels": channels}


@dataclass
class Row:
    template: str
    method: str
    target: str
    writes: int
    minimum: int
    reads: int
    limited: int
    wall: float
    bound: float
    matches: bool


def lower_bound(server: SandboxServer, calls: list[dict[str, Any]]) -> float:
    """Seconds the sandbox's fixed windows force on these requests, sent back to back."""
    limiter = server.limiter
    assert limiter is not None
    served = [c for c in calls if c["status"] != 429]
    bound = (math.ceil(len(served) / limiter.global_per_second) - 1) * 1.0
    buckets: Counter[tuple[str, str]] = Counter()
    for call in served:
        key = f"{call['method']} {call['route']}"
        if key in limiter.limits:
            params = dict(zip(call["route"].split("/"), call["path"].split("/"), strict=False))
            named = {k.strip("{}"): v for k, v in params.items() if k.startswith("{")}
            buckets[(key, major_id_of(named))] += 1
    for (key, _), count in buckets.items():
        limit = limiter.limits[key]
        bound = max(bound, (math.ceil(count / limit.limit) - 1) * limit.per)
    return max(bound, 0.0)


def shape(template: Template) -> Any:
    """What a template fixes, order included: roles top-down with their permissions, and
    each channel's name, type and effective overwrites (a synced channel's are its
    category's), in document order. Properties left at Discord's defaults are ignored."""

    def overwrites(node: ChannelSpec) -> list[tuple[Any, ...]]:
        source = (
            node.parent.overwrites if node.sync and node.parent is not None else node.overwrites
        )
        return sorted((ow.role, ow.member, ow.allow, ow.deny) for ow in source)

    def channel(node: ChannelSpec) -> Any:
        return (node.name, node.type, overwrites(node), [channel(c) for c in node.children])

    return (
        [(role.name, role.permissions) for role in template.roles],
        [channel(node) for node in template.channels],
    )


async def matches(service: TemplateService, guild_id: int, template: Template) -> bool:
    """Whether the server now has the template's roles, channels, overwrites and order."""
    live = snapshot(await service.api(guild_id).fetch(), template.name)
    return shape(live) == shape(template)


async def measure(
    server: SandboxServer,
    service: TemplateService,
    template: Template,
    guild_id: int,
    label: str,
    method: str,
    target: str,
    minimum: int,
    work: Callable[[], Awaitable[None]],
) -> Row:
    # Start in a fresh global window, so the previous row's last requests do not count here.
    await asyncio.sleep(1.1)
    mark = server.mark()
    started = time.perf_counter()
    await work()
    wall = time.perf_counter() - started
    calls = server.calls[mark:]
    writes = [c for c in calls if c["method"] != "GET" and c["status"] != 429]
    for call in calls:
        if call["status"] == 429 and "--verbose" in sys.argv:
            print("429:", call["method"], call["route"], call["response"], file=sys.stderr)
    matched = await matches(service, guild_id, template)
    return Row(
        label,
        method,
        target,
        len(writes),
        minimum,
        sum(1 for c in calls if c["method"] == "GET" and c["status"] != 429),
        sum(1 for c in calls if c["status"] == 429),
        wall,
        lower_bound(server, calls),
        matched,
    )


async def apply(service: TemplateService, guild_id: int, template: Template) -> None:
    prepared = await service.prepare(
        guild_id, f"bench:{template.name}", template, ApplyOptions(), actor_id=OPERATOR
    )
    if prepared.refused:
        raise RuntimeError(prepared.refused)
    if prepared.plan.empty:
        return
    await service.start(prepared, OPERATOR)
    status = await service.tasks[guild_id]
    if status != "done":
        raise RuntimeError(f"apply ended {status}")


async def naive(http: HTTPClient, guild_id: int, template: Template) -> None:
    """Delete every channel and role, then one request per object and one per overwrite."""

    async def send(method: str, path: str, json: Any = None, **params: Any) -> Any:
        route = Route(method, path, guild_id=guild_id, **params)
        return await (http.request(route, json=json) if json is not None else http.request(route))

    for channel in await send("GET", "/guilds/{guild_id}/channels"):
        await send("DELETE", "/channels/{channel_id}", channel_id=channel["id"])
    roles = await send("GET", "/guilds/{guild_id}/roles")
    for role in roles:
        if not role.get("managed") and role["id"] != str(guild_id):
            await send("DELETE", "/guilds/{guild_id}/roles/{role_id}", role_id=role["id"])
    role_ids = {"@everyone": str(guild_id)}
    for role in template.roles:
        made = await send(
            "POST",
            "/guilds/{guild_id}/roles",
            {"name": role.name, "permissions": str(role.permissions)},
        )
        role_ids[role.name] = made["id"]
    for category in template.channels:
        made = await send(
            "POST",
            "/guilds/{guild_id}/channels",
            {"name": category.name, "type": CHANNEL_TYPES[category.type]},
        )
        for ow in category.overwrites:
            await send(
                "PUT",
                "/channels/{channel_id}/permissions/{overwrite_id}",
                {"type": 0, "allow": str(ow.allow), "deny": str(ow.deny)},
                channel_id=made["id"],
                overwrite_id=role_ids[ow.role or ""],
            )
        for child in category.children:
            created = await send(
                "POST",
                "/guilds/{guild_id}/channels",
                {"name": child.name, "type": CHANNEL_TYPES[child.type], "parent_id": made["id"]},
            )
            for ow in category.overwrites if child.sync else child.overwrites:
                await send(
                    "PUT",
                    "/channels/{channel_id}/permissions/{overwrite_id}",
                    {"type": 0, "allow": str(ow.allow), "deny": str(ow.deny)},
                    channel_id=created["id"],
                    overwrite_id=role_ids[ow.role or ""],
                )


def _overwrites(
    node: ChannelSpec, parent: ChannelSpec | None, role_ids: dict[str, str]
) -> list[dict[str, Any]]:
    source = parent.overwrites if node.sync and parent is not None else node.overwrites
    return [
        {"id": role_ids[ow.role or ""], "type": 0, "allow": str(ow.allow), "deny": str(ow.deny)}
        for ow in source
    ]


async def create_missing(http: HTTPClient, guild_id: int, template: Template) -> None:
    """Read the server; create only the roles and channels whose name is missing, each with
    its overwrites in the create call; change nothing that exists; no bulk reorder."""

    async def send(method: str, path: str, json: Any = None) -> Any:
        route = Route(method, path, guild_id=guild_id)
        return await (http.request(route, json=json) if json is not None else http.request(route))

    live_roles = await send("GET", "/guilds/{guild_id}/roles")
    live_channels = await send("GET", "/guilds/{guild_id}/channels")
    role_ids = {role["name"]: role["id"] for role in live_roles}
    role_ids["@everyone"] = str(guild_id)
    for role in template.roles:
        if role.name not in role_ids:
            made = await send(
                "POST",
                "/guilds/{guild_id}/roles",
                {"name": role.name, "permissions": str(role.permissions)},
            )
            role_ids[role.name] = made["id"]
    existing = {(c["name"].lower(), c["type"], c.get("parent_id")): c["id"] for c in live_channels}

    async def ensure(node: ChannelSpec, parent: ChannelSpec | None, parent_id: str | None) -> str:
        key = (node.name.lower(), CHANNEL_TYPES[node.type], parent_id)
        if key not in existing:
            body: dict[str, Any] = {
                "name": node.name,
                "type": CHANNEL_TYPES[node.type],
                "permission_overwrites": _overwrites(node, parent, role_ids),
            }
            if parent_id is not None:
                body["parent_id"] = parent_id
            existing[key] = (await send("POST", "/guilds/{guild_id}/channels", body))["id"]
        return existing[key]

    for node in template.channels:
        made = await ensure(node, None, None)
        for child in node.children:
            await ensure(child, node, made)


DRIFTED = "(c) drifted: 1 renamed, 1 moved out, 1 overwrite removed"


def drift(server: SandboxServer, guild_id: int) -> None:
    """What people do by hand between two applies: rename a channel, drag one out of its
    category, and remove an overwrite (the minimum to repair it: 3 edits)."""
    guild = server.state.guilds[guild_id]
    by_name = {c.name: c for c in guild.channels.values()}
    by_name["room-1-0"].name = "renamed-by-hand"
    by_name["room-1-2"].parent_id = None
    by_name["room-1-1"].overwrites.clear()


def matching_guild(server: SandboxServer, name: str, template: Template) -> int:
    """A server loaded with the template's structure (loading creates nothing, so this
    server's 500 channel creations of the day are all still there)."""

    def overwrites(node: ChannelSpec) -> dict[str, Any]:
        source = node.parent.overwrites if node.sync and node.parent else node.overwrites
        return {ow.role: {"allow": ow.allow, "deny": ow.deny} for ow in source if ow.role}

    owner = f"owner-{name}".replace(" ", "-").lower()
    guild = {
        "name": name,
        "owner": owner,
        "members": [{"name": owner}],
        "roles": [{"name": r.name, "permissions": r.permissions} for r in template.roles],
        "categories": [
            {
                "name": category.name,
                "overwrites": overwrites(category),
                "channels": [
                    {"name": c.name, "type": c.type, "overwrites": overwrites(c)}
                    for c in category.children
                ],
            }
            for category in template.channels
        ],
    }
    return server.load({"guilds": [guild]})[0].id


def empty_guild(server: SandboxServer, name: str) -> int:
    owner = f"owner-{name}".replace(" ", "-").lower()
    return server.load({"guilds": [{"name": name, "owner": owner, "members": [{"name": owner}]}]})[
        0
    ].id


async def main(sizes: list[int]) -> list[Row]:
    server = SandboxServer(spec_path=None)  # rate limits on, as Discord's
    await server.start()
    point_nextcord_at(server)
    folder = tempfile.TemporaryDirectory()
    db = await Database.connect(f"sqlite+aiosqlite:///{folder.name}/bench.db")
    await db.upgrade()
    # The bot's REST client, as in production (nextcord's limiter corrected per channel);
    # the naive baseline runs through the same client, so the rows differ by the method only.
    http = CorrectedHTTPClient(dispatch=lambda *_a, **_k: None)
    rows: list[Row] = []
    try:
        me = await http.static_login(f"Bot {server.token}")
        service = TemplateService(db, http, lambda: int(me["id"]))
        for size in sizes:
            template = load_document(make_template(size))
            objects = template.count() + len(template.roles)
            label = f"{size} channels, {len(template.roles)} roles"

            async def row(
                guild_id: int,
                method: str,
                target: str,
                minimum: int,
                work: Any,
                tpl: Template = template,
                name: str = label,
            ) -> None:
                rows.append(
                    await measure(
                        server, service, tpl, guild_id, name, method, target, minimum, work
                    )
                )

            ours = empty_guild(server, f"Bench {size}")
            theirs = empty_guild(server, f"Bench {size} create-missing")
            for target, minimum in (("(a) empty server", objects + 1), ("(b) already matching", 0)):
                await row(
                    ours, FOUNDRY, target, minimum, lambda g=ours, t=template: apply(service, g, t)
                )
                await row(
                    theirs,
                    CREATE_MISSING,
                    target,
                    minimum,
                    lambda g=theirs, t=template: create_missing(http, g, t),
                )
            for guild_id in (ours, theirs):
                drift(server, guild_id)
            await row(ours, FOUNDRY, DRIFTED, 3, lambda g=ours, t=template: apply(service, g, t))
            await row(
                theirs,
                CREATE_MISSING,
                DRIFTED,
                3,
                lambda g=theirs, t=template: create_missing(http, g, t),
            )
            # Discord (and the sandbox) allow 500 channel creations per server per day, which
            # the applies above used much of: delete + recreate runs on a server of its own.
            loaded = matching_guild(server, f"Bench {size} delete-recreate", template)
            await row(
                loaded,
                DELETE_RECREATE,
                "(b) already matching",
                0,
                lambda g=loaded, t=template: naive(http, g, t),
            )
    finally:
        await http.close()
        await db.dispose()
        await server.stop()
        restore_nextcord()
        folder.cleanup()
    return rows


FOUNDRY = "FoundryCord apply (plan, then only the needed writes; one bulk reorder)"
CREATE_MISSING = "create missing (by name; overwrites in the create; no edits, no reorder)"
DELETE_RECREATE = "delete + recreate (all deleted; 1 request per object and per overwrite)"


async def drift_rows(size: int, quiet_s: float) -> list[tuple[str, str, str, str]]:
    """Drift detection on a `size`-channel server with the real bot: the time from one
    member's change (a gateway event) to the report, and the REST reads made; a storm of 50
    changes; beside it, in the same run, a compare on a timer (what running `plan` on a
    schedule costs: every compare reads the whole server, changed or not)."""
    import dataclasses

    from bot.runtime import BotProcess
    from bot.settings import load_settings

    server = SandboxServer(spec_path=None)
    await server.start()
    point_nextcord_at(server)
    template = load_document(make_template(size))
    guild_id = matching_guild(server, f"Drift {size}", template)
    guild = server.state.guilds[guild_id]
    owner = guild.owner_id
    channels = sorted(guild.channels.values(), key=lambda c: c.id)
    report_channel = next(c for c in channels if c.type == 0)
    folder = tempfile.TemporaryDirectory()
    settings = dataclasses.replace(
        load_settings(environ={}, env_file=None),
        data_dir=Path(folder.name),
        database_url=f"sqlite+aiosqlite:///{folder.name}/bot.db",
        web_enabled=False,
        auto_approve=True,
        owner_ids=frozenset({owner}),
        features=frozenset({"templates"}),
    )
    process = BotProcess(settings, server.token, migrate_in_process=True)
    out: list[tuple[str, str, str, str]] = []
    try:
        await process.start()
        await process.wait_ready(30)
        cog = process.bot.get_cog("TemplatesCog")
        cog.drift.quiet_s = quiet_s
        await cog.service.save_snapshot(guild_id, "pinned", owner)
        found, plan, _ = await cog._compare(guild_id, "pinned")
        await cog.service.store.merge_id_map(found.ref, guild_id, dict(plan.matches))
        await cog.pins.pin(guild_id, "pinned", report_channel.id, owner)
        cog.drift.pinned.add(guild_id)
        await asyncio.sleep(0.5)

        def report_calls(mark: int) -> list[dict[str, Any]]:
            return [
                c
                for c in server.calls[mark:]
                if c["method"] in ("POST", "PATCH")
                and c["route"].startswith("/channels/{channel_id}/messages")
                and c["status"] < 300
            ]

        async def change(count: int) -> tuple[float, list[dict[str, Any]], int]:
            mark = server.mark()
            started = time.perf_counter()
            target = next(c for c in channels if c.type == 0 and c.id != report_channel.id)
            for index in range(count):
                server.edit_channel_as(owner, target, topic=f"changed by hand {index}")
            while not report_calls(mark):  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            wall = time.perf_counter() - started
            await asyncio.sleep(quiet_s + 0.5)  # nothing more may follow
            return wall, server.calls[mark:], len(report_calls(mark))

        def reads(calls: list[dict[str, Any]]) -> str:
            gets = Counter(c["route"] for c in calls if c["method"] == "GET")
            return f"{sum(gets.values())} ({', '.join(f'{n}× {r}' for r, n in gets.items())})"

        wall, calls, posted = await change(1)
        out.append(
            (
                f"FoundryCord: gateway events, compare {quiet_s:g} s after the last change",
                "1 channel changed by a member",
                f"{wall:.2f} s (of which the quiet time {quiet_s:g} s); {posted} report",
                reads(calls),
            )
        )
        await cog._close_report(await cog.pins.get(guild_id), "bench")
        await cog.service.store.merge_id_map(found.ref, guild_id, {})
        wall, calls, posted = await change(50)
        out.append(
            (
                "FoundryCord, a storm",
                "50 changes to a channel in a row",
                f"{wall:.2f} s to the report; {posted} report message(s) in all",
                reads(calls),
            )
        )
        mark = server.mark()
        started = time.perf_counter()
        await cog._compare(guild_id, "pinned")
        once = time.perf_counter() - started
        per = len([c for c in server.calls[mark:] if c["method"] == "GET"])
        out.append(
            (
                "Baseline: compare on a 60 s timer (`plan` on a schedule)",
                "any change; and none",
                f"{30 + once:.2f} s on average (half the period, plus {once:.2f} s a compare)",
                f"{per} per compare, {per * 60} an hour with no change at all (ours: 0)",
            )
        )
    finally:
        await process.stop()
        await server.stop()
        restore_nextcord()
        folder.cleanup()
    return out


def drift_table(rows: list[tuple[str, str, str, str]], size: int) -> str:
    lines = [
        f"\nDrift detection on the {size}-channel server (real bot, sandbox with rate limits)\n",
        "| method | change | event to report | REST reads |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    lines = [
        "| template | method | target | write requests | minimum | reads | 429s | wall time "
        "| lower bound | matches template |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.template} | {r.method} | {r.target} | {r.writes} | {r.minimum} | {r.reads} "
            f"| {r.limited} | {r.wall:.2f} s | {r.bound:.2f} s | {'yes' if r.matches else 'no'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 400])
    parser.add_argument("--verbose", action="store_true", help="print each 429 to stderr")
    parser.add_argument("--drift-size", type=int, default=400)
    parser.add_argument("--drift-quiet", type=float, default=5.0, help="the quiet time, s")
    parser.add_argument("--skip-apply", action="store_true", help="only the drift rows")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not options.skip_apply:
        print(table(asyncio.run(main(options.sizes))))
    drift = asyncio.run(drift_rows(options.drift_size, options.drift_quiet))
    print(drift_table(drift, options.drift_size))
