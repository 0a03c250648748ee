"""Where Discord's OpenAPI spec lies, found without importing the validator (jsonschema),
so a sandbox that does not validate never loads it."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DISCORD_OPENAPI_SPEC"
SHARED_SPEC = Path("shared") / "discord-api-spec" / "openapi.json"
SEARCH_LEVELS = 3  # beside the repository, or beside the folder holding a git worktree
MISSING_REASON = (
    "Discord's OpenAPI spec was not found, so requests and responses are NOT validated: set "
    f"{ENV_VAR} to its openapi.json or place it at ../shared/discord-api-spec/openapi.json "
    "beside the repository (the GitHub workflow downloads it there)"
)


def default_spec_path() -> Path | None:
    """``$DISCORD_OPENAPI_SPEC``, else ``shared/discord-api-spec/openapi.json`` in the
    nearest of the repository's parent folders (up to three levels), else None."""
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
    for folder in list(repo_root.parents)[:SEARCH_LEVELS]:
        path = folder / SHARED_SPEC
        if path.is_file():
            return path
    return None
