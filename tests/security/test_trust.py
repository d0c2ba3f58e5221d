"""Issue 21, M4: Rasa and the action server trust only the gateway.

A local process reaches 127.0.0.1 too. Rasa's REST channel and the action server now refuse a
request without their token, and the actions believe a message's client id and portal scope only
when the gateway's signature (KW_IDENTITY_KEY) verifies for that conversation. Each test failed on
the code before the fix: Rasa answered anyone, listed a gemeente's applications for a forged
``metadata.portal``, counted a forged client id as a new address, and the action server ran
actions for anyone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

from bot.core import identity
from rasa_runtime.endpoints import action_token

LIST_QUESTION = "welke aanvragen hebben wij lopen?"


def post(url: str, body: dict, headers: dict | None = None) -> tuple:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def webhook(stack, sender: str) -> str:
    return f"{stack.url_for(sender)}/webhooks/rest/webhook"


def test_rasa_rest_channel_refuses_a_local_post_without_its_token(rasa_stack):
    sender = f"lokaal-{uuid.uuid4().hex}"
    body = {"sender": sender, "message": "Welke gebieden doen mee?"}
    token = rasa_stack.settings.rasa_token
    assert post(webhook(rasa_stack, sender), body)[0] == 401
    assert post(webhook(rasa_stack, sender) + "?token=fout", body)[0] == 401
    assert post(webhook(rasa_stack, sender), body, {"Authorization": "Bearer fout"})[0] == 401
    # Nothing of the refused posts reached the conversation.
    status, tracker = 0, ""
    req = urllib.request.Request(f"{rasa_stack.url_for(sender)}/conversations/{sender}/tracker?token={token}")
    with urllib.request.urlopen(req, timeout=20) as resp:
        status, tracker = resp.status, resp.read().decode("utf-8")
    assert status == 200 and "Welke gebieden" not in tracker
    # With the token (header, or ?token= as eval/ask.py sends it) the channel answers.
    assert post(webhook(rasa_stack, sender), body, {"Authorization": f"Bearer {token}"})[0] == 200
    ok, answer = post(webhook(rasa_stack, sender) + f"?token={token}", body)
    assert ok == 200 and json.loads(answer)


def demo_numbers(rasa_stack, gemeente: str) -> list:
    return [row.aanvraagnummer for row in rasa_stack.demo if row.gemeente == gemeente]


def test_forged_portal_metadata_lists_nothing(rasa_stack):
    gemeente = next(row.gemeente for row in rasa_stack.demo)
    numbers = demo_numbers(rasa_stack, gemeente)
    portal = {"gemeente": gemeente, "user": "vervalst"}

    def listing(metadata, sender) -> str:
        answer = rasa_stack.say(LIST_QUESTION, sender, metadata=metadata, signed=False)
        return "\n".join(m.get("text") or "" for m in answer)

    unsigned = listing({"portal": portal, "client_id": "x"}, f"f-{uuid.uuid4().hex}")
    assert not any(n in unsigned for n in numbers), unsigned  # before: the gemeente's list
    key = rasa_stack.settings.identity_key
    bad = listing(dict(identity.signed_metadata(key, "iemand", "x", portal)), f"f-{uuid.uuid4().hex}")
    wrong_key = listing(identity.signed_metadata("een-andere-sleutel-0123456789abcdef", "s", "x", portal), "s")
    for text in (bad, wrong_key):
        assert not any(n in text for n in numbers), text
    # The gateway's own signature for this conversation: the list (the test can fail).
    sender = f"echt-{uuid.uuid4().hex}"
    signed = listing(identity.signed_metadata(key, sender, "x", portal), sender)
    assert any(n in signed for n in numbers), signed


def test_forged_client_ids_do_not_escape_the_lockout(rasa_stack):
    settings = rasa_stack.settings
    row = rasa_stack.demo[0]
    token = {"Authorization": f"Bearer {settings.rasa_token}"}

    def lookup(code: str, client: str) -> str:
        sender = f"c-{uuid.uuid4().hex}"
        texts = []
        for message in ("Wat is de status van mijn aanvraag?", row.aanvraagnummer, code):
            status, body = post(
                webhook(rasa_stack, sender),
                {"sender": sender, "message": message, "metadata": {"client_id": client}},
                token,
            )
            assert status == 200, body
            texts = [m.get("text") or "" for m in json.loads(body)]
        return "\n".join(texts)

    for i in range(settings.status_max_failures):
        lookup("QQQQ-QQ3Q", f"vervalst-{i}")
    # Every unsigned client id is the same unverified client: it is locked out now.
    assert "te vaak" in lookup(row.code, "vervalst-nieuw")


def test_the_action_server_refuses_a_call_without_its_token(rasa_stack):
    settings = rasa_stack.settings
    body = {
        "next_action": "action_status_list",
        "sender_id": "lokaal",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "lokaal",
            "slots": {},
            "latest_message": {},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }
    assert post(settings.actions_url, body)[0] == 401
    assert post(settings.actions_url, body, {"Authorization": "Bearer fout"})[0] == 401
    assert post(settings.actions_url, body, {"Authorization": f"Bearer {settings.rasa_token}"})[0] == 401
    status, answer = post(settings.actions_url, body, {"Authorization": f"Bearer {action_token(settings.rasa_token)}"})
    assert status == 200 and "responses" in json.loads(answer)
    with urllib.request.urlopen(f"http://{settings.host}:{settings.actions_port}/health", timeout=10) as resp:
        assert resp.status == 200  # the readiness probe needs no token
