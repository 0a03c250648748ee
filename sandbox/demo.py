"""The demo guild the offline mode starts with: a small homelab community."""

from __future__ import annotations

from typing import Any

DEMO_OWNER = "alice"

DEMO: dict[str, Any] = {
    "guilds": [
        {
            "name": "Foundry Homelab",
            "owner": DEMO_OWNER,
            "features": ["COMMUNITY"],  # announcement (and stage) channels need it
            "roles": [
                {"name": "Admin", "permissions": ["administrator"], "color": 0xE74C3C},
                {
                    "name": "Moderator",
                    "permissions": ["manage_guild", "manage_messages"],
                    "color": 0x3498DB,
                },
                {"name": "Member", "permissions": [], "color": 0x2ECC71},
            ],
            "members": [
                {"name": DEMO_OWNER, "roles": ["Admin"]},
                {"name": "bob", "roles": ["Moderator"]},
                {"name": "carol", "roles": ["Member"]},
                {"name": "dave", "roles": []},
            ],
            "categories": [
                {
                    "name": "Information",
                    "channels": [
                        {"name": "welcome", "type": "text", "topic": "Start here."},
                        {"name": "announcements", "type": "announcement"},
                    ],
                },
                {
                    "name": "Homelab",
                    "channels": [
                        {"name": "general", "type": "text", "topic": "Anything homelab."},
                        {"name": "status", "type": "text", "topic": "Dashboards live here."},
                        {
                            "name": "help",
                            "type": "forum",
                            "available_tags": [{"name": "solved"}, {"name": "hardware"}],
                        },
                        {"name": "Voice", "type": "voice"},
                    ],
                },
                {
                    "name": "Staff",
                    "overwrites": {
                        "@everyone": {"deny": ["view_channel"]},
                        "Moderator": {"allow": ["view_channel"]},
                    },
                    "channels": [{"name": "mod-log", "type": "text"}],
                },
            ],
        }
    ]
}
