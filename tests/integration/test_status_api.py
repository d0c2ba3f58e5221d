"""The back-office API against real databases (SQLite and PostgreSQL), through aiohttp."""

import asyncio
import json

import pytest
import pytest_asyncio
import yaml
from aiohttp import web

from bot.status import service
from bot.web.api import MAX_BODY_BYTES, create_api_app
from tests.fixtures.databases import TEST_API_TOKEN, make_status_settings

pytestmark = pytest.mark.asyncio

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
NEW = {
    "gemeente": "Breda",
    "gebied": "Breda-Noord",
    "ingediend_op": "2025-10-06",
    "status": "ontvangen",
    "change_id": "bo-1",
    "status_datum": "2025-10-06T09:30:00",
    "verificatiecode": "QYYG-WEJ4",
    "aangevraagd": [{"thema": "School en Omgeving", "jaar": 2026, "bedrag": 450000}],
}
URL = "/applications/KW-2025-0100"


@pytest_asyncio.fixture
async def client(aiohttp_client, status_settings):
    return await aiohttp_client(create_api_app(status_settings))


async def dutch_error(resp, status):
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert isinstance(body["fout"], str) and body["fout"]
    return body


async def test_openapi_is_served_and_describes_the_endpoints(client):
    resp = await client.get("/openapi.yaml")
    assert resp.status == 200
    spec = yaml.safe_load(await resp.text())
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/applications/{aanvraagnummer}",
        "/applications/{aanvraagnummer}/changes",
        "/openapi.yaml",
    }
    assert set(spec["paths"]["/applications/{aanvraagnummer}"]) >= {"put", "get"}


async def test_mounted_as_subapp_under_api_v1(aiohttp_client, status_settings):
    parent = web.Application(client_max_size=10 * 1024 * 1024)
    parent.add_subapp("/api/v1", create_api_app(status_settings))
    client = await aiohttp_client(parent)
    host: dict[str, str] = {}  # the test client's Host header carries a port (routing into sub-apps needs yarl<1.13)
    assert (await client.get("/api/v1/openapi.yaml", headers=host)).status == 200
    await dutch_error(await client.get("/api/v1" + URL, headers=host), 401)
    resp = await client.put("/api/v1" + URL, json=NEW, headers={**AUTH, **host})
    assert resp.status == 201
    assert (await client.get("/api/v1" + URL, headers={**AUTH, **host})).status == 200
    # The API's own body limit holds even though the root app allows 10 MB.
    big = json.dumps({**NEW, "toelichting": "x" * (MAX_BODY_BYTES + 10)})
    resp = await client.put("/api/v1" + URL, data=big, headers={**AUTH, **host, "Content-Type": "application/json"})
    await dutch_error(resp, 413)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TEST_API_TOKEN}x"},
        {"Authorization": f"Basic {TEST_API_TOKEN}"},
        {"Authorization": TEST_API_TOKEN},
        {"Authorization": "Bearer "},
    ],
)
async def test_requests_without_the_right_token_are_refused(client, headers):
    for method, path in (("GET", URL), ("PUT", URL), ("POST", URL + "/changes")):
        resp = await client.request(method, path, json=NEW, headers=headers)
        body = await dutch_error(resp, 401)
        assert "token" in body["fout"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    # Nothing was written.
    assert (await client.get(URL, headers=AUTH)).status == 404


async def test_create_update_and_read(client, status_settings):
    resp = await client.put(URL, json=NEW, headers=AUTH)
    assert resp.status == 201
    body = await resp.json()
    assert body["resultaat"] == "aangemaakt"
    app = body["aanvraag"]
    assert app["aanvraagnummer"] == "KW-2025-0100" and app["status"] == "ontvangen"
    assert app["aangevraagd"] == [{"thema": "School en Omgeving", "jaar": 2026, "bedrag": "450000.00"}]
    assert "QYYG" not in json.dumps(body) and "verificatiecode" not in app

    resp = await client.put(
        "/applications/kw%202025%200100", headers=AUTH, json={"toegekend_bedrag": "1.000.000,50", "gebied": None}
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["resultaat"] == "bijgewerkt"
    assert body["aanvraag"]["toegekend_bedrag"] == "1000000.50"
    assert body["aanvraag"]["gebied"] is None

    resp = await client.get(URL, headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["aanvraag"]["geschiedenis"] == [
        {"status": "ontvangen", "status_datum": "2025-10-06T07:30:00Z"}
    ]

    # The applicant can now look it up with the code.
    found = service.lookup_public("KW-2025-0100", "qyyg-wej4", "c", settings=status_settings)
    assert found.kind == "ok" and found.application is not None
    assert found.application.granted_amount_cents == 100_000_050


async def test_status_change_is_idempotent(client):
    assert (await client.put(URL, json=NEW, headers=AUTH)).status == 201
    change = {
        "change_id": "bo-2",
        "status": "aanvulling_nodig",
        "status_datum": "2025-11-20",
        "ontbrekende_stukken": "Een begroting per jaar.",
    }
    first = await client.post(URL + "/changes", json=change, headers=AUTH)
    assert first.status == 201 and (await first.json())["resultaat"] == "bijgewerkt"
    again = await client.post(URL + "/changes", json=change, headers=AUTH)
    assert again.status == 200 and (await again.json())["resultaat"] == "al_ontvangen"
    app = (await (await client.get(URL, headers=AUTH)).json())["aanvraag"]
    assert [h["status"] for h in app["geschiedenis"]] == ["ontvangen", "aanvulling_nodig"]
    assert app["ontbrekende_stukken"] == "Een begroting per jaar."
    # Replaying the create is idempotent too.
    replay = await client.put(URL, json=NEW, headers=AUTH)
    assert replay.status == 200 and (await replay.json())["resultaat"] == "al_ontvangen"
    conflict = await client.post(
        URL + "/changes", headers=AUTH, json={"change_id": "bo-2", "status": "besluit_afgewezen"}
    )
    body = await dutch_error(conflict, 409)
    assert "al gebruikt" in body["details"][0]


async def test_change_for_unknown_application_and_missing_fields(client):
    resp = await client.post(
        "/applications/KW-2025-0999/changes", headers=AUTH, json={"change_id": "x", "status": "ontvangen"}
    )
    assert "bestaat niet" in (await dutch_error(resp, 404))["details"][0]
    resp = await client.get("/applications/KW-2025-0999", headers=AUTH)
    assert "bestaat niet" in (await dutch_error(resp, 404))["fout"]
    assert (await client.put(URL, json=NEW, headers=AUTH)).status == 201
    resp = await client.post(URL + "/changes", headers=AUTH, json={"status": "ontvangen"})
    assert (await dutch_error(resp, 422))["details"] == ["change_id is verplicht"]
    resp = await client.put(
        "/applications/KW-2025-0101", headers=AUTH, json={"gemeente": "Delft", "status": "ontvangen", "change_id": "a"}
    )
    assert "verificatiecode is verplicht" in " ".join((await dutch_error(resp, 422))["details"])


@pytest.mark.parametrize(
    "number",
    [
        "KW-2025-0042'%20OR%20'1'='1",
        "KW-2025-0042;DROP%20TABLE%20status_applications",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "KW-2025-042",
        "%F0%9F%99%82",
        "x" * 300,
    ],
)
async def test_bad_numbers_are_refused_with_dutch_message(client, number):
    for method, path in (
        ("GET", f"/applications/{number}"),
        ("PUT", f"/applications/{number}"),
        ("POST", f"/applications/{number}/changes"),
    ):
        resp = await client.request(method, path, json=NEW, headers=AUTH)
        body = await dutch_error(resp, 400)
        assert "KW-JJJJ-NNNN" in body["fout"]


@pytest.mark.parametrize(
    "payload,status,part",
    [
        (b"{not json", 400, "geen geldige JSON"),
        (b"", 400, "leeg"),
        (b"[1, 2]", 400, "JSON-object"),
        (b'{"toegekend_bedrag": NaN}', 400, "geen geldige JSON"),
        (b"[" * 20000 + b"]" * 20000, 400, "geen geldige JSON"),
        (b"\xff\xfe\x00", 400, "geen geldige JSON"),
        (json.dumps({**NEW, "status": "klaar"}).encode(), 422, "kloppen niet"),
        (json.dumps({**NEW, "gemeente": "<script>alert(1)</script>"}).encode(), 422, "kloppen niet"),
        (json.dumps({**NEW, "gemeente": "x" * 5000}).encode(), 422, "kloppen niet"),
        (json.dumps({**NEW, "bsn": "123456782"}).encode(), 422, "kloppen niet"),
        (json.dumps({**NEW, "aanvraagnummer": "KW-2025-0001"}).encode(), 422, "kloppen niet"),
        (json.dumps({**NEW, "toegekend_bedrag": True}).encode(), 422, "kloppen niet"),
        (json.dumps({**NEW, "aangevraagd": "🙂"}).encode(), 422, "kloppen niet"),
    ],
)
async def test_bad_bodies_are_refused_never_500(client, payload, status, part):
    resp = await client.put(URL, data=payload, headers={**AUTH, "Content-Type": "application/json"})
    body = await dutch_error(resp, status)
    assert part in body["fout"]
    assert (await client.get(URL, headers=AUTH)).status == 404


async def test_emoji_in_text_is_fine(client):
    resp = await client.put(URL, json={**NEW, "gebied": "Noord 🌳"}, headers=AUTH)
    assert resp.status == 201


async def test_huge_body_and_wrong_content_type(client):
    huge = json.dumps({**NEW, "toelichting": "x" * (MAX_BODY_BYTES * 2)})
    resp = await client.put(URL, data=huge, headers={**AUTH, "Content-Type": "application/json"})
    assert "te groot" in (await dutch_error(resp, 413))["fout"]

    # Chunked, without Content-Length: the limit applies while reading. Sent over a raw
    # socket in one go, so the early answer does not race the upload.
    chunk = b"x" * 40_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(2)) + b"0\r\n\r\n"
    head = (
        f"PUT {URL} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {AUTH['Authorization']}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line
    assert "te groot" in rest.decode("utf-8")

    resp = await client.put(
        URL, data="gemeente=Breda", headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    )
    await dutch_error(resp, 415)
    resp = await client.delete(URL, headers=AUTH)
    await dutch_error(resp, 405)


async def test_database_down_gives_503_in_dutch(aiohttp_client, tmp_path):
    settings = make_status_settings("postgresql://postgres@127.0.0.1:1/kw", tmp_path)
    client = await aiohttp_client(create_api_app(settings))
    resp = await client.get(URL, headers=AUTH)
    assert "database" in (await dutch_error(resp, 503))["fout"]
    resp = await client.put(URL, json=NEW, headers=AUTH)
    await dutch_error(resp, 503)
