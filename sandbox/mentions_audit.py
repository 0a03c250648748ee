"""Who may a message ping? An audit of the sandbox's recorded REST calls.

Every call the server answers is logged in ``server.calls`` with its JSON body (for a
multipart upload, the parsed ``payload_json``). :func:`mentions_audit` reads those bodies and
lists each message the bot sent or edited whose ``allowed_mentions`` is missing, or whose
``parse`` lets ``@everyone``/``@here`` ping::

    from sandbox.mentions_audit import mentions_audit

    problems = mentions_audit(server.calls)
    assert problems == [], "\\n".join(map(str, problems))

Message-sending calls: channel message create/edit, webhook execute and webhook message edits
(interaction follow-ups and ``@original`` included), interaction callbacks that carry a
message (types 4 and 7), and forum/media posts (``POST /channels/{id}/threads`` with a
``message``). Only calls Discord accepted (2xx) are audited: a refused one sent nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WEBHOOK = "/webhooks/{webhook_id}/{webhook_token}"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
MESSAGE_CALLBACKS = frozenset({4, 7})  # CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE
SENDING_ROUTES = frozenset(
    {
        ("POST", "/channels/{channel_id}/messages"),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
        ("POST", WEBHOOK),
        ("PATCH", WEBHOOK + "/messages/@original"),
        ("PATCH", WEBHOOK + "/messages/{message_id}"),
        ("POST", CALLBACK),
        ("POST", "/channels/{channel_id}/threads"),
    }
)


@dataclass(frozen=True)
class MentionProblem:
    """One sent message whose mentions are not explicit, or that may ping everyone."""

    index: int  # position in the call log
    method: str
    path: str
    route: str
    reason: str
    content: str  # the message text, to find the sender

    def __str__(self) -> str:
        return f"call #{self.index} {self.method} {self.path}: {self.reason} ({self.content!r})"


def sent_message(call: Mapping[str, Any]) -> dict[str, Any] | None:
    """The message payload a logged call sent, or None if the call sends no message."""
    if (call.get("method"), call.get("route")) not in SENDING_ROUTES:
        return None
    status = call.get("status")
    if not isinstance(status, int) or not 200 <= status < 300:
        return None
    body = call.get("json")
    if not isinstance(body, dict):
        return None
    if call["route"] == CALLBACK:
        if body.get("type") not in MESSAGE_CALLBACKS:
            return None
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    if call["route"] == "/channels/{channel_id}/threads":
        message = body.get("message")
        return message if isinstance(message, dict) else None
    return body


def mentions_audit(
    calls: Iterable[Mapping[str, Any]], *, strict: bool = False
) -> list[MentionProblem]:
    """Every message-sending call whose ``allowed_mentions`` is missing or whose ``parse``
    contains ``"everyone"``.

    A message without ``content`` cannot ping anyone (mentions in embeds never do), so a
    missing ``allowed_mentions`` there is listed only with ``strict=True``.
    """
    problems = []
    for index, call in enumerate(calls):
        message = sent_message(call)
        if message is None:
            continue
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        reason = _problem(message.get("allowed_mentions"), strict or bool(text))
        if reason is not None:
            route = str(call.get("route"))
            path = str(call.get("path"))
            problems.append(MentionProblem(index, call["method"], path, route, reason, text))
    return problems


def _problem(mentions: Any, required: bool) -> str | None:
    if mentions is None:
        return "no allowed_mentions" if required else None
    if not isinstance(mentions, dict):
        return f"allowed_mentions is {type(mentions).__name__}, not an object"
    parse = mentions.get("parse")
    if isinstance(parse, list) and "everyone" in parse:
        return f"allowed_mentions.parse {parse} lets @everyone and @here ping"
    return None
