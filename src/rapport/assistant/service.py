"""The write path of the assistant: a customer's message in a conversation, what the assistant does
with it (model.decide), and the handoff that turns the conversation into a service-desk case.

A conversation belongs to the browser that started it: the source whose write key it came through
and its anonymousId. Anyone else naming its id is answered as if it did not exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.assistant import model
from rapport.assistant.deploy import deployed
from rapport.assistant.intents import MINILM, IntentModel, Prediction
from rapport.assistant.sentiment import sentiment, turns_negative
from rapport.assistant.store import assistant_conversations, assistant_turns, conversation_by_token, turns_of
from rapport.db.engine import Database
from rapport.identity.model import Identifier
from rapport.kb.markdown import plain_text
from rapport.kb.store import kb_articles
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound
from rapport.profiles.service import find_by_identifier
from rapport.service.requester import Requester
from rapport.service.service import Message, NewCase, TranscriptLine, add_customer_message, open_case_from_transcript
from rapport.service.store import cases

ACTOR = "assistant"
MAX_ANONYMOUS_ID = 400
ANSWER_CHARS = 600


@dataclass
class Reply:
    conversation_id: str
    status: str
    action: str  # answer | clarify | retry | handoff | relay
    text: str
    prediction: dict[str, Any] | None = None
    article: dict[str, Any] | None = None
    options: list[dict[str, str]] = field(default_factory=list)
    case: dict[str, Any] | None = None
    handoff_reason: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "status": self.status,
            "action": self.action,
            "text": self.text,
            "intent": (self.prediction or {}).get("intent"),
            "confidence": (self.prediction or {}).get("confidence"),
            "article": self.article,
            "options": self.options,
            "case": self.case,
            "handoff_reason": self.handoff_reason,
        }


def visitor_key(anonymous_id: str) -> str:
    cleaned = anonymous_id.strip()
    if not 1 <= len(cleaned) <= MAX_ANONYMOUS_ID or any(ord(c) < 32 for c in cleaned):
        raise Invalid("invalid_anonymous_id", f"anonymousId is 1 to {MAX_ANONYMOUS_ID} printable characters")
    return Identifier("anonymous_id", cleaned).key


def published_articles(conn: Connection, slugs: list[str]) -> dict[str, dict[str, Any]]:
    slugs = [s for s in slugs if s]
    if not slugs:
        return {}
    query = sa.select(kb_articles).where(kb_articles.c.slug.in_(slugs), kb_articles.c.status == "published")
    return {row.slug: dict(row._mapping) for row in conn.execute(query)}


def article_view(article: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": article["id"],
        "slug": article["slug"],
        "title": article["title"],
        "url": f"/portal/help/articles/{article['slug']}",
    }


def answer_of(article: dict[str, Any]) -> str:
    """The article's answer: its first paragraph, as plain text."""
    first = next((p for p in article["body"].split("\n\n") if p.strip() and not p.lstrip().startswith("#")), "")
    text = plain_text(first).strip() or article["title"]
    return text if len(text) <= ANSWER_CHARS else text[: ANSWER_CHARS - 1].rsplit(" ", 1)[0] + "…"


def classify(db: Database, text: str) -> dict[str, Any]:
    """For staff trying the assistant: the intent, how sure, in scope or not, and its article."""
    text = _clean(text)
    intent_model = deployed(db.settings)
    if intent_model is None:
        raise Conflict("assistant_not_trained", "no intent model is trained yet: run `rapport assistant train`")
    prediction = intent_model.predict(text)
    with db.read() as conn:
        found = published_articles(conn, [prediction.intent or ""]).get(prediction.intent or "")
    return prediction.public() | {
        "article_id": found["id"] if found else None,
        "slug": found["slug"] if found else None,
        "model": intent_model.kind,
    }


def _clean(text: str) -> str:
    try:
        return model.clean_message(text)
    except model.MessageError as exc:
        raise Invalid(exc.code, str(exc)) from None


def _guess(prediction: Prediction) -> model.Guess:
    return model.Guess(
        prediction.intent,
        prediction.confidence,
        prediction.runner_up,
        prediction.runner_up_confidence,
        prediction.in_scope,
        prediction.best_is_intent,
    )


def own_conversation(conn: Connection, token: str, source_id: int, key: str) -> dict[str, Any]:
    found = conversation_by_token(conn, token) if len(token) <= 32 else None
    if found is None or found["visitor_key"] != key or found["source_id"] != source_id:
        raise NotFound("conversation", "conversation_not_found")  # another visitor's is as unknown as none
    return found


def post_message(
    db: Database,
    *,
    source_id: int,
    anonymous_id: str,
    text: str,
    conversation_id: str | None = None,
    choice: str | None = None,
) -> Reply:
    key = visitor_key(anonymous_id)
    text = _clean(text)
    now = utcnow()
    with db.read() as conn:
        conversation = own_conversation(conn, conversation_id, source_id, key) if conversation_id else None
    if conversation is not None and conversation["status"] == model.HANDED_OFF and conversation["case_id"]:
        relayed = _relay(db, conversation, text, now)
        if relayed is not None:
            return relayed
        conversation = _back_to_assistant(db, conversation)
    state = model.State()
    if conversation is not None and conversation["status"] != model.HANDED_OFF:
        state = model.State(conversation["status"], conversation["failed_turns"], tuple(conversation["options"]))
    intent_model = deployed(db.settings)
    embedded = intent_model.embed([text]) if intent_model is not None and intent_model.kind == MINILM else None
    embedding = None if embedded is None else embedded[0]
    prediction = intent_model.predict(text, embedding) if intent_model is not None else None
    negative = turns_negative(sentiment(text, embedding), text)
    with db.read() as conn:
        wanted = [prediction.intent or "", prediction.runner_up or ""] if prediction else []
        articles = published_articles(conn, wanted + list(state.options))
    picked = None
    if state.status == model.CLARIFYING:
        titles = [articles[o]["title"] if o in articles else o for o in state.options]
        picked = choice if choice in state.options else None
        picked = picked or model.chosen_option(text, state.options, titles, _guess(prediction) if prediction else None)
    decision = model.decide(
        text,
        _guess(prediction) if prediction else None,
        state,
        negative=negative,
        has_article=frozenset(articles),
        choice=picked,
    )
    return _act(db, decision, conversation, source_id, key, text, now, prediction, articles, intent_model)


def _act(
    db: Database,
    decision: model.Decision,
    conversation: dict[str, Any] | None,
    source_id: int,
    key: str,
    text: str,
    now: datetime,
    prediction: Prediction | None,
    articles: dict[str, dict[str, Any]],
    intent_model: IntentModel | None,
) -> Reply:
    guessed = prediction.public() if prediction else None
    article = articles.get(decision.intent or "") if decision.action == "answer" else None
    options = [{"intent": o, "title": articles[o]["title"]} for o in decision.options if o in articles]
    status, says, case = model.ASSISTANT, "", None
    if decision.action == "answer" and article is not None:
        says = answer_of(article)
    elif decision.action == "clarify":
        status, says = model.CLARIFYING, model.clarify_text([o["title"] for o in options])
    elif decision.action == "retry":
        status, says = model.ASSISTANT, model.RETRY_SAYS.get(decision.reason or "", model.RETRY_SAYS["not_helped"])
    turn = {
        "action": decision.action,
        "intent": prediction.intent if prediction else None,
        "confidence": prediction.confidence if prediction else None,
        "article_id": article["id"] if article else None,
        "article_slug": article["slug"] if article else None,
    }
    if decision.action == "handoff":
        status = model.HANDED_OFF
        case = _hand_off(db, conversation, key, text, now, decision, prediction)
        says = model.handoff_text(decision.reason or "", case["reference"])
    token = _record(db, conversation, source_id, key, text, now, says, turn, status, decision, case)
    return Reply(
        conversation_id=token,
        status=status,
        action=decision.action,
        text=says,
        prediction=guessed | {"model": intent_model.kind} if guessed and intent_model else None,
        article=article_view(article) if article else None,
        options=options,
        case={"reference": case["reference"]} if case else None,
        handoff_reason=decision.reason if decision.action == "handoff" else None,
    )


def _record(
    db: Database,
    conversation: dict[str, Any] | None,
    source_id: int,
    key: str,
    text: str,
    now: datetime,
    says: str,
    turn: dict[str, Any],
    status: str,
    decision: model.Decision,
    case: dict[str, Any] | None,
) -> str:
    c = assistant_conversations.c
    values: dict[str, Any] = {
        "status": status,
        "failed_turns": decision.failed_turns,
        "options": list(decision.options),
        "updated_at": now,
    }
    if case is not None:
        values |= {"case_id": case["id"], "handoff_reason": decision.reason}
    with db.write() as conn:
        if conversation is None:
            token = secrets.token_urlsafe(16)
            values |= {"token": token, "source_id": source_id, "visitor_key": key, "started_at": now}
            conversation_id = conn.execute(
                assistant_conversations.insert().values(**values).returning(c.id)
            ).scalar_one()
        else:
            token, conversation_id = conversation["token"], conversation["id"]
            conn.execute(assistant_conversations.update().where(c.id == conversation_id).values(**values))
        conn.execute(
            assistant_turns.insert().values(conversation_id=conversation_id, at=now, author="customer", text=text)
        )
        conn.execute(
            assistant_turns.insert().values(
                conversation_id=conversation_id, at=now, author="assistant", text=says, **turn
            )
        )
    return str(token)


def _requester(key: str) -> Any:
    def resolve(conn: Connection) -> Requester:
        profile = find_by_identifier(conn, Identifier.from_key(key))
        how = "chat visitor: the browser's anonymousId (a claim of a client source, not proof of who they are)"
        return Requester(profile, None if profile else key, None, None, how)

    return resolve


def _hand_off(
    db: Database,
    conversation: dict[str, Any] | None,
    key: str,
    text: str,
    now: datetime,
    decision: model.Decision,
    prediction: Prediction | None,
) -> dict[str, Any]:
    """Open the case: the whole conversation, from the customer's first message (their wait starts
    there), and an internal note of why the assistant handed it over."""
    lines: list[TranscriptLine] = []
    if conversation is not None:
        with db.read() as conn:
            for turn in turns_of(conn, conversation["id"]):
                if turn["text"]:
                    lines.append(TranscriptLine(turn["at"], turn["author"], turn["text"]))
    lines.append(TranscriptLine(now, "customer", text))
    first = next(line.text for line in lines if line.author_kind == "customer")
    subject = "Chat: " + (first if len(first) <= 80 else first[:79].rsplit(" ", 1)[0] + "…")
    intent = prediction.intent if prediction and prediction.best_is_intent else None
    tags = ["assistant", f"handoff-{decision.reason}".replace("_", "-")]
    note = f"The assistant handed this conversation over: {decision.reason}."
    if prediction is not None:
        note += f" Last intent guessed: {prediction.intent} ({prediction.confidence:.2f})."
    new = NewCase(subject=subject, channel="chat", topic=intent, tags=tags)
    return open_case_from_transcript(db, _requester(key), new, lines, actor=ACTOR, note=note)


def _relay(db: Database, conversation: dict[str, Any], text: str, now: datetime) -> Reply | None:
    """After the handoff the conversation is the case: what the customer writes goes onto it. None
    when the case is closed (the assistant answers again)."""
    case_id = int(conversation["case_id"])
    for _ in range(5):  # follow merges
        try:
            add_customer_message(db, case_id, Message(text, channel="chat"), actor="chat visitor")
            break
        except Conflict as exc:
            with db.read() as conn:
                row = conn.execute(sa.select(cases.c.merged_into).where(cases.c.id == case_id)).first()
            if exc.code == "case_merged" and row is not None and row.merged_into:
                case_id = int(row.merged_into)
                continue
            return None
    else:
        return None
    with db.write() as conn:
        conn.execute(
            assistant_turns.insert().values(
                conversation_id=conversation["id"], at=now, author="customer", text=text, action=None
            )
        )
        conn.execute(
            assistant_conversations.update()
            .where(assistant_conversations.c.id == conversation["id"])
            .values(case_id=case_id, updated_at=now)
        )
        reference = conn.execute(sa.select(cases.c.reference).where(cases.c.id == case_id)).scalar_one()
    return Reply(conversation["token"], model.HANDED_OFF, "relay", "", case={"reference": reference})


def _back_to_assistant(db: Database, conversation: dict[str, Any]) -> dict[str, Any]:
    with db.write() as conn:
        conn.execute(
            assistant_conversations.update()
            .where(assistant_conversations.c.id == conversation["id"])
            .values(status=model.ASSISTANT, failed_turns=0, options=[], case_id=None)
        )
    return conversation | {"status": model.ASSISTANT, "failed_turns": 0, "options": [], "case_id": None}
