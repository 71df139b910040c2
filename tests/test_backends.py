"""The direct backend (arrays to highspy, production columns substituted out) against the PuLP
model: the same plan, the same prices for every row, the same Sensitivity sheet."""

from __future__ import annotations

import numpy as np
import pytest
from networks import hub, sites, two_tier

from optimizer import load_workbook, solve
from optimizer.backend import SolverOptions, solve_formulation
from optimizer.direct import arrays_from, substitute_production
from optimizer.formulation import build_formulation

SINGLE_TIER = dict(  # A (1, capacity 10), B (3), C (5) serve D's 20 units: A full, B 10, C unused
    Sites=sites("A", "B", "C", "D"), Items=[{"item": "cells"}],
    Supply=[{"site": "A", "item": "cells", "unit_cost": 1, "capacity": 10},
            {"site": "B", "item": "cells", "unit_cost": 3},
            {"site": "C", "item": "cells", "unit_cost": 5}],
    Demand=[{"site": "D", "item": "cells", "quantity": 20}],
    Lanes=[{"origin": o, "destination": "D"} for o in ("A", "B", "C")])

TWO_TIER = two_tier()  # cells made at C from 2 CAM each; CAM from M1 (10, capacity 40) or M2 (12); P needs 30
HUB = hub(throughput=20)  # S ships to P directly (10) or through the hub H (4 + 3), which passes on at most 20

FIXED_COST = dict(  # Q: 2 per unit plus 100 if used (capacity 50), R: 5 per unit; 60 units: 200 + 50 < 300
    Sites=sites("Q", "R", "D"), Items=[{"item": "cells"}],
    Supply=[{"site": "Q", "item": "cells", "unit_cost": 2, "capacity": 50, "fixed_cost": 100},
            {"site": "R", "item": "cells", "unit_cost": 5}],
    Demand=[{"site": "D", "item": "cells", "quantity": 60}],
    Lanes=[{"origin": o, "destination": "D"} for o in ("Q", "R")])

SHARE = dict(  # at least 75% from Canada: K (Canada, 6) must carry 15 of 20 units, A (1) the rest
    Sites=sites("A", "D") + [{"site": "K", "country": "Canada"}], Items=[{"item": "cells"}],
    Supply=[{"site": "A", "item": "cells", "unit_cost": 1}, {"site": "K", "item": "cells", "unit_cost": 6}],
    Demand=[{"site": "D", "item": "cells", "quantity": 20}],
    Lanes=[{"origin": o, "destination": "D"} for o in ("A", "K")],
    Policies=[{"policy": "p", "rule": "min_share", "from": "Canada", "value": 0.75, "basis": "quantity"}])

CASES = {"single_tier": (SINGLE_TIER, "baseline", 40.0, 3), "two_tier": (TWO_TIER, "baseline", 1290.0, 3),
         "hub": (HUB, "baseline", 5440.0, 1), "fixed_cost": (FIXED_COST, "baseline", 250.0, 2),
         "share": (SHARE, "p", 5 * 1 + 15 * 6, 2)}


@pytest.mark.parametrize("case", CASES)
def test_the_direct_backend_gives_the_pulp_plan_and_prices(make_workbook, case):
    sheets, policy, cost, substituted = CASES[case]
    formulation = build_formulation(load_workbook(make_workbook(**sheets)), policy)
    lp = arrays_from(formulation)
    reduced, substitution = substitute_production(lp, formulation, formulation.integer)
    assert len(substitution.columns) == substituted  # the solver sees fewer columns and rows
    assert (reduced.n_cols, reduced.n_rows) == (lp.n_cols - substituted, lp.n_rows - substituted)

    pulp_out = solve_formulation(formulation, SolverOptions(backend="pulp"))
    direct = solve_formulation(formulation, SolverOptions(backend="direct"))
    assert pulp_out.status == direct.status == "optimal"
    assert direct.objective == pytest.approx(cost, abs=1e-9) and pulp_out.objective == pytest.approx(cost, abs=1e-9)
    np.testing.assert_allclose(direct.values, pulp_out.values, atol=1e-9)  # production included
    assert direct.duals.keys() == pulp_out.duals.keys()
    for block in direct.duals:
        np.testing.assert_allclose(direct.duals[block], pulp_out.duals[block], atol=1e-9, err_msg=block)
    # Reduced costs of flows, and those of production plus its cheapest outbound flow, agree.
    np.testing.assert_allclose(direct.reduced_costs[:formulation.n_flows],
                               pulp_out.reduced_costs[:formulation.n_flows], atol=1e-9)


@pytest.mark.parametrize("backend", ["pulp", "direct"])
def test_the_sensitivity_sheet_does_not_depend_on_the_backend(make_workbook, backend):
    network = load_workbook(make_workbook(**SINGLE_TIER))
    table = solve(network, options=SolverOptions(backend=backend)).sensitivity.set_index("source")
    capacity = table.loc["Supply row 2"]
    assert (capacity["price"], capacity["range_low"], capacity["range_high"]) == pytest.approx((2.0, 0.0, 20.0))
    assert table.loc["Demand row 2", "price"] == pytest.approx(3.0)
    assert table.loc["Demand row 2", "range_low"] == pytest.approx(10.0)
    assert table.loc["Supply row 4", "price"] == pytest.approx(2.0)  # C must get 2 cheaper


def test_a_site_that_also_receives_its_item_keeps_its_production_column(make_workbook):
    # H both makes cells and receives them from S: its balance is not a plain definition.
    sheets = dict(HUB, Supply=[*HUB["Supply"], {"site": "H", "item": "cells", "unit_cost": 105}])
    formulation = build_formulation(load_workbook(make_workbook(**sheets)))
    _, substitution = substitute_production(arrays_from(formulation), formulation, formulation.integer)
    production = formulation.families["production"]
    kept = set(range(production.offset, production.offset + len(production))) - set(substitution.columns)
    assert [formulation.production.loc[c - production.offset, "site"] for c in kept] == ["H"]
    direct = solve_formulation(formulation, SolverOptions(backend="direct"))
    assert direct.objective == pytest.approx(solve_formulation(formulation, SolverOptions(backend="pulp")).objective)
