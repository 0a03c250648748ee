"""Payload limits as pure checks."""

from __future__ import annotations

import pytest

from sandbox import limits
from sandbox.errors import ApiError, FormErrors


def errors_of(call: object) -> dict:
    with pytest.raises(ApiError) as info:
        call()  # type: ignore[operator]
    assert info.value.code == 50035
    return info.value.errors or {}


def test_form_errors_nest_paths() -> None:
    errors = FormErrors()
    errors.add(("embeds", 0, "title"), "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length.")
    assert errors.errors == {
        "embeds": {
            "0": {
                "title": {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 256 or fewer in length.",
                        }
                    ]
                }
            }
        }
    }


def test_embed_fields_and_total() -> None:
    embed = {"title": "t" * 257, "fields": [{"name": "n", "value": "v" * 1025}] * 26}
    errors = errors_of(lambda: limits.check_message({"embeds": [embed]}))
    assert set(errors["embeds"]["0"]) == {"title", "fields"}
    assert limits.embed_size({"title": " ab ", "fields": [{"name": "x", "value": "yz"}]}) == 5


def test_select_and_button_rules() -> None:
    row = {"type": 1, "components": [{"type": 3, "custom_id": "s", "options": []}] * 2}
    errors = errors_of(lambda: limits.check_message({"content": "x", "components": [row]}))
    codes = [e["code"] for e in errors["components"]["0"]["components"]["_errors"]]
    assert "COMPONENT_LAYOUT_WIDTH_EXCEEDED" in codes
    link = {"type": 2, "style": 5, "label": "go"}
    errors = errors_of(
        lambda: limits.check_message(
            {"content": "x", "components": [{"type": 1, "components": [link]}]}
        )
    )
    assert "url" in errors["components"]["0"]["components"]["0"]


def test_command_names_and_options() -> None:
    errors = errors_of(lambda: limits.check_command({"name": "Bad Name", "description": ""}))
    assert set(errors) == {"name", "description"}
    limits.check_command({"name": "user info", "type": 2})
    limits.check_command({"name": "ok-name", "description": "fine"})


def test_channel_name_normalisation() -> None:
    assert limits.normalise_channel_name(" Mod Talk ", 0) == "mod-talk"
    assert limits.normalise_channel_name("Voice Room", 2) == "Voice Room"
