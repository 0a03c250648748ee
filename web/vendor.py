"""Front-end libraries served from web/node_modules: only each package's dist folder, by a
whitelist, under /static/vendor/<package>/<path>."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

log = logging.getLogger(__name__)

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"

# URL name -> folder inside node_modules that may be served.
VENDOR_DIRS: dict[str, str] = {
    "bootstrap": "bootstrap/dist",
    "jquery": "jquery/dist",
    "jstree": "jstree/dist",
    "gridstack": "gridstack/dist",
    "chart.js": "chart.js/dist",
}

VENDOR_DIR_KEY = web.AppKey("foundrycord_vendor_dir", Path)


def check_vendor_dir(node_modules: Path) -> bool:
    """True when every library is installed; otherwise log one warning saying how to fix it."""
    missing = [name for name, sub in VENDOR_DIRS.items() if not (node_modules / sub).is_dir()]
    if missing:
        log.warning(
            "The web editor's front-end libraries are missing from %s (%s), so pages render "
            "without styling or scripts: run `npm ci --prefix web` to install them.",
            node_modules,
            ", ".join(missing),
        )
        return False
    return True


def resolve_vendor_file(node_modules: Path, package: str, path: str) -> Path | None:
    """The file for /static/vendor/<package>/<path>, or None if it is not served."""
    sub = VENDOR_DIRS.get(package)
    if sub is None or not path:
        return None
    root = (node_modules / sub).resolve()
    try:
        candidate = (root / path).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


routes = web.RouteTableDef()


@routes.get("/static/vendor/{package}/{path:.+}", name="vendor")
async def vendor_file(request: web.Request) -> web.FileResponse:
    found = resolve_vendor_file(
        request.config_dict[VENDOR_DIR_KEY],
        request.match_info["package"],
        request.match_info["path"],
    )
    if found is None:
        raise web.HTTPNotFound()
    return web.FileResponse(found, headers={"Cache-Control": "public, max-age=86400"})
