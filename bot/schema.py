"""The whole schema: the shared tables plus every feature's `cogs/<feature>/models.py`."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData


def load_all_models() -> MetaData:
    import bot.models  # noqa: F401  (the shared tables)
    import cogs
    from bot.database import Base

    for module in pkgutil.iter_modules(cogs.__path__):
        if not module.ispkg:
            continue
        name = f"cogs.{module.name}.models"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return Base.metadata
