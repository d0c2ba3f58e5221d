"""Conversation moves that refer to what was said before: "ja" or "nee" to an offer, "waarom?",
"kun je dat herhalen?", "waar vind ik mijn aanvraagnummer?", questions about the status just
shown ("hoeveel hebben we gekregen?"), "laat maar" and the helpdesk's opening hours.

What the assistant offered, said or showed is read back from the tracker's events, so these
actions need no state of their own.
"""

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import KwAction, latest_intent, latest_text, utter
from actions.faq import TOPIC_SLOT, ActionRephrase, misread
from actions.handoff import waiting_ticket, withdraw_in_other_words, withdraw_ticket
from actions.status import LOOKUP_BUTTON, STATUS_CONTEXT_SLOT, STATUS_SLOT
from bot import texts
from bot.core.reply import HANDOFF_BUTTON, WITHDRAW_BUTTON, Button, Reply
from bot.handoff import hours, states
from bot.handoff.wording import explicit_withdrawal
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.render import answer_for
from bot.status import followup, statuses

#: A "ja" to one of these buttons starts its form.
FORM_OF_PAYLOAD = {HANDOFF_BUTTON.payload: "handoff_form", "/status_aanvraag": "status_form"}


def previous_turn(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the assistant's turn before the latest user message (oldest first)."""
    seen_latest_user = False
    turn: list[dict[str, Any]] = []
    for event in reversed(events):
        if event.get("event") == "user":
            if seen_latest_user:
                break
            seen_latest_user = True
            continue
        if seen_latest_user:
            turn.append(event)
    return list(reversed(turn))


def bot_messages(turn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in turn if e.get("event") == "bot" and (e.get("text") or "").strip()]


def offered_payloads(turn: list[dict[str, Any]]) -> list[str]:
    """The buttons of the previous turn, without "Vraag intrekken" (never accepted by a "ja")."""
    payloads: list[str] = []
    for message in bot_messages(turn):
        for button in (message.get("data") or {}).get("buttons") or []:
            payload = button.get("payload") if isinstance(button, dict) else None
            if isinstance(payload, str) and payload != WITHDRAW_BUTTON.payload and payload not in payloads:
                payloads.append(payload)
    return payloads


def withdraw_offered(turn: list[dict[str, Any]]) -> bool:
    return any(
        isinstance(b, dict) and b.get("payload") == WITHDRAW_BUTTON.payload
        for m in bot_messages(turn)
        for b in (m.get("data") or {}).get("buttons") or []
    )


def last_action(turn: list[dict[str, Any]]) -> str | None:
    names = [e.get("name") for e in turn if e.get("event") == "action" and e.get("name") != "action_listen"]
    return names[-1] if names else None


class ReplyMove(KwAction):
    """A move that refers back to the conversation ("ja", "nee", "waarom?", "herhaal"). Short
    nonsense that the NLU read as such a move was not understood: the rephrase path answers."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        if misread(tracker):
            return await ActionRephrase(self._settings).act(dispatcher, tracker)
        return await self.act(dispatcher, tracker)


class ActionAffirm(ReplyMove):
    """ "ja" after an offer accepts it: the helpdesk, a status lookup or the one answer offered."""

    NAME = "action_affirm"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        turn = previous_turn(tracker.events)
        asked = last_action(turn) == ActionStop.NAME or any(
            m.get("text") == texts.STOP_WITHDRAW_CONFIRM for m in bot_messages(turn)
        )
        if asked and withdraw_offered(turn):
            # "ja" to "Wil je die vraag intrekken?" (asked by action_stop, or by the withdrawal,
            # deny or rephrase path for vaguer words): the one place a yes withdraws.
            return [FollowupAction("action_handoff_withdraw")]
        offered = offered_payloads(turn)
        if HANDOFF_BUTTON.payload in offered:
            return [FollowupAction(FORM_OF_PAYLOAD[HANDOFF_BUTTON.payload])]
        if len(offered) == 1:
            payload = offered[0]
            if payload in FORM_OF_PAYLOAD:
                return [FollowupAction(FORM_OF_PAYLOAD[payload])]
            intent = payload.lstrip("/")
            reply = answer_for(get_knowledge_base(), intent)
            if reply is not None:
                utter(dispatcher, reply)
                return [SlotSet(TOPIC_SLOT, intent)]
        dispatcher.utter_message(text=texts.OFFER_PICK if offered else texts.OFFER_NONE)
        return []


class ActionDeny(ReplyMove):
    NAME = "action_deny"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        if await withdraw_in_other_words(dispatcher, tracker, self.settings):  # "nee, trek mijn vraag in"
            return []
        dispatcher.utter_message(text=texts.OFFER_DECLINED)
        return []


class ActionExplain(ReplyMove):
    """ "waarom?" / "wat betekent dat?": after a status, that status explained; otherwise ask
    what the user wants to know."""

    NAME = "action_explain"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        turn = previous_turn(tracker.events)
        status = statuses.find(tracker.get_slot(STATUS_SLOT))
        if status is not None and last_action(turn) == "action_status_lookup":
            text = texts.STATUS_EXPLAIN.format(
                label=status.label, explanation=status.explanation, next_step=status.next_step
            )
            utter(dispatcher, Reply(f"{text}\n\n{texts.STATUS_EXPLAIN_WHY}", (HANDOFF_BUTTON,)))
            return []
        utter(dispatcher, Reply(texts.EXPLAIN_NOTHING, (HANDOFF_BUTTON,)))
        return []


class ActionRepeat(ReplyMove):
    """ "Kun je dat herhalen?": the assistant's previous turn again, with its buttons and sources."""

    NAME = "action_repeat"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        messages = bot_messages(previous_turn(tracker.events))
        if not messages:
            dispatcher.utter_message(text=texts.NOTHING_TO_REPEAT)
            return []
        for message in messages:
            data = message.get("data") or {}
            kwargs: dict[str, Any] = {"text": message.get("text"), "buttons": data.get("buttons") or []}
            if isinstance(data.get("custom"), dict):
                kwargs["json_message"] = data["custom"]
            dispatcher.utter_message(**kwargs)
        return []


class ActionGeenAanvraagnummer(KwAction):
    """ "Ik heb geen aanvraagnummer" outside the status form: where to find it, or the helpdesk."""

    NAME = "action_geen_aanvraagnummer"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        utter(dispatcher, Reply(texts.STATUS_WHERE_NUMBER, (HANDOFF_BUTTON,)))
        return []


class ActionStatusVervolg(KwAction):
    """ "Hoeveel hebben we gekregen?", "wanneer krijgen we het geld?": answered from the status
    shown in this session; without one, the lookup is offered."""

    NAME = "action_status_vervolg"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        reply = followup.answer(
            tracker.get_slot(STATUS_CONTEXT_SLOT),
            latest_text(tracker),
            latest_intent(tracker),
            get_knowledge_base().unknown_offer,
        )
        if reply is None:
            reply = Reply(texts.STATUS_FOLLOWUP["none"], (LOOKUP_BUTTON,))
        utter(dispatcher, reply)
        return []


class ActionHelpdeskOpeningstijden(KwAction):
    """ "Wanneer is de helpdesk open?": the opening hours, whether or not a question waits."""

    NAME = "action_helpdesk_openingstijden"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        schedule = hours.for_settings(self.settings)
        text = texts.HOURS.format(schedule=schedule.describe())
        if schedule.is_open():
            text += texts.HOURS_OPEN_NOW
        else:
            text += texts.HOURS_CLOSED_NOW.format(when=schedule.when_text(schedule.next_opening()))
        ticket = await waiting_ticket(tracker, self.settings)
        if ticket is not None and ticket.state == states.WACHTRIJ:
            utter(dispatcher, Reply(text + texts.HOURS_WAITING, (WITHDRAW_BUTTON,), about_handoff=True))
        elif ticket is not None:
            utter(dispatcher, Reply(f"{text} {texts.HANDOFF_IN_PROGRESS}", about_handoff=True))
        else:
            utter(dispatcher, Reply(text + texts.HOURS_ASK, (HANDOFF_BUTTON,)))
        return []


class ActionStop(KwAction):
    """ "Laat maar" outside a form. With a question waiting at the helpdesk, ask whether to
    withdraw it: stopping here must not leave it queued without the user knowing."""

    NAME = "action_stop"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        ticket = await waiting_ticket(tracker, self.settings)
        if ticket is not None and ticket.state == states.WACHTRIJ and explicit_withdrawal(latest_text(tracker)):
            await withdraw_ticket(dispatcher, ticket, self.settings)  # "laat maar, vraag intrekken"
            return []
        if ticket is not None and ticket.state == states.WACHTRIJ:
            keep = Button(texts.STOP_KEEP_BUTTON, "/deny")
            utter(dispatcher, Reply(texts.STOP_WITHDRAW_CONFIRM, (WITHDRAW_BUTTON, keep), about_handoff=True))
            return []
        dispatcher.utter_message(text=texts.STOP)
        return []
