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
