"""Every preset against monitoring's catalogue and against the REAL monitoring of the machine
running the tests (the Monitor with its real collectors, loaded through the bot as in
production, no fakes): a metric this machine has is never "unavailable", and with "Show host
names" off (the default) no dashboard shows the real host name."""

from __future__ import annotations

import asyncio
import fnmatch
import re
import time
from dataclasses import replace
from typing import Any

import pytest

from cogs.dashboards.layout import unknown_metrics
from cogs.dashboards.presets import PRESET_LABELS, PRESETS, preset
from cogs.dashboards.render import ViewState
from cogs.monitoring.catalogue import CATALOGUE
from tests.cogs.dashboards.test_end_to_end import approve, service
from tests.foundry import Foundry


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_names_only_metrics_monitoring_writes(name: str) -> None:
    assert unknown_metrics(preset(name), CATALOGUE) == []


async def sampled(foundry: Foundry) -> Any:
    """The real Monitor after one real sample of this machine (not waiting for its loop)."""
    # By name: nextcord imports an extension's modules anew on every load.
    monitor = foundry.bot.get_cog("MonitoringCog").monitor
    await monitor.sampler.tick()
    return monitor


def shown_text(payload: dict[str, Any]) -> str:
    """Everything a member reads on the message (select values are keys, not shown)."""
    parts: list[str] = []
    for embed in payload["embeds"]:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts.append(embed.get("footer", {}).get("text", ""))
        for f in embed.get("fields", []):
            parts += [f["name"], f["value"]]
    for row in payload["components"]:
        for item in row["components"]:
            parts += [item.get("label", ""), item.get("placeholder", "")]
            parts += [o["label"] for o in item.get("options", [])]
    return "\n".join(parts)


async def test_every_preset_shows_every_metric_this_machine_has(foundry: Foundry) -> None:
    monitor = await sampled(foundry)
    have = set(monitor.sampler.latest.metrics)
    assert "cpu.percent" in have and "mem.percent" in have  # a real sample, not a fake
    dash = service(foundry)
    checked = 0
    for name in PRESETS:
        layout = preset(name)
        rendered = await dash.preview(layout, foundry.guild.id)
        fields = {f["name"]: f["value"] for f in rendered.payload["embeds"][0].get("fields", [])}
        for widget in layout.widgets:
            if widget.source.kind != "metric":
                continue
            pattern = widget.source.metric.replace("{disk}", "*")
            if "*" not in pattern and widget.format == "table":
                pattern += "*"
            if not any(fnmatch.fnmatchcase(metric, pattern) for metric in have):
                continue  # this machine has none (no GPU here, say): "unavailable" is right
            value = fields[widget.title]
            assert "unavailable" not in value, (name, widget.title, value)
            checked += 1
        if name == "containers" and "docker" in monitor.sampler.latest.status:
            why = monitor.sampler.latest.status["docker"]
            if why != "ok":  # Docker cannot be reached here: say so, never "0/0 up"
                assert fields["Running"].startswith("unavailable (docker: "), fields
    assert checked >= 5  # cpu, memory, disk, load and network at least


async def test_no_preset_shows_the_real_host_name_when_names_are_hidden(
    foundry: Foundry,
) -> None:
    monitor = await sampled(foundry)
    real = monitor.host
    assert real
    hidden = re.compile(rf"(?<![\w-]){re.escape(real)}(?![\w-])")
    dash = service(foundry)
    await approve_once(foundry)
    metrics = dash.metrics
    [local] = [h for h in metrics.hosts(foundry.guild.id) if h.local]
    assert local.label != real
    bob = foundry.server.state.find_user("bob").id
    status = foundry.guild.channel("status").id
    for name in PRESETS:
        record = await dash.create(foundry.guild.id, status, PRESET_LABELS[name], preset(name), bob)
        for state in (ViewState(), ViewState(host=local.key)):
            layout = record.layout
            rendered = await dash.preview(layout, foundry.guild.id, record.id)
            text = shown_text(rendered.payload)
            assert not hidden.search(text), (name, text)
            dash.records[record.id] = replace(dash.records[record.id], view_state=state)
            details = await dash.details(dash.records[record.id])
            assert not hidden.search(details), (name, details)
            rendered = await dash.preview(layout, foundry.guild.id, record.id)
            assert not hidden.search(shown_text(rendered.payload)), name
            if state.host:
                footer = rendered.payload["embeds"][0]["footer"]["text"]
                assert f"host {local.label}" in footer


async def approve_once(foundry: Foundry) -> None:
    from sandbox.driver import SandboxDriver

    driver = SandboxDriver(foundry.server, timeout=10)
    await foundry.server.wait_for_command("guild")
    await approve(foundry, driver)


async def test_a_preview_is_made_again_exactly_when_what_it_shows_may_differ(
    foundry: Foundry,
) -> None:
    """Against the real Monitor: an unchanged preview is kept (the editor opened again does
    not gather and draw the message again); a new sample, another layout or view state, and
    a host no longer shared with the server each make it afresh."""
    if time.time() % 60 > 45:  # a preview is made again each minute: start well inside one
        await asyncio.sleep(60.5 - time.time() % 60)
    monitor = await sampled(foundry)
    dash = service(foundry)
    await approve_once(foundry)
    guild = foundry.guild.id
    status = foundry.guild.channel("status").id
    bob = foundry.server.state.find_user("bob").id
    record = await dash.create(guild, status, "System", preset("system"), bob)
    first = await dash.preview(record.layout, guild, record.id)
    assert "cpu" in shown_text(first.payload).lower()
    assert await dash.preview(record.layout, guild, record.id) is first

    await monitor.sampler.tick()  # a new real sample: new values, maybe the same text
    second = await dash.preview(record.layout, guild, record.id)
    assert second is not first
    assert await dash.preview(record.layout, guild, record.id) is second
    # history written without a new sample (the sample is published before its row is
    # written): the sparklines may differ, so the preview is made again
    await monitor.history.write(monitor.host, time.time(), {"cpu.percent": 1.0})
    third = await dash.preview(record.layout, guild, record.id)
    assert third is not second

    retitled = replace(record.layout, title="Renamed")
    assert (await dash.preview(retitled, guild, record.id)).payload["embeds"][0]["title"] == (
        "Renamed"
    )
    [local] = [h for h in dash.metrics.hosts(guild) if h.local]
    dash.records[record.id] = replace(dash.records[record.id], view_state=ViewState(page=0))
    shown = await dash.preview(record.layout, guild, record.id)
    await monitor.registry.set_shared(guild, False)  # the owner stops sharing the bot's host
    hidden = await dash.preview(record.layout, guild, record.id)
    assert hidden is not shown
    assert local.label not in shown_text(hidden.payload)
    assert (
        "unavailable" in shown_text(hidden.payload)
        or "no host" in shown_text(hidden.payload).lower()
    )
