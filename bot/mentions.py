"""Who a message may ping, always spelled out in full.

nextcord 3.2's `AllowedMentions.to_dict` (nextcord/mentions.py, lines 77-98) reads a field
left as None as "allow everything", and tests `self.users is None` where it means
`self.roles`: `AllowedMentions(roles=[role])` serialises as
`{"parse": ["everyone", "users", "roles"]}`, dropping the role list. Every field is set
here, so what is sent is exactly what was asked for."""

from __future__ import annotations

from collections.abc import Iterable

import nextcord


def no_mentions() -> nextcord.AllowedMentions:
    """Nothing in the message pings anyone (names, @everyone and role text included)."""
    return nextcord.AllowedMentions(everyone=False, users=False, roles=False, replied_user=False)


def only(roles: Iterable[int] = (), users: Iterable[int] = ()) -> nextcord.AllowedMentions:
    """Exactly these roles and users may be pinged; @everyone and @here never."""
    role_objects = [nextcord.Object(int(role_id)) for role_id in dict.fromkeys(roles)]
    user_objects = [nextcord.Object(int(user_id)) for user_id in dict.fromkeys(users)]
    return nextcord.AllowedMentions(
        everyone=False,
        users=user_objects or False,
        roles=role_objects or False,
        replied_user=False,
    )


_UPDATE_MESSAGE = 7  # InteractionResponseType.message_update


def install_update_default() -> None:
    """Give every message update (a component's `interaction.response.edit_message`) an
    explicit allowed_mentions: nothing pings.

    nextcord 3.2's `InteractionResponse.edit_message` (nextcord/interactions.py, lines
    1139-1255) takes no `allowed_mentions` and sends none, unlike `send_message`, which
    applies the client's default (lines 1065-1073), and follow-ups, which do the same
    (webhook/async_.py, lines 569-577). Discord accepts allowed_mentions in an update's data;
    it is added here, once per process, where nextcord sends the callback."""
    from nextcord.webhook.async_ import AsyncWebhookAdapter

    original = AsyncWebhookAdapter.create_interaction_response
    if getattr(original, "_foundry_update_default", False):
        return

    def create_interaction_response(  # type: ignore[no-untyped-def]
        self, interaction_id, token, *, session, type, data=None, files=None
    ):
        if type == _UPDATE_MESSAGE and (data is None or "allowed_mentions" not in data):
            data = {**(data or {}), "allowed_mentions": no_mentions().to_dict()}
        return original(
            self, interaction_id, token, session=session, type=type, data=data, files=files
        )

    create_interaction_response._foundry_update_default = True  # type: ignore[attr-defined]
    AsyncWebhookAdapter.create_interaction_response = create_interaction_response  # type: ignore[method-assign]
