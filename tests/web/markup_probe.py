"""Names that are markup, and a Chromium probe that fails when a page turns one into an
element or follows it (issue 15.4). For any page that shows a name someone else chose
(guild, channel, role, user, host, template names), in core and feature tests alike:

    name = markup_name("Forge")                    # give the object this name
    async with chromium() as browser:
        page = await browser.new_page()
        probe = await MarkupProbe.attach(page)
        await probe.visit(url, expect=[name])      # the name is shown, as text
        assert probe.problems == []

The name holds an `<img onerror>` and a `<meta http-equiv=refresh>`, each marked with
`data-markup-probe`. An observer installed before any page script records every marked
element that appears in the document (by the parser, innerHTML, a template library), and
the probe records navigations and requests the markup would cause. A page passes only when
the name shows up as text and none of that happens."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

PROBE_ATTRIBUTE = "data-mp"
NAVIGATION_TARGET = "/mpn"
IMAGE_SOURCE = "/mpi"
MAX_NAME = 100  # Discord's limit for guild, channel and role names
META_REFRESH_DELAY_S = 1
# Long enough for the meta refresh to fire had it been parsed.
SETTLE_S = META_REFRESH_DELAY_S + 0.5


def markup_name(label: str) -> str:
    """A name with markup in it: an image whose error handler would run, and a meta refresh
    that would navigate away after a second; at most 100 characters, Discord's limit."""
    markup = (
        f"<img src={IMAGE_SOURCE} {PROBE_ATTRIBUTE} onerror=alert(1)>"
        f'<meta {PROBE_ATTRIBUTE} http-equiv=refresh content="1;url={NAVIGATION_TARGET}">'
    )
    assert len(markup) < MAX_NAME - 4
    return label[: MAX_NAME - len(markup)] + markup


_OBSERVER = f"""
(() => {{
  window.__markupProbe = [];
  const note = (node) => {{
    if (node.nodeType !== 1) return;
    const hits = node.matches("[{PROBE_ATTRIBUTE}]") ? [node] : [];
    hits.push(...node.querySelectorAll("[{PROBE_ATTRIBUTE}]"));
    for (const hit of hits) {{
      const html = hit.outerHTML.slice(0, 200);
      window.__markupProbe.push(html);
      // Told at once: a meta refresh may take the page (and this list) away.
      if (window.__markupProbeReport) window.__markupProbeReport(location.href, html);
    }}
  }};
  new MutationObserver((records) => {{
    for (const record of records) record.addedNodes.forEach(note);
  }}).observe(document, {{ childList: true, subtree: true }});
}})();
"""


class MarkupProbe:
    """Watches one Playwright page for elements made from markup names."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        self._expected_url: str | None = None

    @classmethod
    async def attach(cls, page: Any) -> MarkupProbe:
        probe = cls(page)
        await page.expose_function("__markupProbeReport", probe._made)
        await page.add_init_script(_OBSERVER)
        page.on("framenavigated", probe._navigated)
        page.on("request", probe._requested)
        return probe

    def _made(self, where: str, html: str) -> None:
        problem = f"{where}: an element was made from a name: {html}"
        if problem not in self.problems:
            self.problems.append(problem)

    def _navigated(self, frame: Any) -> None:
        if frame != self.page.main_frame or self._expected_url is None:
            return
        if frame.url != self._expected_url:
            self.problems.append(f"navigated from {self._expected_url} to {frame.url}")

    def _requested(self, request: Any) -> None:
        if IMAGE_SOURCE in request.url or NAVIGATION_TARGET in request.url:
            self.problems.append(f"the markup made a request: {request.url}")

    async def visit(self, url: str, *, expect: Iterable[str] = ()) -> None:
        """Open `url`, wait past the meta refresh, and record what the markup did; each
        name in `expect` must be on the page as text (else the probe proves nothing)."""
        self._expected_url = url
        await self.page.goto(url)
        await self.check(url, expect=expect)

    async def check(self, where: str, *, expect: Iterable[str] = ()) -> None:
        """Record what the markup did on the page as it is now (after a click, say)."""
        self._expected_url = self.page.url
        await asyncio.sleep(SETTLE_S)
        made = await self.page.evaluate(
            f"""() => Array.from(document.querySelectorAll("[{PROBE_ATTRIBUTE}]"),
                                 (e) => e.outerHTML.slice(0, 200))"""
        )
        for html in made:
            self._made(self.page.url, html)
        text = await self.page.evaluate(
            """() => document.body.innerText + Array.from(
                document.querySelectorAll("option, [title], [data-confirm]"),
                (e) => e.textContent + (e.title || "") + (e.dataset.confirm || "")).join(" ")"""
        )
        for name in expect:
            if name not in text:
                self.problems.append(f"{where}: the name {name[:40]!r}... is not shown as text")
