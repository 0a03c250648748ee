"""Dashboards in the real FoundryCord against the sandbox: create, edit in place, restart,
persistent buttons, a deleted message, 429s, and the preview equal to what was sent."""

from __future__ import annotations

import asyncio

import pytest

from bot.metrics import METRICS_SERVICE
from cogs.dashboards import DASHBOARDS_SERVICE
from cogs.dashboards.dispatch import ACTIONS_SERVICE
from cogs.dashboards.layout import parse_layout
from sandbox.driver import SandboxDriver
from sandbox.state import Message
from tests.cogs.dashboards.fakes import CPU, MEM, FakeActions, FakeMetrics
from tests.foundry import Foundry, approve, eventually

EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
POST = "POST /channels/{channel_id}/messages"


def service(foundry: Foundry):  # type: ignore[no-untyped-def]
    return foundry.bot.services.provided.get(DASHBOARDS_SERVICE)


def calls(foundry: Foundry, route: str, status: int | None = None) -> list[dict]:
    """Calls to `route` in #status, where the dashboards live."""
    method, template = route.split(" ", 1)
    status_channel = str(foundry.guild.channel("status").id)
    return [
        c
        for c in foundry.server.calls
        if c["method"] == method
        and c["route"] == template
        and status_channel in c["path"]
        and (status is None or c["status"] == status)
    ]


async def create(foundry: Foundry, preset: str = "system") -> tuple[SandboxDriver, Message]:
    driver = SandboxDriver(foundry.server, timeout=10)
    await foundry.server.wait_for_command("guild")
    await foundry.server.wait_for_command("dashboard")
    await approve(foundry, driver)
    answer = await driver.member("bob").run(
        "dashboard create", {"preset": preset}, channel="status"
    )
    assert answer.ephemeral and "Dashboard #1" in answer.content
    message = await driver.wait_for_reply("status")
    dash = service(foundry)

    async def stored() -> bool | None:
        record = await dash.store.get(1)
        return True if record is not None and record.message_id == message.id else None

    await eventually(stored, "store the message id")
    return driver, message


def field_values(message: Message) -> dict[str, str]:
    embed = message.embeds[0]
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def edited(foundry: Foundry, driver: SandboxDriver, before: int) -> None:
    await driver.until(
        lambda: True if len(calls(foundry, EDIT)) > before else None, "edit the dashboard"
    )


@pytest.fixture
def metrics(foundry: Foundry) -> FakeMetrics:
    fake = FakeMetrics()
    foundry.bot.services.provided.provide(METRICS_SERVICE, fake, replace=True)
    return fake


async def test_create_posts_then_edits_only_on_change(foundry: Foundry, metrics) -> None:  # type: ignore[no-untyped-def]
    driver, message = await create(foundry)
    assert field_values(message)["CPU"] == "`█░░░░░░░░░` 12%"
    dash = service(foundry)
    # Unchanged data: a refresh renders but sends nothing.
    dash.scheduler.request(1)
    await dash.scheduler.tick()
    await dash.scheduler.idle()
    assert calls(foundry, EDIT) == []
    metrics.values["lab-1"][CPU] = 91.0
    dash.scheduler.request(1)
    await edited(foundry, driver, 0)
    message = driver.message(message.id)
    assert field_values(message)["CPU"] == "`█████████░` 91%"
    assert len(calls(foundry, POST)) == 1


async def test_without_monitoring_metric_widgets_say_unavailable(foundry: Foundry) -> None:
    foundry.bot.services.provided.provide(METRICS_SERVICE, None, replace=True)  # as if not loaded
    _, message = await create(foundry)
    values = field_values(message)
    assert values["CPU"] == "unavailable (monitoring is not loaded)"


async def test_server_statistics_preset(foundry: Foundry) -> None:
    _, message = await create(foundry, "server")
    values = field_values(message)
    assert values["Members"] == "**4**"  # alice, bob, carol and the bot
    assert values["Channels"] == "**2**"


async def test_restart_edits_the_same_message_and_its_buttons_still_answer(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    driver, message = await create(foundry)
    await foundry.restart()
    metrics.values["lab-1"][MEM] = 77.0
    foundry.bot.services.provided.provide(METRICS_SERVICE, metrics, replace=True)
    dash = service(foundry)
    await eventually(lambda: True if dash.started else None, "load its dashboards")
    # The restarted bot may have drawn it once before the metrics came: refresh until the
    # new value shows, in the same message.
    dash.scheduler.request(1)
    await eventually(
        lambda: (
            True
            if field_values(driver.message(message.id))["Memory"] == "`████████░░` 77%"
            else None
        ),
        "show the memory value given after the restart",
    )
    assert len(calls(foundry, EDIT)) >= 1
    assert len(calls(foundry, POST)) == 1  # never a second dashboard message
    answer = await driver.member("carol").press(message, "fcd:1:refresh")
    assert answer.type == 7  # the message itself was updated
    answer = await driver.member("carol").choose(message, "fcd:1:host", "lab-2")
    assert answer.type == 7
    assert field_values(driver.message(message.id))["CPU"] == "`████████░░` 80%"
    details = await driver.member("carol").press(message, "fcd:1:details")
    assert details.ephemeral and "**CPU**: `████████░░` 80%" in details.content
    channel_messages = foundry.server.state.channel_messages(foundry.guild.channel("status").id)
    assert [m.id for m in channel_messages if m.author.id == foundry.server.bot_user_id] == [
        message.id
    ]


async def test_on_ready_again_does_not_load_twice(foundry: Foundry, metrics: FakeMetrics) -> None:
    _driver, _message = await create(foundry)
    dash = service(foundry)
    entry = dash.scheduler.entries[1]
    await dash.start()
    assert dash.scheduler.entries[1] is entry and len(dash.scheduler.entries) == 1


async def test_a_deleted_message_is_posted_again_once(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    driver, message = await create(foundry)
    foundry.server.delete_message(message)
    dash = service(foundry)

    def reposted() -> int | None:
        new_id = dash.scheduler.entries[1].message_id
        return new_id if new_id not in (None, message.id) else None

    new_id = await eventually(reposted, "post the dashboard again")
    assert len(calls(foundry, POST)) == 2

    async def stored() -> bool | None:
        record = await dash.store.get(1)
        return True if record is not None and record.message_id == new_id else None

    await eventually(stored, "store the new message id")
    # Nothing changed since: no third message, no edit.
    dash.scheduler.request(1)
    await dash.scheduler.tick()
    await dash.scheduler.idle()
    assert len(calls(foundry, POST)) == 2
    answer = await driver.member("carol").press(new_id, "fcd:1:refresh")
    assert answer.type == 7


async def test_429s_are_waited_out_and_the_edit_lands(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    driver, message = await create(foundry)
    foundry.server.faults.rate_limit_storm(2, retry_after=0.2, route_key=EDIT)
    metrics.values["lab-1"][CPU] = 50.0
    service(foundry).scheduler.request(1)
    await driver.until(
        lambda: True if calls(foundry, EDIT, 200) else None, "edit after the 429s", timeout=15
    )
    assert len(calls(foundry, EDIT, 429)) == 2
    assert field_values(driver.message(message.id))["CPU"] == "`█████░░░░░` 50%"


async def test_the_preview_is_the_payload_sent(foundry: Foundry, metrics: FakeMetrics) -> None:
    _driver, _message = await create(foundry)
    dash = service(foundry)
    record = dash.records[1]
    preview = await dash.preview(record.layout, record.guild_id, record.id)
    sent = next(c for c in calls(foundry, POST) if c["status"] == 200)
    # The post also carries its nonce (recorded before sending, see the restart tests).
    assert sent["json"].pop("enforce_nonce") is True and sent["json"].pop("nonce")
    assert sent["json"] == preview.payload


async def test_commands_list_refresh_and_remove(foundry: Foundry, metrics: FakeMetrics) -> None:
    driver, message = await create(foundry)
    bob = driver.member("bob")
    listed = await bob.run("dashboard list", channel="general")
    assert "#1 **System overview** in <#" in listed.content
    refreshed = await bob.run("dashboard refresh", {"id": 1}, channel="general")
    assert "updated within a few seconds" in refreshed.content
    await edited(foundry, driver, 0)  # forced: edited even though nothing changed
    refused = await driver.member("carol").run("dashboard remove", {"id": 1}, channel="general")
    assert "Manage Server" in refused.content
    removed = await bob.run("dashboard remove", {"id": 1}, channel="general")
    assert "removed" in removed.content
    channel = foundry.guild.channel("status")
    assert message.id not in [m.id for m in foundry.server.state.channel_messages(channel.id)]
    assert await service(foundry).store.list() == []


def test_presets_fit_the_layout_rules() -> None:
    from cogs.dashboards.presets import PRESETS

    for layout in PRESETS.values():
        assert parse_layout(layout).widgets


async def test_a_message_posted_but_not_recorded_is_adopted_after_restart(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    driver, message = await create(foundry)
    # The process stopped between posting and storing the id (the write was lost).
    await service(foundry).store.message_posted(1, message.id, "")
    from cogs.dashboards.models import Dashboard

    async with foundry.process.services.db.session() as session, session.begin():
        (await session.get(Dashboard, 1)).message_id = None
    await foundry.restart()
    foundry.bot.services.provided.provide(METRICS_SERVICE, metrics, replace=True)
    dash = service(foundry)
    await eventually(lambda: True if dash.started else None, "load its dashboards")
    await eventually(
        lambda: (entry := dash.scheduler.entries.get(1)) and entry.message_id, "adopt it"
    )
    assert dash.scheduler.entries[1].message_id == message.id
    await eventually(lambda: True if calls(foundry, EDIT, 200) else None, "refresh it in place")
    assert len(calls(foundry, POST)) == 1
    del driver


async def test_changes_made_by_another_process_are_followed(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    driver, message = await create(foundry)
    dash = service(foundry)
    # Another process (sharing the database) adds a dashboard and removes the first.
    from cogs.dashboards.presets import preset

    bob = foundry.server.state.find_user("bob").id
    channel = foundry.guild.channel("status").id
    other = await dash.store.create(foundry.guild.id, channel, "GPU", preset("gpu"), bob)
    await dash.store.remove(1, bob)
    await dash.sync()
    assert set(dash.scheduler.entries) == {other.id}
    await eventually(lambda: dash.scheduler.entries[other.id].message_id, "post the new one")
    assert len(calls(foundry, POST)) == 2
    del driver, message


async def test_pages_turn_with_the_buttons_and_the_select(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    driver, message = await create(foundry, "server")
    dash = service(foundry)
    bob = foundry.server.state.find_user("bob").id
    layout = parse_layout(
        {
            "title": "Paged",
            "pages": ["Front", "Back"],
            "widgets": [
                {"id": "a", "title": "A", "source": {"kind": "markdown", "text": "first"}},
                {"id": "b", "title": "B", "page": 1, "source": {"kind": "markdown", "text": "2"}},
            ],
            "actions": [
                {"type": "button", "action": "prev_page"},
                {"type": "button", "action": "next_page"},
                {"type": "select", "action": "page"},
            ],
        }
    )
    await dash.update_layout(1, layout, bob)
    await eventually(
        lambda: True if driver.message(message.id).embeds[0].get("title") == "Paged" else None,
        "show the new layout",
    )
    carol = driver.member("carol")
    answer = await carol.press(message, "fcd:1:next_page")
    assert answer.type == 7
    shown = driver.message(message.id)
    assert field_values(shown) == {"B": "2"}
    assert shown.embeds[0]["footer"]["text"] == "Back (2/2)"
    await carol.choose(message, "fcd:1:page", "0")
    assert field_values(driver.message(message.id)) == {"A": "first"}
    # The page chosen is kept: a restart shows the same page.
    assert (await dash.store.get(1)).view_state.page == 0


async def test_discord_never_refuses_an_overflowing_dashboard(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    from bot.metrics import StatusItem

    driver, _ = await create(foundry, "server")
    metrics.container_items = [
        StatusItem(f"container-{i:03}-" + "x" * 60, i % 3 != 0, "y" * 40) for i in range(300)
    ]
    many = [f"host-{i:02}" for i in range(40)]
    metrics.values.update({host: {CPU: 1.0} for host in many})
    actions = FakeActions(tuple(f"a{i}" for i in range(15)))
    foundry.bot.services.provided.provide(ACTIONS_SERVICE, actions, replace=True)
    layout = parse_layout(
        {
            "title": "T" * 256,
            "description": "D" * 4096,
            "widgets": [
                {
                    "id": f"w{i}",
                    "title": "N" * 256,
                    "width": 3,
                    "source": {"kind": "containers"},
                    "format": "status",
                }
                for i in range(25)
            ],
            "actions": [
                *(
                    {"type": "button", "action": "run", "run": f"a{i}", "label": "L" * 80}
                    for i in range(15)
                ),
                {"type": "select", "action": "host", "label": "P" * 150},
                {"type": "select", "action": "page"},
            ],
        }
    )
    dash = service(foundry)
    bob = foundry.server.state.find_user("bob").id
    record = await dash.create(
        foundry.guild.id, foundry.guild.channel("status").id, "Big", layout, bob
    )
    await eventually(lambda: dash.scheduler.entries[record.id].message_id, "post it")
    posted = [c for c in calls(foundry, POST) if c["status"] != 200]
    assert posted == []  # the sandbox enforces Discord's limits: nothing was refused
    shown = driver.message(dash.scheduler.entries[record.id].message_id)
    values = [f["value"] for f in shown.embeds[0]["fields"]]
    assert len(values) == 25 and any("more)" in v or v.endswith("…") for v in values)
    host_select = shown.components[3]["components"][0]
    assert len(host_select["options"]) == 25 and "more not listed" in host_select["placeholder"]


async def test_a_history_chart_is_posted_as_a_png_and_replaced_on_change(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    pytest.importorskip("PIL")
    driver, _ = await create(foundry, "server")
    dash = service(foundry)
    layout = parse_layout(
        {
            "title": "Charts",
            "widgets": [
                {
                    "id": "cpu",
                    "title": "CPU, last hour",
                    "source": {"kind": "metric", "metric": "cpu.percent"},
                    "format": "chart",
                }
            ],
            "actions": [{"type": "button", "action": "refresh"}],
        }
    )
    bob = foundry.server.state.find_user("bob").id
    status = foundry.guild.channel("status").id
    record = await dash.create(foundry.guild.id, status, "Charts", layout, bob)
    message_id = await eventually(lambda: dash.scheduler.entries[record.id].message_id, "post")
    message = driver.message(message_id)
    assert message.embeds[1]["image"]["url"].endswith("chart-cpu.png")
    assert [a.filename for a in message.attachments] == ["chart-cpu.png"]
    first = message.attachments[0].data
    assert first.startswith(b"\x89PNG")
    metrics.history_points = [5.0, 1.0, 4.0]
    dash.scheduler.request(record.id)

    def replaced():  # type: ignore[no-untyped-def]
        shown = driver.message(message_id).attachments
        return shown if len(shown) == 1 and shown[0].data != first else None

    await eventually(replaced, "replace the chart")
    # A press on a chart dashboard is acknowledged, then the message is edited as usual.
    answer = await driver.member("carol").press(message_id, f"fcd:{record.id}:refresh")
    assert answer.type == 6


async def test_a_post_the_process_never_recorded_is_adopted_not_orphaned(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    """Killed between Discord accepting the post and the message id being stored: the
    restarted bot adopts that message (a dashboard without buttons: nothing but the
    intent recorded before the send identifies it) instead of posting a second one."""
    driver, _message = await create(foundry, "server")
    dash = service(foundry)
    status = foundry.guild.channel("status").id
    bob = foundry.server.state.find_user("bob").id
    layout = parse_layout(
        {
            "title": "No buttons",
            "widgets": [{"id": "a", "title": "A", "source": {"kind": "markdown", "text": "x"}}],
        }
    )
    killed = asyncio.Event()

    async def killed_before_recording(*_args: object) -> None:
        killed.set()
        raise ConnectionError("the process died here")

    dash.store.message_posted = killed_before_recording  # type: ignore[method-assign]
    record = await dash.create(foundry.guild.id, status, "No buttons", layout, bob)
    await asyncio.wait_for(killed.wait(), 10)
    assert (await dash.store.get(record.id)).message_id is None
    await foundry.restart()
    foundry.bot.services.provided.provide(METRICS_SERVICE, metrics, replace=True)
    dash = service(foundry)
    await eventually(lambda: True if dash.started else None, "load its dashboards")
    adopted = await eventually(
        lambda: (entry := dash.scheduler.entries.get(record.id)) and entry.message_id, "adopt it"
    )
    stored = await dash.store.get(record.id)
    assert stored.message_id == adopted and stored.post_nonce is None
    titled = [
        m
        for m in foundry.server.state.channel_messages(status)
        if m.embeds and m.embeds[0].get("title") == "No buttons"
    ]
    assert [m.id for m in titled] == [adopted]
    del driver


async def test_containers_preset_says_why_docker_is_unavailable(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    metrics.down = {"docker": "cannot reach the Docker API at unix:///var/run/docker.sock"}
    _, message = await create(foundry, "containers")
    values = field_values(message)
    assert values["Running"] == (
        "unavailable (docker: cannot reach the Docker API at unix:///var/run/docker.sock)"
    )
    assert "0/0" not in str(values)


async def test_a_stored_host_the_guild_cannot_see_shows_unavailable(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    metrics.visible = {foundry.guild.id + 1}  # the hosts belong to another server
    driver, message = await create(foundry)
    values = field_values(message)
    assert values["CPU"] == "unavailable (that host is not available to this server)"
    # Choosing a key by hand (a forged select value) reads nothing either.
    answer = await driver.member("carol").choose(message, "fcd:1:host", "-")
    assert answer.type == 7
    assert "lab-1" not in str(driver.message(message.id).embeds)


async def test_after_the_first_hour_edits_keep_to_three_per_six_seconds(
    foundry: Foundry, metrics: FakeMetrics
) -> None:
    """The sandbox answers 429 code 30046 beyond 3 edits per 6 s per channel of messages
    older than an hour; the scheduler budgets for it, so every change lands without one."""
    from cogs.dashboards.presets import preset
    from cogs.dashboards.scheduler import snowflake_age

    driver, message = await create(foundry)
    dash = service(foundry)
    bob = foundry.server.state.find_user("bob").id
    status = foundry.guild.channel("status").id
    for i in range(4):
        await dash.create(foundry.guild.id, status, f"S{i}", preset("system"), bob)
    await eventually(
        lambda: True if all(e.message_id for e in dash.scheduler.entries.values()) else None,
        "post every dashboard",
    )
    await dash.scheduler.idle()
    # An hour later, as the sandbox and the bot both see it.
    clock = foundry.server.clock
    clock.advance(3600)
    dash.scheduler.message_age = lambda message_id: snowflake_age(message_id, now=clock.time())
    mark = len(foundry.server.calls)
    metrics.values["lab-1"][CPU] = 64.0
    for dashboard_id in dash.scheduler.entries:
        dash.scheduler.request(dashboard_id)

    def all_show_it() -> bool | None:
        shown = [
            field_values(driver.message(e.message_id)).get("CPU")
            for e in dash.scheduler.entries.values()
        ]
        return True if all(v == "`██████░░░░` 64%" for v in shown) else None

    await eventually(all_show_it, "edit every dashboard", timeout=30)
    refused = [
        c
        for c in foundry.server.calls[mark:]
        if c["status"] == 429 and (c.get("response") or {}).get("code") == 30046
    ]
    assert refused == []
    edits = [c for c in foundry.server.calls[mark:] if c["method"] == "PATCH"]
    assert len(edits) == 5 and message.id
