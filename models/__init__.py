"""The workbook format (one declaration per sheet and column), its row models and the validated network."""

from __future__ import annotations

import importlib

#: The package's names, each imported from its module when first used (``models.problems`` alone needs no pandas).
_EXPORTS = {
    "BASELINE": "models.network", "Item": "models.network", "Network": "models.network", "PolicySet": "models.network",
    "Rule": "models.network", "RuleSpec": "models.network", "Site": "models.network", "Tariff": "models.network",
    "build_network": "models.network", "Problem": "models.problems", "WorkbookError": "models.problems",
    "SHEETS": "models.schema", "Column": "models.schema", "Sheet": "models.schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
