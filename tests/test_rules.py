"""Unit tests of the rule registry (optimizer.rules): for every registered rule type, what it adds to a tiny
formulation (rows, coefficients, costs) and its Compliance rows on a solution vector made by hand; and the
registry's invariants (every rule type has a spec and can be stated; the order of the Policies rows does not
change the model). No solve: the numbers are worked out in the comments.

The network: A (US, 1 per unit), B (US, 2) and K (Canada, 6) make cells; D needs 20 (lanes from A, B and K)
and E 10 (lanes from A and K). Columns in order: flows A>D, B>D, K>D, A>E, K>E (0-4), production A, B, K
(5-7), then what the rules add. The need bound of cells is 30 (all demand). Making a unit emits 2 at A, 3 at B
and 1 at K; shipping a unit on A>D emits 0.5.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from formulation_view import block_rows, labels
from networks import network, sites

from models.network import RuleSpec
from optimizer.formulation import build_formulation
from optimizer.rules import COMPLIANCE_COLUMNS, RULE_SPECS, RULE_TYPES

FLOWS = ["flow A>D cells all", "flow B>D cells all", "flow K>D cells all", "flow A>E cells all", "flow K>E cells all"]


def rule(rule_type, **cells):
    """A Policies row of policy set 'p' (``from_`` for the `from` column)."""
    if "from_" in cells:
        cells["from"] = cells.pop("from_")
    return {"policy": "p", "rule": rule_type, **cells}


def sheets(*policies) -> dict:
    return dict(
        Sites=sites("A", "B", "D", "E") + sites("K", country="Canada"), Items=[{"item": "cells"}],
        Supply=[{"site": "A", "item": "cells", "unit_cost": 1, "co2_per_unit": 2},
                {"site": "B", "item": "cells", "unit_cost": 2, "co2_per_unit": 3},
                {"site": "K", "item": "cells", "unit_cost": 6, "co2_per_unit": 1}],
        Demand=[{"site": "D", "item": "cells", "quantity": 20}, {"site": "E", "item": "cells", "quantity": 10}],
        Lanes=[{"origin": o, "destination": "D", "co2_per_unit": 0.5 if o == "A" else 0} for o in "ABK"]
        + [{"origin": o, "destination": "E"} for o in "AK"],
        Policies=list(policies))


def formulate(*policies):
    """The formulation of policy set 'p' made of ``policies`` (Policies rows 2, 3, ...)."""
    return build_formulation(network(**sheets(*policies)), "p")


def plan(formulation, ad=0.0, bd=0.0, kd=0.0, ae=0.0, ke=0.0, other: dict[str, float] | None = None) -> np.ndarray:
    """A solution vector made by hand: flows A>D, B>D, K>D, A>E, K>E, production to match, and ``other``
    columns by their label (``labels``); every other column 0."""
    names = labels(formulation)
    values = np.zeros(len(names))
    given = dict(zip(FLOWS, (ad, bd, kd, ae, ke), strict=True))
    given |= {"production A cells all": ad + ae, "production B cells all": bd, "production K cells all": kd + ke}
    for name, value in (given | (other or {})).items():
        values[names.index(name)] = value
    return values


def compliance(formulation, values, duals=None, row=2) -> list[dict] | None:
    """The Compliance rows of the rule on Policies row ``row`` for the solution ``values`` and row prices ``duals``
    (block name -> one dual per row), as its rule type reports them (None: the type has none)."""
    model = formulation.rules[row]
    frame = model.type.compliance(formulation, model, values, duals or {})
    if frame is not None and not model.type.name.startswith("co2_"):  # the carbon columns are blank elsewhere
        carbon = ["emissions", "marginal_abatement_cost"]
        assert frame[carbon].isna().all().all()
        frame = frame.drop(columns=carbon)
        if model.type.name not in ("tariff", "credit", "threshold_credit"):  # a cost is theirs (and a carbon price's)
            assert frame["cost"].isna().all()
            frame = frame.drop(columns="cost")
    return None if frame is None else frame.to_dict("records")


def only_rule_blocks(formulation) -> dict[str, dict]:
    """The blocks the rules added, by name, as ``block_rows`` gives them (keyed by their business keys)."""
    physical = {"demand", "balance"}
    out = {}
    for name, block in formulation.blocks.items():
        if name in physical:
            continue
        keys = [c for c in block.rows.columns if c not in ("sense", "rhs", "sheet", "sheet_row", "policy", "rule")]
        out[name] = block_rows(formulation, name, keys)
    return out


def common(**columns) -> dict:
    """What every Compliance row of the rule on Policies row 2 of set 'p' says about the rule itself."""
    return {"policy": "p", "source": "Policies row 2", "items": "(all)", "to": "(all)", "rule_row": 2, **columns}


# --------------------------------------------------------------------------- the registry


#: One valid Policies row per registered rule type (a threshold credit requires the min_share on row 2).
STATED = {
    "tariff": rule("tariff", from_="Canada", value=0.1),
    "credit": rule("credit", from_="A", value=0.5),
    "threshold_credit": rule("threshold_credit", to="D", value=3, requires=2),
    "min_share": rule("min_share", from_="Canada", value=0.25),
    "max_share": rule("max_share", from_="K", value=0.6),
    "exclude": rule("exclude", from_="B"),
    "max_suppliers": rule("max_suppliers", from_="United States", to="D", value=1),
    "single_source": rule("single_source", to="E"),
    "min_suppliers": rule("min_suppliers", to="D", value=2),
    "co2_price": rule("co2_price", value=10),
    "co2_cap": rule("co2_cap", to="D", value=50),
}


def test_every_rule_type_has_its_spec_and_a_row_in_these_tests():
    assert list(RULE_SPECS) == list(RULE_TYPES)
    assert set(STATED) == set(RULE_TYPES)  # a new rule type needs its row here (and its tests below)
    for name, rule_type in RULE_TYPES.items():
        assert rule_type.name == name
        assert RULE_SPECS[name] is rule_type.spec and isinstance(rule_type.spec, RuleSpec)
        assert rule_type.spec.value in ("fraction", "amount", "count", None), name
        assert rule_type.spec.description, name
        assert rule_type.value_format in ("percent", "money", "number"), name
    # the discrete ones are those stated with binaries; the share ones those a threshold credit may require
    assert {n for n, t in RULE_TYPES.items() if t.spec.discrete} == {
        "threshold_credit", "max_suppliers", "single_source", "min_suppliers"}
    assert {n for n, t in RULE_TYPES.items() if t.spec.share} == {"min_share", "max_share"}
    assert {n for n, t in RULE_TYPES.items() if t.priced} == {"min_share", "max_share"}


@pytest.mark.parametrize("name", list(STATED))
def test_every_rule_type_can_be_stated(name):
    rows = [STATED["min_share"], STATED[name]] if RULE_TYPES[name].spec.needs_requires else [STATED[name]]
    formulation = formulate(*rows)
    model = formulation.rules[len(rows) + 1]
    assert model.type is RULE_TYPES[name] and model.rule.type == name
    added = {role: formulation.blocks[block] for role, block in model.blocks.items()}
    assert added or model.flow_costs or model.family_costs, f"{name} added nothing to the model"
    for block in added.values():
        assert set(block.rows["sheet_row"]) == {model.row} and set(block.rows["rule"]) == {name}
    assert formulation.is_mip == RULE_TYPES[name].spec.discrete


def canonical(formulation) -> dict:
    """The model with every name a Policies row number makes replaced by what the rule says: columns by their
    family's role and rule and their keys, rows by their block's role and rule, their keys, sense, rhs and terms."""
    def said(model):
        r = model.rule
        return (r.type, tuple(sorted(r.items)), tuple(sorted(r.from_sites)), tuple(sorted(r.to_sites)), r.value,
                r.basis, r.scope, r.period)

    family_of, block_of = {}, {}
    for model in formulation.rules.values():
        family_of.update({name: (role, *said(model)) for role, name in model.families.items()})
        block_of.update({name: (role, *said(model)) for role, name in model.blocks.items()})
    columns = []
    for name, family in formulation.families.items():
        keys = family.keys.drop(columns=[c for c in ("rule_row",) if c in family.keys])
        columns += [(family_of.get(name, (name,)), tuple(k)) for k in keys.itertuples(index=False)]
    rows = Counter()
    for name, block in formulation.blocks.items():
        keys = block.rows.drop(columns=["sense", "rhs", "sheet", "sheet_row", "policy", "rule"], errors="ignore")
        terms: list[list] = [[] for _ in range(len(block))]
        for r, v, c in zip(block.row, block.var, block.coef, strict=True):
            terms[r].append((columns[v], round(float(c), 12)))
        for i, key in enumerate(keys.itertuples(index=False)):
            rows[(block_of.get(name, (name,)), tuple(key), block.rows["sense"].iloc[i],
                  round(float(block.rows["rhs"].iloc[i]), 12), tuple(sorted(terms[i], key=repr)))] += 1
    return {
        "rows": rows,
        "columns": sorted(zip(columns, formulation.objective.round(12), formulation.lower, formulation.upper,
                              formulation.integer, strict=True), key=repr),
        "flows": formulation.flows.to_dict("records"),
    }


def in_order(order: list[str]) -> list[dict]:
    """The rows of STATED in ``order``, the threshold credit's `requires` pointing at the min_share's new row."""
    rows = [dict(STATED[name]) for name in order]
    rows[order.index("threshold_credit")]["requires"] = order.index("min_share") + 2
    return rows


def test_the_order_of_the_policies_rows_does_not_change_the_model():
    # Every rule type at once, in the order of the registry, reversed, and with the threshold credit first (it
    # links to the share rule it requires whatever their order).
    names = list(STATED)
    reference = canonical(formulate(*in_order(names)))
    assert reference["rows"] and len(reference["columns"]) > 8
    for order in (names[::-1], ["threshold_credit", *[n for n in names if n != "threshold_credit"]]):
        assert canonical(formulate(*in_order(order))) == reference, order


# --------------------------------------------------------------------------- costs: tariff, credit, threshold_credit


def test_tariff_and_credit_rules_add_to_the_per_unit_cost_of_the_flows_they_match():
    # Two tariffs on Canadian goods add up: (0.1 + 0.05) * 6 = 0.9 per unit on K>D and K>E. The credit (A into E,
    # 0.5) lowers A>E only. Neither adds a block; each reports a Compliance row per period, checking no bound.
    formulation = formulate(rule("tariff", from_="Canada", value=0.1), rule("tariff", from_="K", value=0.05),
                            rule("credit", from_="A", to="E", value=0.5))
    flows = formulation.flows
    assert flows["policy_tariff_rate"].tolist() == [0.0, 0.0, pytest.approx(0.15), 0.0, pytest.approx(0.15)]
    assert flows["credit"].tolist() == [0.0, 0.0, 0.0, 0.5, 0.0]
    np.testing.assert_allclose(flows["unit_cost"], [0, 0, 0.9, -0.5, 0.9])
    np.testing.assert_allclose(formulation.objective, [0, 0, 0.9, -0.5, 0.9, 1, 2, 6])
    assert only_rule_blocks(formulation) == {}
    assert list(formulation.families) == ["flow", "production"]
    # A>D 20, A>E 5, K>E 5, in the rules' basis, value: A's at 1, K's at 6. The tariffs match K>E: 30 of the 55
    # into D and E, duty 0.1 * 30 = 3 and 0.05 * 30 = 1.5; the credit matches A>E: 5 of the 35 into E, -0.5 * 5.
    x = plan(formulation, ad=20, ae=5, ke=5)
    common = {"policy": "p", "items": "(all)", "to": "(all)", "basis": "value", "scope": "total", "period": "all",
              "destination": "(all)", "sense": "", "binding": None, "met": None}
    rows = [compliance(formulation, x, row=r) for r in (2, 3, 4)]
    for got, (kind, source, origin, to, flow, total, cost) in zip(rows, [
            ("tariff", 2, "Canada", "(all)", 30.0, 55.0, 3.0), ("tariff", 3, "K", "(all)", 30.0, 55.0, 1.5),
            ("credit", 4, "A", "E", 5.0, 35.0, -2.5)], strict=True):
        [row] = got
        assert {k: row[k] for k in common} == {**common, "to": to}
        assert (row["rule"], row["source"], row["from"], row["rule_row"]) == (kind, f"Policies row {source}", origin,
                                                                            source)
        assert (row["from_flow"], row["total_flow"], row["share"], row["cost"]) == (
            pytest.approx(flow), pytest.approx(total), pytest.approx(flow / total), pytest.approx(cost))
        assert np.isnan(row["bound"]) and np.isnan(row["cost_per_point"])


def test_a_rule_covering_one_period_leaves_the_others_alone():
    net = network(**sheets(rule("credit", from_="A", value=0.5, period="2027")),
                  Periods=[{"period": "2026"}, {"period": "2027"}])
    flows = build_formulation(net, "p").flows
    assert flows.loc[flows["origin"] == "A", ["period", "credit"]].to_numpy().tolist() == [
        ["2026", 0.0], ["2026", 0.0], ["2027", 0.5], ["2027", 0.5]]


def test_threshold_credit_makes_its_share_rule_conditional_and_prices_its_met_binary():
    # The min_share (value basis: weights 1, 2, 6; from Canada, 25%) gets a binary 'met': coefficients
    # (1[from] - 0.25) * w: A -0.25, B -0.5, K 4.5 into D and E; M = sum |coef| * need + 1 = 10 * 30 + 1 = 301:
    # sum coef x - 301 met >= -301. The credit earns 3 per unit of D's demand (20) where met: -60 on 'met'.
    formulation = formulate(STATED["min_share"], STATED["threshold_credit"])
    assert labels(formulation)[8:] == ["met_row_2 all (all) 2"]
    met = formulation.families["met_row_2"]
    assert (met.integer, met.upper.tolist(), met.cost.tolist(), met.cost_part) == (True, [1.0], [-60.0], "credits")
    assert only_rule_blocks(formulation) == {"rule_row_2": {("all", "(all)"): (">=", -301.0, {
        FLOWS[0]: -0.25, FLOWS[1]: -0.5, FLOWS[2]: 4.5, FLOWS[3]: -0.25, FLOWS[4]: 4.5,
        "met_row_2 all (all) 2": -301.0})}}
    share = formulation.rules[2]
    assert (share.families, share.blocks, formulation.rules[3].blocks) == (
        {"met": "met_row_2"}, {"share": "rule_row_2"}, {})
    assert share.type.relaxable(formulation, share) == []  # a conditional row is not a rule to relax
    # Compliance, value basis: A>D 15, K>D 5, A>E 10 weigh 15, 30 and 10: 30 of 55 from Canada. Met, the share is
    # binding only where it is at its bound; missed, it is never binding. A conditional row's dual does not price
    # the bound: no cost per point.
    x = plan(formulation, ad=15, kd=5, ae=10, other={"met_row_2 all (all) 2": 1.0})
    [row] = compliance(formulation, x, {"rule_row_2": np.array([7.0])})
    assert (row["from_flow"], row["total_flow"], row["share"], row["met"], row["binding"]) == (
        30.0, 55.0, pytest.approx(30 / 55), True, False)
    assert np.isnan(row["cost_per_point"])
    # A>D 10, B>D 8, K>D 2, A>E 10 weigh 10, 16, 12, 10: 12 of 48, exactly 25%
    x = plan(formulation, ad=10, bd=8, kd=2, ae=10, other={"met_row_2 all (all) 2": 1.0})
    [row] = compliance(formulation, x)
    assert (row["share"], row["binding"], row["met"]) == (pytest.approx(0.25), True, True)
    # The credit's own row: met, it earned 3 on D's 20 units of demand (-60); missed, nothing. It checks no bound.
    [credit] = compliance(formulation, x, row=3)
    assert (credit["rule"], credit["period"], credit["met"], credit["total_flow"], credit["from_flow"],
            credit["cost"], credit["sense"], credit["binding"]) == ("threshold_credit", "all", True, 20.0, 20.0, -60.0,
                                                                   "", None)
    x[formulation.families["met_row_2"].offset] = 0.0
    [row] = compliance(formulation, x)
    assert (row["share"], row["binding"], row["met"]) == (pytest.approx(0.25), False, False)
    [credit] = compliance(formulation, x, row=3)
    assert (credit["met"], credit["from_flow"], credit["cost"]) == (False, 0.0, 0.0)


# --------------------------------------------------------------------------- shares and exclude


def test_min_share_rows_per_destination_weighted_by_value():
    # each_destination, value basis, from Canada, at least 50%: (1[K] - 0.5) * w: A -0.5, B -1, K 3.
    formulation = formulate(rule("min_share", from_="Canada", value=0.5, scope="each_destination"))
    assert only_rule_blocks(formulation) == {"rule_row_2": {
        ("all", "D"): (">=", 0.0, {FLOWS[0]: -0.5, FLOWS[1]: -1.0, FLOWS[2]: 3.0}),
        ("all", "E"): (">=", 0.0, {FLOWS[3]: -0.5, FLOWS[4]: 3.0})}}
    model = formulation.rules[2]
    assert model.blocks == {"share": "rule_row_2"} and model.type.relaxable(formulation, model) == ["rule_row_2"]
    # A>D 10, B>D 4, K>D 6: 36 of 10 + 8 + 36 = 54 (2/3); A>E 6, K>E 1: 6 of 12, exactly 50%, binding. The cost
    # per point is the solve's one-sided rate (optimizer.marginals), blank here; one point moves each row by its
    # weighted total / 100, for the row alone and for the rule's value alike.
    x = plan(formulation, ad=10, bd=4, kd=6, ae=6, ke=1)
    rows = compliance(formulation, x, {"rule_row_2": np.array([0.0, 3.0])})
    assert rows == [
        common(rule="min_share", **{"from": "Canada"}, basis="value", scope="each_destination", period="all",
               destination=d, from_flow=f, total_flow=t, share=pytest.approx(s), sense=">=", bound=0.5, binding=b,
               cost_per_point=pytest.approx(np.nan, nan_ok=True), met=True)
        for d, f, t, s, b in (("D", 36.0, 54.0, 2 / 3, False), ("E", 6.0, 12.0, 0.5, True))]
    assert list(pd.DataFrame(rows).columns) == [*COMPLIANCE_COLUMNS[:-3], "rule_row"]  # the carbon columns dropped
    tightening = model.type.tightening(formulation, model, x)
    assert (tightening.block, tightening.per_row.tolist(), tightening.per_value.tolist()) == (
        "rule_row_2", [0.54, 0.12], [0.54, 0.12])
    priced = model.type.sensitivity(pd.DataFrame(rows).assign(cost_per_point=[0.0, 0.36]))
    assert priced[["destination", "value", "used", "price"]].to_numpy().tolist() == [
        ["D", 0.5, pytest.approx(2 / 3), 0.0], ["E", 0.5, 0.5, pytest.approx(0.36)]]


def test_max_share_one_row_over_every_to_site_by_quantity():
    # total scope, quantity basis, at most 60% from K: (1[K] - 0.6) * 1 on every flow into D and E.
    formulation = formulate(rule("max_share", from_="K", value=0.6, basis="quantity"))
    assert only_rule_blocks(formulation) == {"rule_row_2": {
        ("all", "(all)"): ("<=", 0.0, {FLOWS[0]: -0.6, FLOWS[1]: -0.6, FLOWS[2]: 0.4, FLOWS[3]: -0.6,
                                      FLOWS[4]: pytest.approx(0.4)})}}
    # K>D 12, A>D 8, K>E 6, A>E 4: 18 of 30, exactly 60%: binding; a point moves the row by 30 / 100.
    x = plan(formulation, ad=8, kd=12, ae=4, ke=6)
    [row] = compliance(formulation, x, {"rule_row_2": np.array([-2.0])})
    assert row == common(rule="max_share", **{"from": "K"}, basis="quantity", scope="total", period="all",
                         destination="(all)", from_flow=18.0, total_flow=30.0, share=pytest.approx(0.6), sense="<=",
                         bound=0.6, binding=True, cost_per_point=pytest.approx(np.nan, nan_ok=True), met=True)
    model = formulation.rules[2]
    assert model.type.tightening(formulation, model, x).per_row.tolist() == [pytest.approx(0.3)]


def test_a_share_rule_with_nothing_flowing_in_has_no_share_and_is_not_binding():
    formulation = formulate(rule("min_share", from_="Canada", value=0.5, to="E", basis="quantity"))
    [row] = compliance(formulation, plan(formulation, ad=20), {"rule_row_2": np.array([0.0])})
    assert (row["from_flow"], row["total_flow"], row["binding"]) == (0.0, 0.0, False) and np.isnan(row["share"])


@pytest.mark.parametrize(("scope", "rows"), [("total", [("2026", "(all)"), ("2027", "(all)")]),
                                             ("each_destination", [("2027", "E")])])
def test_a_share_rule_has_a_row_in_every_period_it_covers_even_without_flows(scope, rows):
    # E needs cells in 2027 only, so nothing flows into E in 2026: scope total still states (and reports) that
    # period, with no terms; each_destination has a row per `to` site with flows or demand.
    formulation = build_formulation(network(**{
        **sheets(rule("min_share", from_="Canada", value=0.5, to="E", basis="quantity", scope=scope)),
        "Periods": [{"period": "2026"}, {"period": "2027"}],
        "Demand": [{"site": "E", "item": "cells", "quantity": 10, "period": "2027"}]}), "p")
    terms = formulation.rules[2].terms
    assert [tuple(r) for r in terms.rows.itertuples(index=False)] == rows
    assert labels(formulation)[:2] == ["flow A>E cells 2027", "flow K>E cells 2027"]
    assert (terms.row.tolist(), terms.var.tolist(), terms.selected.tolist()) == ([len(rows) - 1] * 2, [0, 1],
                                                                              [False, True])
    reported = compliance(formulation, np.zeros(formulation.n_variables), {"rule_row_2": np.zeros(len(rows))})
    assert [(r["period"], r["destination"], r["total_flow"]) for r in reported] == [(*r, 0.0) for r in rows]


def test_exclude_forbids_the_flows_from_its_from_sites():
    formulation = formulate(rule("exclude", from_="B", value=0.7, basis="quantity"))  # value and basis ignored
    assert only_rule_blocks(formulation) == {"rule_row_2": {("all", "(all)"): ("<=", 0.0, {FLOWS[1]: 1.0})}}
    model = formulation.rules[2]
    assert model.type.relaxable(formulation, model) == ["rule_row_2"]
    # Compliance: the flow from B of all the flow into the `to` sites (0 of 30); binding where the row has a price.
    x = plan(formulation, ad=20, ae=10)
    [row] = compliance(formulation, x, {"rule_row_2": np.array([-1.5])})
    assert (row["from_flow"], row["total_flow"], row["share"], row["sense"], row["bound"], row["binding"],
            row["met"]) == (0.0, 30.0, 0.0, "<=", 0.0, True, True)
    assert np.isnan(row["cost_per_point"])
    assert compliance(formulation, x, {"rule_row_2": np.array([0.0])})[0]["binding"] == False  # noqa: E712


# --------------------------------------------------------------------------- supplier counts


def test_max_suppliers_links_each_counted_flow_to_a_binary_and_counts_them():
    # from the US (A and B; K is Canadian) into D, at most 1: x <= 30 uses per (from site, to site), and
    # uses A + uses B <= 1.
    formulation = formulate(STATED["max_suppliers"])
    assert labels(formulation)[8:] == ["uses_row_2 A D all", "uses_row_2 B D all"]
    assert formulation.families["uses_row_2"].integer is True
    assert only_rule_blocks(formulation) == {
        "rule_row_2_link": {("A", "D", "cells", "all"): ("<=", 0.0, {FLOWS[0]: 1.0, "uses_row_2 A D all": -30.0}),
                            ("B", "D", "cells", "all"): ("<=", 0.0, {FLOWS[1]: 1.0, "uses_row_2 B D all": -30.0})},
        "rule_row_2": {("D", "all"): ("<=", 1.0, {"uses_row_2 A D all": 1.0, "uses_row_2 B D all": 1.0})}}
    assert formulation.rules[2].blocks == {"link": "rule_row_2_link", "count": "rule_row_2"}
    # Compliance per to site and period: from sites delivering a positive amount (K does not count: not from
    # the US) against the bound, and the inbound flow.
    expected = common(rule="max_suppliers", **{"from": "United States"}, to="D", basis="suppliers",
                      scope="each_destination", period="all", destination="D", sense="<=", bound=1.0)
    rows = compliance(formulation, plan(formulation, ad=10, kd=10))
    assert [{k: r[k] for k in expected} for r in rows] == [expected]
    assert (rows[0]["from_flow"], rows[0]["total_flow"], rows[0]["binding"], rows[0]["met"]) == (1.0, 20.0, True, True)
    [row] = compliance(formulation, plan(formulation, ad=10, bd=1e-6, kd=10 - 1e-6))
    assert (row["from_flow"], row["binding"], row["met"]) == (2.0, False, False)


def test_single_source_is_max_suppliers_one_whatever_the_value_cell_says():
    formulation = formulate(rule("single_source", to="E", value=3))
    assert formulation.rules[2].rule.value == 1.0
    assert only_rule_blocks(formulation) == {
        "rule_row_2_link": {("A", "E", "cells", "all"): ("<=", 0.0, {FLOWS[3]: 1.0, "uses_row_2 A E all": -30.0}),
                            ("K", "E", "cells", "all"): ("<=", 0.0, {FLOWS[4]: 1.0, "uses_row_2 K E all": -30.0})},
        "rule_row_2": {("E", "all"): ("<=", 1.0, {"uses_row_2 A E all": 1.0, "uses_row_2 K E all": 1.0})}}
    [row] = compliance(formulation, plan(formulation, ad=20, ae=4, ke=6))
    assert (row["rule"], row["destination"], row["from_flow"], row["total_flow"], row["bound"], row["met"]) == (
        "single_source", "E", 2.0, 10.0, 1.0, False)


def test_min_suppliers_counts_a_site_delivering_one_percent_of_the_inbound():
    # into D, at least 2 of A, B, K. With I = the inbound of D and M = 30: I - 30 active <= 0;
    # per from site o: x_o - 0.01 I - 0.3 uses_o >= -0.3 (0.3 = 1% of M); uses A + B + K - 2 active >= 0.
    formulation = formulate(STATED["min_suppliers"])
    assert labels(formulation)[8:] == ["active_row_2 D all", "uses_row_2 A D all", "uses_row_2 B D all",
                                       "uses_row_2 K D all"]
    uses = {o: f"uses_row_2 {o} D all" for o in "ABK"}
    flow = dict(zip("ABK", FLOWS[:3], strict=True))
    assert only_rule_blocks(formulation) == {
        "rule_row_2_active": {("D", "all"): ("<=", 0.0, {**dict.fromkeys(FLOWS[:3], 1.0),
                                                         "active_row_2 D all": -30.0})},
        "rule_row_2_counted": {
            (o, "D", "all"): (">=", pytest.approx(-0.3), {**{flow[p]: 0.99 if p == o else -0.01 for p in "ABK"},
                                                          uses[o]: pytest.approx(-0.3)})
            for o in "ABK"},
        "rule_row_2": {("D", "all"): (">=", 0.0, {**dict.fromkeys(uses.values(), 1.0), "active_row_2 D all": -2.0})}}
    # Compliance: B's 0.1 is 0.5% of D's 20 and does not count; 0.2 (1%) does; a D receiving nothing needs none.
    counted = [(r["from_flow"], r["total_flow"], r["binding"], r["met"]) for x in (
        plan(formulation, ad=19.9, bd=0.1), plan(formulation, ad=19.8, bd=0.2), plan(formulation))
        for r in compliance(formulation, x)]
    assert counted == [(1.0, 20.0, False, False), (2.0, 20.0, True, True), (0.0, 0.0, False, True)]


# --------------------------------------------------------------------------- carbon: co2_price, co2_cap


def test_co2_price_charges_production_and_flow_emissions_as_the_carbon_part():
    # 10 per unit of emissions on every activity: production A 2 x 10, B 3 x 10, K 1 x 10 as "carbon" costs of
    # the production columns; the flow A>D 0.5 x 10 = 5 per unit in the flows' carbon column.
    formulation = formulate(rule("co2_price", value=10))
    assert formulation.flows["carbon"].tolist() == [5.0, 0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(formulation.objective, [5, 0, 0, 0, 0, 1 + 20, 2 + 30, 6 + 10])
    carbon = [(name, list(column), list(nominal)) for name, column, _, part, nominal in formulation.ledger
              if part == "carbon"]
    assert carbon == [("production", [0, 1, 2], [20.0, 30.0, 10.0])]
    x = plan(formulation, ad=20, ke=10)  # A makes 20 (40), K 10 (10); A>D ships 20 (10): emissions 60
    [row] = compliance(formulation, x, row=2)
    assert (row["emissions"], row["cost"]) == (pytest.approx(60.0), pytest.approx(600.0))


def test_co2_cap_bounds_the_matching_emissions_and_its_per_unit_basis_scales_with_demand():
    # `to` D filters the flows only: production everywhere counts (2, 3, 1 per unit), plus A>D's 0.5.
    formulation = formulate(rule("co2_cap", to="D", value=50))
    assert only_rule_blocks(formulation) == {"rule_row_2": {("all", "(all)"): (
        "<=", 50.0, {"flow A>D cells all": 0.5, "production A cells all": 2.0, "production B cells all": 3.0,
                     "production K cells all": 1.0})}}
    per_unit = formulate(rule("co2_cap", to="D", value=1.5, basis="per_unit"))
    assert per_unit.blocks["rule_row_2"].rows["rhs"].tolist() == [30.0]  # 1.5 x D's demand of 20
    x = plan(formulation, ad=20, ke=10)  # emissions 40 + 10 + 20 x 0.5 = 60 > 50
    [row] = compliance(formulation, x, row=2)
    assert (row["emissions"], row["bound"], bool(row["met"])) == (pytest.approx(60.0), 50.0, False)
