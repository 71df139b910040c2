"""Pydantic models of the sourcing workbook (one per sheet row) and of the validated network."""

from models.network import (
    BASELINE,
    RULE_SPECS,
    BomEntry,
    Item,
    Lane,
    Network,
    PolicySet,
    Requirement,
    Rule,
    Site,
    SupplyOption,
    Tariff,
    build_network,
)
from models.problems import Problem, WorkbookError

__all__ = [
    "BASELINE", "RULE_SPECS", "BomEntry", "Item", "Lane", "Network", "PolicySet", "Problem", "Requirement",
    "Rule", "Site", "SupplyOption", "Tariff", "WorkbookError", "build_network",
]
