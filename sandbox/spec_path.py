"""Where Discord's OpenAPI spec lies, found without importing the validator (jsonschema),
so a sandbox that does not validate never loads it."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DISCORD_OPENAPI_SPEC"


def default_spec_path() -> Path | None:
    """``$DISCORD_OPENAPI_SPEC``, else ``../shared/discord-api-spec/openapi.json`` beside the
    repository, else None."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env)
        if not path.is_file():
            raise FileNotFoundError(
                f"{ENV_VAR} is set to {env!r}, but no file is there: point it at Discord's "
                "openapi.json or unset it."
            )
        return path
    repo_root = Path(__file__).resolve().parent.parent
    path = repo_root.parent / "shared" / "discord-api-spec" / "openapi.json"
    return path if path.is_file() else None
