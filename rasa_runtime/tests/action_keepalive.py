"""Calls to an action server through Rasa's endpoint with the kept connection
(connections_patches.install_action_keepalive): answers, errors, a restarted server and odd
bodies. Writes JSON to the path given first."""

import asyncio
import json
import sys

from aiohttp import web
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

import connections_patches

HOI = {"events": [], "responses": [{"text": "hoi"}]}
#: Bodies that must read back as what was sent (ujson encodes them; an integer beyond 64 bits
#: goes to json.dumps).
ODD = [
    {"text": 'één €/m² <b>\u2028 "x"', "confidence": 0.1 + 0.2, "n": None, "t": True},
    {"big": 2**70, "nested": [[1.5e-300], {"": "/"}]},
]


class ActionServer:
    """An aiohttp stand-in for the action server that notes each request's client port."""

    def __init__(self) -> None:
        self.peers = []
        self.received = []
        self.runner = None

    async def webhook(self, request: web.Request) -> web.Response:
        self.peers.append(request.transport.get_extra_info("peername")[1])
        self.received.append(await request.text())
        if (await request.json()).get("fail"):
            return web.json_response({"error": "kapot"}, status=500)
        return web.json_response(HOI)

    async def start(self, port: int = 0) -> int:
        app = web.Application()
        app.router.add_post("/webhook", self.webhook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        return site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self.runner.cleanup()


async def calls() -> dict:
    server = ActionServer()
    port = await server.start()
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    answers = [await endpoint.request(json={"next_action": "x"}, method="post") for _ in range(3)]
    try:
        await endpoint.request(json={"fail": True}, method="post")
        error = None
    except ClientResponseError as exc:
        error = exc.status
    after_error = await endpoint.request(json={}, method="post")
    for body in ODD:
        await endpoint.request(json=body, method="post")
    same = [json.loads(text) == body for text, body in zip(server.received[-2:], ODD, strict=True)]
    # The action server restarts (the supervisor): the kept connection is gone, the next call
    # opens a new one.
    await server.stop()
    await server.start(port)
    restarted = await endpoint.request(json={}, method="post")
    await server.stop()
    return {
        "answers": answers,
        "error": error,
        "after_error": after_error,
        "restarted": restarted,
        "connections": len(set(server.peers[:5])),
        "total": len(set(server.peers)),
        "same": same,
    }


def main(out_path: str) -> None:
    connections_patches.install_action_keepalive()
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(asyncio.run(calls()), handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
