"""Discord's payload limits, checked field by field into 50035 form errors."""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import ApiError, FormErrors
from sandbox.state import (
    GUILD_ANNOUNCEMENT,
    GUILD_CATEGORY,
    GUILD_CHANNEL_TYPES,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
)

Path = tuple[str | int, ...]

MAX_CHANNELS = 500
MAX_PER_CATEGORY = 50
MAX_ROLES = 250
MAX_OVERWRITES = 1000
BITRATE_MAX_BY_TIER = {0: 96000, 1: 128000, 2: 256000, 3: 384000}
STAGE_BITRATE_MAX = 64000
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def check_length(
    errors: FormErrors, path: Path, value: Any, low: int, high: int, *, required: bool = False
) -> None:
    """Strings and lists: ``low``..``high`` long, with Discord's messages."""
    if value is None:
        if required:
            errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if not isinstance(value, str | list):
        errors.add(path, "BASE_TYPE_STRING", "Could not interpret value as string.")
        return
    size = len(value)
    if low <= size <= high:
        return
    if low == 0:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")
    else:
        errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def check_range(errors: FormErrors, path: Path, value: Any, low: int, high: int) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
    elif value < low:
        errors.add(path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {low}.")
    elif value > high:
        errors.add(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}.")


# channels


def check_channel(payload: dict[str, Any], *, type: int, premium_tier: int, creating: bool) -> None:
    """Name, topic, slowmode, bitrate, user limit and forum tags of a channel payload."""
    errors = FormErrors()
    if creating or "name" in payload:
        check_length(errors, ("name",), payload.get("name"), 1, 100, required=True)
    if type not in GUILD_CHANNEL_TYPES:
        errors.add(
            ("type",), "BASE_TYPE_CHOICES", f"Value must be one of {sorted(GUILD_CHANNEL_TYPES)}."
        )
    topic_max = 4096 if type in (GUILD_FORUM, GUILD_MEDIA) else 1024
    check_length(errors, ("topic",), payload.get("topic"), 0, topic_max)
    check_range(errors, ("rate_limit_per_user",), payload.get("rate_limit_per_user"), 0, 21600)
    if type == GUILD_VOICE:
        check_range(
            errors, ("bitrate",), payload.get("bitrate"), 8000, BITRATE_MAX_BY_TIER[premium_tier]
        )
        check_range(errors, ("user_limit",), payload.get("user_limit"), 0, 99)
    elif type == GUILD_STAGE_VOICE:
        check_range(errors, ("bitrate",), payload.get("bitrate"), 8000, 384000)
        check_range(errors, ("user_limit",), payload.get("user_limit"), 0, 10000)
    tags = payload.get("available_tags")
    if tags is not None:
        check_length(errors, ("available_tags",), tags, 0, 20)
        for i, tag in enumerate(tags if isinstance(tags, list) else []):
            check_length(
                errors, ("available_tags", i, "name"), tag.get("name"), 0, 20, required=True
            )
    overwrites = payload.get("permission_overwrites")
    if overwrites is not None:
        check_length(errors, ("permission_overwrites",), overwrites, 0, MAX_OVERWRITES)
        for i, ow in enumerate(overwrites if isinstance(overwrites, list) else []):
            if not isinstance(ow, dict) or "id" not in ow:
                errors.add(
                    ("permission_overwrites", i, "id"),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                )
            elif ow.get("type") not in (0, 1, "0", "1", "role", "member"):
                errors.add(
                    ("permission_overwrites", i, "type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 1}.",
                )
    if type == GUILD_CATEGORY and payload.get("parent_id") is not None:
        errors.add(
            ("parent_id",), "CHANNEL_PARENT_INVALID_TYPE", "Categories cannot have subcategories"
        )
    errors.raise_if_any()
    if type == GUILD_STAGE_VOICE and (payload.get("bitrate") or 0) > STAGE_BITRATE_MAX:
        raise ApiError(400, 30052, "Bitrate is too high for channel of this type")


def normalise_channel_name(name: str, type: int) -> str:
    """Text-like channel names are lower case with dashes, as Discord stores them."""
    if type in (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM, GUILD_MEDIA):
        return re.sub(r"\s+", "-", name.strip()).lower()
    return name


# roles


def check_role(payload: dict[str, Any]) -> None:
    errors = FormErrors()
    if "name" in payload:
        check_length(errors, ("name",), payload.get("name"), 1, 100)
    color = payload.get("color")
    if color is not None:
        check_range(errors, ("color",), color, 0, 0xFFFFFF)
    errors.raise_if_any()


# messages and components

EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}


def embed_size(embed: dict[str, Any]) -> int:
    """Characters of an embed that count towards the 6000 limit (trimmed)."""

    def n(value: Any) -> int:
        return len(value.strip()) if isinstance(value, str) else 0

    size = n(embed.get("title")) + n(embed.get("description"))
    size += n((embed.get("footer") or {}).get("text"))
    size += n((embed.get("author") or {}).get("name"))
    for f in embed.get("fields") or []:
        size += n(f.get("name")) + n(f.get("value"))
    return size


def check_embeds(errors: FormErrors, embeds: Any) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errors.add(("embeds",), "BASE_TYPE_ARRAY", "Could not interpret value as array.")
        return
    check_length(errors, ("embeds",), embeds, 0, 10)
    total = 0
    for i, embed in enumerate(embeds):
        path: Path = ("embeds", i)
        for key, high in EMBED_TEXT_LIMITS.items():
            check_length(errors, (*path, key), embed.get(key), 0, high)
        fields = embed.get("fields") or []
        check_length(errors, (*path, "fields"), fields, 0, 25)
        for j, f in enumerate(fields):
            check_length(errors, (*path, "fields", j, "name"), f.get("name"), 1, 256, required=True)
            check_length(
                errors, (*path, "fields", j, "value"), f.get("value"), 1, 1024, required=True
            )
        if embed.get("footer"):
            check_length(errors, (*path, "footer", "text"), embed["footer"].get("text"), 0, 2048)
        if embed.get("author"):
            check_length(errors, (*path, "author", "name"), embed["author"].get("name"), 0, 256)
        total += embed_size(embed)
    if total > 6000:
        errors.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


BUTTON, STRING_SELECT, TEXT_INPUT = 2, 3, 4
SELECT_TYPES = {3, 5, 6, 7, 8}


def check_components(errors: FormErrors, components: Any, *, modal: bool = False) -> None:
    """Action rows: 5 rows (modal 1-5), 5 buttons or one select per row."""
    if components is None:
        return
    if not isinstance(components, list):
        errors.add(("components",), "BASE_TYPE_ARRAY", "Could not interpret value as array.")
        return
    check_length(errors, ("components",), components, 1 if modal else 0, 5)
    for i, row in enumerate(components):
        path: Path = ("components", i)
        if row.get("type") != 1:
            if row.get("type") in (9, 10, 12, 13, 14, 17, 18):  # components v2 layouts
                continue
            errors.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1}.")
            continue
        children = row.get("components") or []
        check_length(errors, (*path, "components"), children, 1, 5)
        kinds = [c.get("type") for c in children]
        if any(k in SELECT_TYPES or k == TEXT_INPUT for k in kinds) and len(children) > 1:
            errors.add(
                (*path, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for j, comp in enumerate(children):
            check_component(errors, (*path, "components", j), comp)


def check_component(errors: FormErrors, path: Path, comp: dict[str, Any]) -> None:
    kind = comp.get("type")
    if kind == BUTTON:
        check_length(errors, (*path, "label"), comp.get("label"), 0, 80)
        if comp.get("style") == 5:
            if not comp.get("url"):
                errors.add((*path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
        elif comp.get("style") != 6:
            check_length(errors, (*path, "custom_id"), comp.get("custom_id"), 1, 100, required=True)
    elif kind in SELECT_TYPES:
        check_length(errors, (*path, "custom_id"), comp.get("custom_id"), 1, 100, required=True)
        check_length(errors, (*path, "placeholder"), comp.get("placeholder"), 0, 150)
        if kind == STRING_SELECT:
            options = comp.get("options")
            check_length(errors, (*path, "options"), options, 1, 25, required=True)
            for k, opt in enumerate(options or []):
                for key in ("label", "value"):
                    check_length(
                        errors, (*path, "options", k, key), opt.get(key), 1, 100, required=True
                    )
                check_length(
                    errors, (*path, "options", k, "description"), opt.get("description"), 0, 100
                )
    elif kind == TEXT_INPUT:
        check_length(errors, (*path, "custom_id"), comp.get("custom_id"), 1, 100, required=True)
        check_length(errors, (*path, "label"), comp.get("label"), 1, 45)
        check_length(errors, (*path, "value"), comp.get("value"), 0, 4000)
    elif kind is None:
        errors.add((*path, "type"), "BASE_TYPE_REQUIRED", "This field is required")


def check_message(payload: dict[str, Any], *, files: int = 0, editing: bool = False) -> None:
    """Content, embeds and components; an empty new message is 50006."""
    errors = FormErrors()
    check_length(errors, ("content",), payload.get("content"), 0, 2000)
    check_embeds(errors, payload.get("embeds"))
    check_components(errors, payload.get("components"))
    errors.raise_if_any()
    if not editing and not (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("sticker_ids")
        or payload.get("poll")
        or files
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")


def check_modal(data: dict[str, Any]) -> None:
    errors = FormErrors()
    check_length(errors, ("data", "title"), data.get("title"), 1, 45, required=True)
    check_length(errors, ("data", "custom_id"), data.get("custom_id"), 1, 100, required=True)
    inner = FormErrors()
    check_components(inner, data.get("components"), modal=True)
    if inner:
        errors.errors.setdefault("data", {}).update(inner.errors)
    errors.raise_if_any()


def check_autocomplete(data: dict[str, Any]) -> None:
    errors = FormErrors()
    check_length(errors, ("data", "choices"), data.get("choices"), 0, 25, required=True)
    errors.raise_if_any()


# application commands


def check_command(payload: dict[str, Any]) -> None:
    errors = FormErrors()
    kind = payload.get("type", 1)
    name = payload.get("name")
    check_length(errors, ("name",), name, 1, 32, required=True)
    if (
        kind == 1
        and isinstance(name, str)
        and (not COMMAND_NAME.match(name) or name != name.lower())
    ):
        errors.add(("name",), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if kind == 1:
        check_length(errors, ("description",), payload.get("description"), 1, 100, required=True)
    else:
        check_length(errors, ("description",), payload.get("description") or "", 0, 0)
    _check_options(errors, ("options",), payload.get("options"))
    errors.raise_if_any()


def _check_options(errors: FormErrors, path: Path, options: Any) -> None:
    if options is None:
        return
    check_length(errors, path, options, 0, 25)
    for i, opt in enumerate(options if isinstance(options, list) else []):
        check_length(errors, (*path, i, "name"), opt.get("name"), 1, 32, required=True)
        check_length(
            errors, (*path, i, "description"), opt.get("description"), 1, 100, required=True
        )
        check_length(errors, (*path, i, "choices"), opt.get("choices"), 0, 25)
        _check_options(errors, (*path, i, "options"), opt.get("options"))
