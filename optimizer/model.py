"""The containers of a model: variable families and constraint blocks as tables, and the
``Formulation`` that holds them. Nothing here knows about PuLP or HiGHS, or how blocks are built
(``optimizer.formulation`` builds the physical ones, ``optimizer.rules`` the policy rules').

Every family and block is keyed by business keys (site, item, period, ...); the backends read
values, duals and reduced costs back by position into arrays aligned with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.network import Network, PolicySet

if TYPE_CHECKING:
    from optimizer.rules.base import RuleModel

FLOW_KEYS = ["origin", "destination", "item", "period"]
SENSES = ("==", "<=", ">=")


@dataclass
class ConstraintBlock:
    """Rows ``sum_k coef[k] * x[var[k]]  (sense)  rhs`` for every ``row[k]`` of ``rows``.

    ``rows`` holds the business keys, ``sense``, ``rhs`` and where the row comes from
    (``sheet``, ``sheet_row``); ``row``/``var``/``coef`` are the non-zeros (COO format), ``var``
    indexing the formulation's global columns. The indices are 32-bit, as HiGHS takes them (a third less
    memory than 64-bit for the largest arrays the tool holds while HiGHS runs): arithmetic that may pass
    2**31, such as a (row, column) pair code, casts to int64 first.
    """

    name: str
    rows: pd.DataFrame
    row: np.ndarray
    var: np.ndarray
    coef: np.ndarray

    def __post_init__(self) -> None:
        assert set(self.rows["sense"].unique()) <= set(SENSES)
        self.row = np.asarray(self.row, dtype=np.int32)
        self.var = np.asarray(self.var, dtype=np.int32)
        self.coef = np.asarray(self.coef, dtype=float)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nnz(self) -> int:
        return len(self.coef)


@dataclass
class VariableFamily:
    """Columns ``offset .. offset + len(keys) - 1``: one per row of ``keys``. ``integer`` is True/False
    for the whole family, or one flag per column. ``cost_part`` names the part of the total cost its
    objective coefficients belong to (see ``optimizer.costs``); None when its costs fall
    into several parts (the ledger says which)."""

    name: str
    keys: pd.DataFrame
    cost: np.ndarray
    upper: np.ndarray
    integer: bool | np.ndarray
    offset: int
    cost_part: str | None = None
    #: Lower bounds (0 unless a decision is fixed, see ``optimizer.horizon.fix_builds``).
    lower: np.ndarray | None = None
    #: Each column's period as its index in the network's periods (``Formulation.period_index``), once asked.
    periods: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.lower is None:
            self.lower = np.zeros(len(self.keys))

    @property
    def integer_flags(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.integer, dtype=bool), (len(self.keys),))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def index(self) -> np.ndarray:
        return np.arange(self.offset, self.offset + len(self.keys))


@dataclass
class Formulation:
    """Everything the backend needs, and everything the results layer needs to map values back."""

    network: Network
    policy: PolicySet
    flows: pd.DataFrame
    production: pd.DataFrame = field(default_factory=pd.DataFrame)
    families: dict[str, VariableFamily] = field(default_factory=dict)
    blocks: dict[str, ConstraintBlock] = field(default_factory=dict)
    #: The policy set's rules as stated, by Policies row (``optimizer.rules.base.RuleModel``).
    rules: dict[int, RuleModel] = field(default_factory=dict)
    #: Upper bound on what each (item, period) can need: the 'big M' of discrete options.
    need: pd.Series | None = None
    #: Every nominal cost of a variable family by period and cost part (the objective coefficient is
    #: its sum times each period's discount factor): family -> list of (column, period index, part, nominal).
    ledger: list[tuple[str, np.ndarray, np.ndarray, str, np.ndarray]] = field(default_factory=list)
    #: Investment options by (option, period) (``optimizer.horizon.option_periods``), when there are any.
    option_periods: pd.DataFrame | None = None

    #: Each flow's period discount factor (set when the flows table is final).
    flow_discount: np.ndarray | None = None
    #: The model without rules this one was stated on (``optimizer.formulation.with_rules``); None for itself.
    physical: Formulation | None = None
    #: Whether the direct backend may substitute pure suppliers' production out (``optimizer.direct``). Off for a
    #: model whose members bound production columns (a stress window's outages): they then stay bounds edits.
    substitute: bool = True

    def copy(self, policy: PolicySet | None = None) -> Formulation:
        """A copy to state rules on or to change (fixed builds, capex): tables and blocks are shared (nothing
        changes them in place), families and the ledger are copied, the flows' cost columns can be replaced.
        The copied families share their cost and bound arrays with this model's, so the physical model and every
        model stated on it hold one set (the flows': 3 arrays of every flow). Shared arrays are read-only: a
        change gives the family a new array (``add_costs``, ``optimizer.horizon.fix_builds`` and ``with_capex``,
        ``optimizer.edits.Outage``); writing into one raises instead of changing the other models. Copying a
        physical model (one without rules) gives a model of ``policy`` whose ``physical`` is it."""
        for family in self.families.values():
            for array in (family.cost, family.upper, family.lower):
                array.flags.writeable = False
        families = {name: replace(f) for name, f in self.families.items()}
        return replace(self, policy=policy or self.policy, flows=self.flows.copy(deep=False), families=families,
                       blocks=dict(self.blocks), rules=dict(self.rules), ledger=list(self.ledger),
                       physical=self.physical if self.physical is not None or self.rules else self)

    def add_costs(self, family: str, column: np.ndarray, period: np.ndarray, part: str, nominal: np.ndarray) -> None:
        """Add nominal costs to columns of ``family`` (local positions), each arising in a period (by
        index): the objective gets them times the period's discount factor."""
        column = np.asarray(column, dtype=np.int64)
        period = np.asarray(period, dtype=np.int64)
        nominal = np.broadcast_to(np.asarray(nominal, dtype=float), column.shape)
        if not len(column):
            return
        self.ledger.append((family, column, period, part, nominal))
        discount = np.asarray(self.network.discount, dtype=float)
        cost = self.families[family].cost.copy()  # a new array: copies of the model may share the old one
        np.add.at(cost, column, discount[period] * nominal)
        self.families[family].cost = cost

    @property
    def objective(self) -> np.ndarray:
        discount = self.flow_discount if self.flow_discount is not None else 1.0
        parts = [self.flows["unit_cost"].to_numpy(dtype=float) * discount]
        parts += [f.cost for name, f in self.families.items() if name != "flow"]
        return np.concatenate(parts) if parts else np.zeros(0)

    @property
    def upper(self) -> np.ndarray:
        return np.concatenate([f.upper for f in self.families.values()]) if self.families else np.zeros(0)

    @property
    def lower(self) -> np.ndarray:
        return np.concatenate([f.lower for f in self.families.values()]) if self.families else np.zeros(0)

    @property
    def integer(self) -> np.ndarray:
        return np.concatenate([f.integer_flags for f in self.families.values()]) \
            if self.families else np.zeros(0, dtype=bool)

    @property
    def is_mip(self) -> bool:
        return any(f.integer_flags.any() for f in self.families.values())

    @property
    def n_variables(self) -> int:
        return sum(len(f) for f in self.families.values())

    @property
    def n_flows(self) -> int:
        return len(self.flows)

    @property
    def single_tier(self) -> bool:
        """No BOM, no stock, and every flow leaves a Supply option of its item: the v1 shape, where each
        Demand row is served directly by the Supply options whose lanes reach it (structural capacity
        checks hold only there)."""
        if len(self.network.inventory):  # stock moves supply between periods: no per-period capacity bound
            return False
        if len(self.network.bom) or not len(self.flows):
            return not len(self.network.bom)
        return bool(self.flows["supply_row"].notna().all())

    def period_index(self, name: str) -> np.ndarray:
        """The index (in the network's periods) of the period of each column of family ``name`` (its keys'
        ``period``), computed once and shared by the formulation's copies."""
        family = self.families[name]
        if family.periods is None:
            family.periods = pd.Index(self.network.periods).get_indexer(family.keys["period"]).astype(np.int64)
        return family.periods

    def family_values(self, values: np.ndarray, name: str) -> np.ndarray:
        """The slice of a solution vector belonging to one variable family."""
        family = self.families.get(name)
        if family is None:
            return np.zeros(0)
        return values[family.offset:family.offset + len(family)]

    @property
    def n_constraints(self) -> int:
        return sum(len(b) for b in self.blocks.values())

    def add_family(self, name: str, keys: pd.DataFrame, cost, upper=np.inf, integer: bool | np.ndarray = False,
                   cost_part: str | None = None) -> VariableFamily:
        """Append a family of variables (one per row of ``keys``) after the existing ones."""
        if name in self.families:
            raise ValueError(f"variable family {name!r} defined twice")
        n = len(keys)
        family = VariableFamily(name, keys.reset_index(drop=True),
                                np.broadcast_to(np.asarray(cost, dtype=float), (n,)).copy(),
                                np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy(),
                                integer, self.n_variables, cost_part)
        self.families[name] = family
        return family

    def add(self, block: ConstraintBlock | None) -> None:
        """Add a block with at least one row (an empty block is dropped)."""
        if block is not None and len(block):
            if block.name in self.blocks:
                raise ValueError(f"constraint block {block.name!r} defined twice")
            self.blocks[block.name] = block
