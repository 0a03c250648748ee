"""Every metric monitoring writes, declared once beside the collectors that write them.

Offered to other features as `MetricsSource.catalogue` (bot/metrics.py): dashboard presets,
the editor's metric picker, alert rules and the Monitoring page choose from it, and test fakes
are built from it (`MetricSpec.sample_name()`), so a name can only drift if this file does.
A collector that writes a new name adds it here; `tests/cogs/monitoring/test_catalogue.py`
runs the real collectors and fails on any name this file does not know."""

from __future__ import annotations

from bot.metrics import MetricCatalogue, MetricSpec

SILENCE_METRIC = "host.silence_s"

CATALOGUE = MetricCatalogue(
    (
        # system collector (psutil)
        MetricSpec("cpu.percent", "CPU", "%"),
        MetricSpec("cpu.core.{core}", "CPU core {core}", "%", example=("0",)),
        MetricSpec("cpu.freq_mhz", "CPU frequency", "MHz"),
        MetricSpec("load.1", "Load (1 min)"),
        MetricSpec("load.5", "Load (5 min)"),
        MetricSpec("load.15", "Load (15 min)"),
        MetricSpec("mem.percent", "Memory used", "%"),
        MetricSpec("mem.used", "Memory used", "B"),
        MetricSpec("mem.total", "Memory total", "B"),
        MetricSpec("swap.percent", "Swap used", "%"),
        MetricSpec("swap.used", "Swap used", "B"),
        MetricSpec("disk.{mount}.percent", "Disk {mount} used", "%", example=("/",)),
        MetricSpec("disk.{mount}.used", "Disk {mount} used", "B", example=("/",)),
        MetricSpec("disk.{mount}.total", "Disk {mount} size", "B", example=("/",)),
        MetricSpec("disk.{mount}.read_bps", "Disk {mount} reads", "B/s", example=("/",)),
        MetricSpec("disk.{mount}.write_bps", "Disk {mount} writes", "B/s", example=("/",)),
        MetricSpec("net.{nic}.rx_bps", "{nic} received", "B/s", example=("eth0",)),
        MetricSpec("net.{nic}.tx_bps", "{nic} sent", "B/s", example=("eth0",)),
        MetricSpec(
            "net.{nic}.rx_total", "{nic} received in all", "B", "counter", example=("eth0",)
        ),
        MetricSpec("net.{nic}.tx_total", "{nic} sent in all", "B", "counter", example=("eth0",)),
        MetricSpec("temp.{chip}", "Temperature {chip}", "°C", example=("coretemp",)),
        MetricSpec("fan.{chip}.{index}", "Fan {chip} {index}", "rpm", example=("nct6775", "0")),
        MetricSpec("uptime_s", "Uptime", "s", "counter"),
        MetricSpec("procs", "Processes"),
        # GPU collector (NVML)
        MetricSpec("gpu.{index}.util", "GPU {index} utilisation", "%", example=("0",)),
        MetricSpec("gpu.{index}.mem_used", "GPU {index} memory used", "B", example=("0",)),
        MetricSpec("gpu.{index}.mem_total", "GPU {index} memory", "B", example=("0",)),
        MetricSpec("gpu.{index}.mem_percent", "GPU {index} memory used", "%", example=("0",)),
        MetricSpec("gpu.{index}.temp", "GPU {index} temperature", "°C", example=("0",)),
        MetricSpec("gpu.{index}.power_w", "GPU {index} power", "W", example=("0",)),
        MetricSpec("gpu.{index}.fan", "GPU {index} fan", "%", example=("0",)),
        # Docker collector
        MetricSpec(
            "container.{name}.running",
            "Container {name} running",
            "state",
            "state",
            example=("web",),
        ),
        MetricSpec(
            "container.{name}.restarts",
            "Container {name} restarts",
            "",
            "counter",
            example=("web",),
        ),
        MetricSpec("container.{name}.cpu", "Container {name} CPU", "%", example=("web",)),
        MetricSpec("container.{name}.mem", "Container {name} memory", "B", example=("web",)),
        MetricSpec(
            "container.{name}.mem_percent", "Container {name} memory", "%", example=("web",)
        ),
        # service checks (per guild)
        MetricSpec("service.{id}.up", "Service {id} up", "state", "state", example=("1",)),
        MetricSpec("service.{id}.latency_ms", "Service {id} latency", "ms", example=("1",)),
        # game servers (per guild, on its "game servers" host; games.py)
        MetricSpec("game.{id}.online", "Game server {id} online", "state", "state", example=("1",)),
        MetricSpec("game.{id}.players", "Game server {id} players", example=("1",)),
        MetricSpec("game.{id}.max_players", "Game server {id} player slots", example=("1",)),
        MetricSpec("game.{id}.ping_ms", "Game server {id} ping", "ms", example=("1",)),
        MetricSpec(
            "game.{id}.failed_polls", "Game server {id} polls failed in a row", example=("1",)
        ),
        # speedtests
        MetricSpec("speedtest.download_mbps", "Download speed", "Mbit/s"),
        MetricSpec("speedtest.upload_mbps", "Upload speed", "Mbit/s"),
        MetricSpec("speedtest.ping_ms", "Speedtest ping", "ms"),
        # derived by the alert evaluator, never stored
        MetricSpec(SILENCE_METRIC, "Time since the host last reported", "s"),
    )
)
