"""Discord's permission computation: base permissions, then channel overwrites."""

from __future__ import annotations

import pytest

from sandbox import permissions as perm
from sandbox.permissions import OverwriteBits

GUILD, OWNER, MEMBER, MOD_ROLE, HELPER_ROLE = 1, 2, 3, 10, 11
SEND = perm.SEND_MESSAGES
VIEW = perm.VIEW_CHANNEL


def base(member_id: int = MEMBER, roles: tuple[int, ...] = (), **role_bits: int) -> int:
    role_permissions = {GUILD: VIEW | SEND, MOD_ROLE: perm.MANAGE_MESSAGES, HELPER_ROLE: 0}
    role_permissions.update({int(k[1:]): v for k, v in role_bits.items()})
    return perm.base_permissions(
        guild_id=GUILD,
        owner_id=OWNER,
        member_id=member_id,
        member_role_ids=roles,
        role_permissions=role_permissions,
    )


def channel(perms: int, overwrites: list[OverwriteBits], roles: tuple[int, ...] = ()) -> int:
    return perm.apply_overwrites(
        perms, guild_id=GUILD, member_id=MEMBER, member_role_ids=roles, overwrites=overwrites
    )


def test_base_is_everyone_or_member_roles() -> None:
    assert base() == VIEW | SEND
    assert base(roles=(MOD_ROLE,)) == VIEW | SEND | perm.MANAGE_MESSAGES


def test_owner_and_administrator_get_everything() -> None:
    assert base(member_id=OWNER) == perm.ALL_PERMISSIONS
    assert base(roles=(HELPER_ROLE,), r11=perm.ADMINISTRATOR) == perm.ALL_PERMISSIONS
    denied_all = [OverwriteBits(GUILD, 0, deny=perm.ALL_PERMISSIONS)]
    assert channel(base(member_id=OWNER), denied_all) == perm.ALL_PERMISSIONS


def test_everyone_overwrite_applies_first() -> None:
    assert channel(base(), [OverwriteBits(GUILD, 0, deny=SEND)]) == VIEW


def test_role_allow_beats_everyone_deny_and_role_allows_beat_role_denies() -> None:
    overwrites = [
        OverwriteBits(GUILD, 0, deny=SEND),
        OverwriteBits(MOD_ROLE, 0, allow=SEND),
        OverwriteBits(HELPER_ROLE, 0, deny=SEND),
    ]
    assert channel(base(roles=(MOD_ROLE, HELPER_ROLE)), overwrites, (MOD_ROLE, HELPER_ROLE)) & SEND


def test_member_overwrite_applies_last() -> None:
    overwrites = [OverwriteBits(MOD_ROLE, 0, allow=SEND), OverwriteBits(MEMBER, 1, deny=SEND)]
    assert not channel(base(roles=(MOD_ROLE,)), overwrites, (MOD_ROLE,)) & SEND


def test_overwrites_of_roles_the_member_lacks_do_not_apply() -> None:
    assert channel(base(), [OverwriteBits(MOD_ROLE, 0, deny=SEND)]) & SEND


def test_no_view_channel_means_nothing_and_no_send_drops_embeds() -> None:
    assert channel(base(), [OverwriteBits(GUILD, 0, deny=VIEW)]) == 0
    perms = base(r1=VIEW | SEND | perm.EMBED_LINKS | perm.ATTACH_FILES)
    result = channel(perms, [OverwriteBits(GUILD, 0, deny=SEND)])
    assert result == VIEW


def test_parse_permissions_accepts_names_ints_and_strings() -> None:
    assert perm.parse_permissions(["manage_guild", "View Channel"]) == (
        perm.PERMISSION_BITS["manage_guild"] | VIEW
    )
    assert perm.parse_permissions("8") == perm.ADMINISTRATOR
    assert perm.parse_permissions(16) == 16
    with pytest.raises(ValueError, match="unknown permission"):
        perm.parse_permissions(["fly"])
    assert perm.permission_names(VIEW | SEND) == ["view_channel", "send_messages"]
