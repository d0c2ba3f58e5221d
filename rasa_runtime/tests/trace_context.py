"""The Rasa process's part of a trace (tracing_patches, channels.traced) against a stand-in
action server: the REST channel continues the trace named by the message metadata, a call to
the action server inside an action span carries that span's traceparent header, and every span
goes to the trace file. Writes JSON to the path given first; the trace file is the second."""

import asyncio
import json
import os
import sys

from aiohttp import web

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Message:
    """What the channel hands on: Rasa's UserMessage has these two fields for us."""

    def __init__(self, sender_id: str, metadata: dict) -> None:
        self.sender_id = sender_id
        self.metadata = metadata


async def calls(traced_channel) -> dict:
    from rasa.utils.endpoints import EndpointConfig

    import otel

    headers = []

    async def webhook(request: web.Request) -> web.Response:
        headers.append(request.headers.get("traceparent"))
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    seen = {}

    async def handle(message) -> None:
        seen["ids"] = otel.current_ids()
        seen["conversation"] = otel.current_conversation()
        with otel.span("rasa.action", {"kw.action": "action_answer_faq"}):
            seen["action"] = otel.current_ids()
            await endpoint.request(json={"next_action": "action_answer_faq"}, method="post")

    await traced_channel(handle)(Message("s-geheim-0123", {"traceparent": TRACEPARENT, "msg_id": "m1"}))
    # Outside any turn: no header (nothing to continue).
    await endpoint.request(json={}, method="post")
    await runner.cleanup()
    return {"headers": headers, "seen": seen, "pseudonym": otel.pseudonym("s-geheim-0123")}


def main(out_path: str, trace_file: str) -> None:
    os.environ["KW_TRACE_FILE"] = trace_file
    import channels
    import connections_patches
    import tracing_patches

    connections_patches.install_action_keepalive()
    assert tracing_patches.install()
    result = asyncio.run(calls(channels.traced))
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
