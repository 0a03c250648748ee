"""The compact description loader."""

from __future__ import annotations

from sandbox import permissions as perm
from sandbox.server import SandboxServer
from sandbox.state import GUILD_CATEGORY, GUILD_FORUM, GUILD_VOICE


def test_load_builds_roles_members_channels_and_overwrites(sandbox: SandboxServer) -> None:
    [guild] = sandbox.load(
        {
            "guilds": [
                {
                    "name": "Demo",
                    "owner": "alice",
                    "roles": [
                        {"name": "Mod", "permissions": ["manage_guild"]},
                        {"name": "Member", "permissions": []},
                    ],
                    "members": [{"name": "alice"}, {"name": "bob", "roles": ["Mod"]}],
                    "categories": [
                        {
                            "name": "Info",
                            "channels": [
                                {
                                    "name": "rules",
                                    "type": "text",
                                    "overwrites": {
                                        "@everyone": {"deny": ["send_messages"]},
                                        "Mod": {"allow": ["send_messages"]},
                                        "alice": {"deny": ["view_channel"]},
                                    },
                                }
                            ],
                        }
                    ],
                    "channels": [
                        {"name": "Voice", "type": "voice", "user_limit": 5},
                        {"name": "forum", "type": "forum", "available_tags": [{"name": "a"}]},
                    ],
                }
            ]
        }
    )
    assert sandbox.state.find_guild("Demo") is guild
    assert guild.owner_id == guild.member("alice").user.id
    mod, member, bot_role = guild.role("Mod"), guild.role("Member"), guild.role("FoundryCord")
    assert bot_role.position > mod.position > member.position > 0
    assert bot_role.permissions == perm.ADMINISTRATOR and bot_role.managed
    assert guild.member("bob").roles == [mod.id]
    rules = guild.channel("rules")
    assert rules.parent_id == guild.channel("Info", GUILD_CATEGORY).id
    assert len(rules.overwrites) == 3
    assert guild.channel("Voice").type == GUILD_VOICE and guild.channel("Voice").user_limit == 5
    assert guild.channel("forum").type == GUILD_FORUM
    bob = guild.member("bob").user.id
    assert guild.channel_permissions(bob, rules) & perm.SEND_MESSAGES


def test_bot_permissions_can_be_limited_or_absent(sandbox: SandboxServer) -> None:
    limited, absent = sandbox.load(
        {
            "guilds": [
                {"name": "L", "bot": {"permissions": ["view_channel"]}},
                {"name": "A", "bot": False},
            ]
        }
    )
    assert limited.base_permissions(sandbox.bot_user_id) & perm.ADMINISTRATOR == 0
    assert sandbox.bot_user_id not in absent.members
