"""JSON requests get JSON answers: errors, sign-in prompts and aiohttp's own refusals reach
a script as `{"error": ...}` whether or not it sent `Accept: application/json` (the
editors' fetch() calls do not), and pages read by a browser still get HTML pages."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from tests.web.conftest import (
    ADMIN_ID,
    GUILD_ID,
    MEMBER_ID,
    OTHER_GUILD_ID,
    csrf_token,
    sign_in,
)
from web.app import create_app
from web.auth import require_manage
from web.context import WebContext
from web.errors import PageError, wants_json
from web.forms import guild_id, read_form

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ANY = {"Accept": "*/*"}

# Handlers shaped like the features' JSON endpoints (monitoring's series.json, the template
# editor's api/, the dashboard editor's JSON posts), behind the app's real middlewares.
routes = web.RouteTableDef()


@routes.get("/guilds/{guild_id}/monitoring/series.json")
async def series(request: web.Request) -> web.Response:
    await require_manage(request, guild_id(request))
    raise PageError(404, "There is no host called nope.")


@routes.post("/guilds/{guild_id}/templates/api/plan")
async def plan(request: web.Request) -> web.Response:
    await require_manage(request, guild_id(request))
    return web.json_response({"ok": True})


@routes.post("/guilds/{guild_id}/dashboards/{dashboard_id}/layout")
async def layout(request: web.Request) -> web.Response:
    await require_manage(request, guild_id(request))
    raise PageError(404, "There is no such dashboard.")


@routes.post("/guilds/{guild_id}/things")
async def things(request: web.Request) -> web.Response:
    await read_form(request)
    return web.Response(text="ok")


@routes.get("/guilds/{guild_id}/files/{filename}")
async def download(request: web.Request) -> web.Response:
    raise PageError(404, "There is no such file.")


@routes.post("/guilds/{guild_id}/raw")
async def raw(request: web.Request) -> web.Response:
    await request.post()  # aiohttp's own 413, not through read_form
    return web.Response(text="ok")


@pytest.fixture
async def app_client(ctx: WebContext, aiohttp_client: Any) -> TestClient:
    ctx.extra_routes.append(routes)
    return await aiohttp_client(create_app(ctx))


def _request(path: str, method: str = "GET", **headers: str) -> web.Request:
    return make_mocked_request(method, path, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("GET", "/guilds/1/monitoring/series.json", {"Accept": "*/*"}, True),
        ("GET", "/guilds/1/monitoring/live.json", {"Accept": BROWSER}, True),
        ("POST", "/guilds/1/templates/api/plan", {}, True),
        ("GET", "/guilds/1/templates/api", {}, True),
        ("POST", "/api/monitoring/ingest", {"Accept": "*/*"}, True),
        ("POST", "/guilds/1/dashboards/9/layout", {"Content-Type": "application/json"}, True),
        ("POST", "/x", {"Content-Type": "application/merge-patch+json; charset=utf-8"}, True),
        ("GET", "/guilds", {"Accept": "application/json"}, True),
        ("GET", "/guilds", {"Accept": "application/problem+json"}, True),
        ("GET", "/guilds", {"Accept": "application/json, text/html;q=0"}, True),
        ("GET", "/guilds", {"Accept": "*/*"}, False),
        ("GET", "/guilds", {}, False),
        ("GET", "/guilds", {"Accept": BROWSER}, False),
        ("GET", "/guilds", {"Accept": "application/json, text/html"}, False),
        ("GET", "/guilds/1/apiary", {"Accept": "*/*"}, False),
        ("POST", "/guilds/1/settings", {"Content-Type": "multipart/form-data"}, False),
    ],
)
def test_which_requests_are_json(
    method: str, path: str, headers: dict[str, str], expected: bool
) -> None:
    assert wants_json(_request(path, method, **headers)) is expected


async def test_json_endpoint_errors_are_json_without_an_accept_header(
    app_client: TestClient, ctx: WebContext
) -> None:
    await sign_in(app_client, ctx, ADMIN_ID)
    token = await csrf_token(app_client)

    response = await app_client.get(
        f"/guilds/{GUILD_ID}/monitoring/series.json?host=no", headers=ANY
    )
    assert (response.status, response.content_type) == (404, "application/json")
    assert (await response.json())["error"] == "There is no host called nope."

    response = await app_client.post(
        f"/guilds/{OTHER_GUILD_ID}/templates/api/plan",
        data=b"{}",
        headers={**ANY, "X-CSRF-Token": token},
    )
    assert (response.status, response.content_type) == (403, "application/json")
    body = await response.json()
    assert "Manage Server" in body["error"]
    assert body["errors"] == [body["error"]]  # what the editors' scripts show

    response = await app_client.post(
        f"/guilds/{GUILD_ID}/dashboards/999/layout",
        data=b"{}",
        headers={**ANY, "X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert (response.status, response.content_type) == (404, "application/json")
    assert (await response.json())["error"] == "There is no such dashboard."

    # A JSON request without a CSRF token is refused in JSON too.
    response = await app_client.post(f"/guilds/{GUILD_ID}/templates/api/plan", headers=ANY)
    assert (response.status, response.content_type) == (403, "application/json")
    assert "CSRF" in (await response.json())["error"]


async def test_pages_still_get_html_errors(app_client: TestClient, ctx: WebContext) -> None:
    await sign_in(app_client, ctx, ADMIN_ID)
    response = await app_client.get("/guilds/1/nothing-here", headers={"Accept": BROWSER})
    assert (response.status, response.content_type) == (404, "text/html")
    response = await app_client.get("/guilds/1/nothing-here", headers=ANY)
    assert (response.status, response.content_type) == (404, "text/html")


@pytest.mark.parametrize("accept", ["application/json", "*/*"])
async def test_signed_out_json_request_gets_401_json_not_a_redirect(
    app_client: TestClient, accept: str
) -> None:
    response = await app_client.get(
        f"/guilds/{GUILD_ID}/monitoring/series.json",
        headers={"Accept": accept},
        allow_redirects=False,
    )
    assert (response.status, response.content_type) == (401, "application/json")
    assert "not signed in" in (await response.json())["error"]


@pytest.mark.parametrize("page", ["settings", "files/export.json", "files/api"])
async def test_signed_out_page_still_redirects_to_sign_in(
    app_client: TestClient, page: str
) -> None:
    """A page, or a file whose name only looks like a JSON endpoint (the route decides, not
    the name a user gave), sends a browser to sign in."""
    for accept in (BROWSER, "*/*"):
        response = await app_client.get(
            f"/guilds/{GUILD_ID}/{page}", headers={"Accept": accept}, allow_redirects=False
        )
        assert response.status == 302, accept
        assert response.headers["Location"].startswith("/login?next=")


async def test_a_file_named_like_json_gets_an_html_error(
    app_client: TestClient, ctx: WebContext
) -> None:
    await sign_in(app_client, ctx, ADMIN_ID)
    response = await app_client.get(f"/guilds/{GUILD_ID}/files/export.json", headers=ANY)
    assert (response.status, response.content_type) == (404, "text/html")


async def test_a_form_over_the_size_limit_gets_the_app_error_page(
    app_client: TestClient, ctx: WebContext
) -> None:
    """aiohttp refuses a form body over client_max_size (1 MiB) with a plain-text 413; the
    user sees the application's page instead, in JSON for a JSON request."""
    await sign_in(app_client, ctx, ADMIN_ID)
    token = await csrf_token(app_client)
    body = urlencode({"csrf_token": token, "prefix": "x" * (1024 * 1024 + 1)}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in (f"/guilds/{GUILD_ID}/settings", f"/guilds/{GUILD_ID}/things"):
        response = await app_client.post(
            path, data=io.BytesIO(body), headers={**form, "Accept": BROWSER}
        )
        assert (response.status, response.content_type) == (413, "text/html"), path
        assert "larger than" in await response.text()
    response = await app_client.post(
        f"/guilds/{GUILD_ID}/raw",
        data=io.BytesIO(body),
        headers={**form, "Accept": BROWSER, "X-CSRF-Token": token},
    )
    assert (response.status, response.content_type) == (413, "text/html")
    assert "larger than this address accepts" in await response.text()
    response = await app_client.post(
        f"/guilds/{GUILD_ID}/things",
        data=io.BytesIO(body),
        headers={**form, "Accept": "application/json", "X-CSRF-Token": token},
    )
    assert (response.status, response.content_type) == (413, "application/json")
    assert "larger than" in (await response.json())["error"]


async def test_a_handlers_own_json_error_passes_through(
    ctx: WebContext, aiohttp_client: Any
) -> None:
    """An HTTPException a handler gave a JSON body (the dashboard editor's `{"errors": [...]}`)
    is not replaced by the generic error page."""
    own = web.RouteTableDef()

    @own.get("/guilds/1/own")
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPBadRequest(text='{"errors": ["mine"]}', content_type="application/json")

    ctx.extra_routes.append(own)
    client = await aiohttp_client(create_app(ctx))
    await sign_in(client, ctx, ADMIN_ID)
    response = await client.get("/guilds/1/own", headers={"Accept": BROWSER})
    assert response.status == 400
    assert await response.json() == {"errors": ["mine"]}


async def test_403_on_a_page_read_does_not_speak_of_changing(
    app_client: TestClient, ctx: WebContext
) -> None:
    await sign_in(app_client, ctx, MEMBER_ID)
    token = await csrf_token(app_client)
    response = await app_client.get(f"/guilds/{GUILD_ID}/settings")
    assert response.status == 403
    text = await response.text()
    assert "Manage Server permission in this server to open its pages" in text
    assert "change" not in text.split("<main", 1)[-1]
    response = await app_client.post(
        f"/guilds/{GUILD_ID}/settings", data={"csrf_token": token, "prefix": "?"}
    )
    assert response.status == 403
    assert "to change its settings" in await response.text()
