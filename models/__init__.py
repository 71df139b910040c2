"""The workbook format (one declaration per sheet and column), its row models and the validated network."""

from models.network import BASELINE, Item, Network, PolicySet, Rule, RuleSpec, Site, Tariff, build_network
from models.problems import Problem, WorkbookError
from models.schema import SHEETS, Column, Sheet

__all__ = [
    "BASELINE", "SHEETS", "Column", "Item", "Network", "PolicySet", "Problem", "Rule", "RuleSpec", "Sheet", "Site",
    "Tariff", "WorkbookError", "build_network",
]
