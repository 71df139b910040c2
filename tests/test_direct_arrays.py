"""What the direct backend holds and hands to HiGHS, and the memory it leaves the system: 32-bit block
indices (and the PuLP pair codes that must not overflow with them), the CSC matrix HiGHS is given, tariffs
matched on the flows' codes, large blocks mapped on their own while HiGHS runs, and the arrays a model stated on
a physical model shares with it (and gives up when it changes them)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import highspy
import numpy as np
import pandas as pd
import pytest
from networks import network, sites

from optimizer import direct
from optimizer.backend import _entries
from optimizer.direct import arrays_from
from optimizer.edits import Outage
from optimizer.formulation import FlowKeys, build_formulation, flow_table, tariff_rates
from optimizer.highs import LinearArrays, load_arrays
from optimizer.horizon import fix_builds, with_capex
from optimizer.model import ConstraintBlock

TARIFFED = dict(  # three origins in two countries and a group, two items, two periods, four Tariffs rows
    Sites=sites("A", "D") + sites("K", country="Korea", tags="feoc") + sites("J", country="Japan"),
    Groups=[{"group": "asia", "country": "Korea"}, {"group": "asia", "country": "Japan"}],
    Items=[{"item": "cells", "category": "battery"}, {"item": "cam", "category": "material"}],
    Periods=[{"period": "2026"}, {"period": "2027"}],
    Supply=[{"site": s, "item": i, "unit_cost": 10 + k} for k, s in enumerate("AKJ") for i in ("cells", "cam")],
    Demand=[{"site": "D", "item": i, "period": p, "quantity": 5} for i in ("cells", "cam") for p in ("2026", "2027")],
    Lanes=[{"origin": o, "destination": "D"} for o in "AKJ"],
    Tariffs=[{"origin": "asia", "destination": "United States", "rate": 0.1},
             {"origin": "feoc", "item": "battery", "rate": 0.25},
             {"origin": "Japan", "item": "cam", "period": "2027", "rate": 0.05},
             {"origin": "K;J", "destination": "D", "item": "cells", "period": "2026", "rate": 0.02}])


def test_blocks_and_arrays_hold_32_bit_indices():
    formulation = build_formulation(network(**TARIFFED))
    assert {(b.row.dtype.name, b.var.dtype.name) for b in formulation.blocks.values()} == {("int32", "int32")}
    lp = arrays_from(formulation)
    assert (lp.row.dtype.name, lp.col.dtype.name) == ("int32", "int32")
    # laid out block after block, each block's rows after the previous ones
    expected = np.concatenate([b.row + lp.row_offset[name] for name, b in formulation.blocks.items()])
    np.testing.assert_array_equal(lp.row, expected)
    np.testing.assert_array_equal(lp.col, np.concatenate([b.var for b in formulation.blocks.values()]))


def test_pulp_pair_codes_do_not_overflow_with_32_bit_indices():
    # Row 61,356 times 70,001 columns is 2**32 + 14,060: in 32-bit arithmetic the pair (61356, 0) would be
    # the pair (0, 14060) and the two entries would be added up as one.
    rows = pd.DataFrame({"sense": ["<="] * 61_357, "rhs": 0.0})
    block = ConstraintBlock("wide", rows, [61_356, 0, 1], [0, 14_060, 70_000], [1.0, 2.0, 3.0])
    row, var, coef = _entries(block)
    assert sorted(zip(row.tolist(), var.tolist(), coef.tolist(), strict=True)) == [
        (0, 14_060, 2.0), (1, 70_000, 3.0), (61_356, 0, 1.0)]


def test_highs_gets_a_sorted_csc_matrix_with_repeated_entries_added_up():
    # 2 rows x 3 columns given in no order, (row 1, column 2) twice: 2 + 3
    lp = LinearArrays(np.array([1.0, 2.0, 3.0]), np.zeros(3), np.full(3, np.inf), np.array([1.0, 1.0]),
                      np.array([np.inf, np.inf]), np.array([1, 0, 1, 0, 1], dtype=np.int32),
                      np.array([2, 1, 0, 0, 2], dtype=np.int32), np.array([2.0, 4.0, 6.0, 7.0, 3.0]))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    load_arrays(h, lp, np.array([False, True, False]))
    matrix = h.getLp().a_matrix_
    assert list(matrix.start_) == [0, 2, 3, 4]
    assert list(matrix.index_) == [0, 1, 0, 1]
    assert list(matrix.value_) == [7.0, 6.0, 4.0, 5.0]
    assert list(h.getLp().integrality_) == [highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger,
                                            highspy.HighsVarType.kContinuous]


def test_tariffs_matched_on_codes_add_up_as_the_rows_say():
    net = network(**TARIFFED)
    flows = flow_table(net)
    keys = FlowKeys.of_flows(flows, list(net.periods))
    rates = {(o, i, p): r for o, i, p, r in zip(flows["origin"], flows["item"], flows["period"],
                                                 tariff_rates(net, flows, keys), strict=True)}
    # K (Korea, feoc): asia 0.1 everywhere; feoc battery 0.25 on cells; K;J cells in 2026 0.02
    # J (Japan): asia 0.1; Japan cam in 2027 0.05; K;J cells in 2026 0.02; A (United States): none
    assert rates == pytest.approx({
        ("A", "cells", "2026"): 0.0, ("A", "cells", "2027"): 0.0, ("A", "cam", "2026"): 0.0, ("A", "cam", "2027"): 0.0,
        ("K", "cells", "2026"): 0.37, ("K", "cells", "2027"): 0.35, ("K", "cam", "2026"): 0.1,
        ("K", "cam", "2027"): 0.1, ("J", "cells", "2026"): 0.12, ("J", "cells", "2027"): 0.1,
        ("J", "cam", "2026"): 0.1, ("J", "cam", "2027"): 0.15}, abs=1e-12)
    np.testing.assert_array_equal(tariff_rates(net, flows), tariff_rates(net, flows, keys))  # codes computed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_blocks_allocated_while_highs_runs_are_mapped_on_their_own():
    # glibc maps a block on its own (and unmaps it when freed: the memory goes back to the system) from a
    # threshold it raises to the largest block freed so far: after a 16 MB array is freed, a new 1 MB array
    # comes from the heap, and stays there when freed. While HiGHS runs, it is mapped on its own.
    script = textwrap.dedent("""
        import ctypes, numpy as np
        from optimizer.direct import _large_blocks_unmapped

        class Info(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                       "fsmblks", "uordblks", "fordblks", "keepcost")]
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = Info
        big = np.ones(16 * 2**20 // 8)
        del big
        with _large_blocks_unmapped():
            before = libc.mallinfo2().hblks
            block = np.ones(2**20 // 8)
            print(libc.mallinfo2().hblks - before)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1"]


def test_the_threshold_is_set_back_when_the_solve_fails(monkeypatch):
    calls = []

    class Libc:
        def mallopt(self, parameter, value):
            calls.append((parameter, value))

        def malloc_trim(self, pad):
            calls.append(("trim", pad))

    def failing(formulation, options):
        calls.append("solve")
        raise RuntimeError("HiGHS failed")

    monkeypatch.setattr(direct, "_libc", Libc)
    monkeypatch.setattr(direct, "_solve", failing)
    with pytest.raises(RuntimeError):
        direct.solve_direct(None, None)
    assert calls == [("trim", 0), (-3, 128 * 1024), "solve", (-3, 32 * 1024 * 1024)]


BUY_OR_BUILD = dict(  # B sells cells at 10; option O at S makes up to 10 a period at 4 for a capex of 100
    Sites=sites("B", "S", "P"), Items=[{"item": "cells"}], Periods=[{"period": "1"}, {"period": "2"}],
    Supply=[{"site": "B", "item": "cells", "unit_cost": 10}],
    Demand=[{"site": "P", "item": "cells", "quantity": 10}],
    Lanes=[{"origin": "B", "destination": "P"}, {"origin": "S", "destination": "P"}],
    Investments=[{"option": "O", "site": "S", "item": "cells", "capacity": 10, "unit_cost": 4, "capex": 100}],
    Policies=[{"policy": "credit", "rule": "credit", "from": "B", "value": 1.5}])


def test_a_model_shares_the_arrays_its_rules_leave_as_they_are_with_its_physical_model():
    net = network(**BUY_OR_BUILD)
    baseline, credited = build_formulation(net), build_formulation(net, "credit")
    for model in (baseline, credited):
        physical = model.physical
        for name, family in model.families.items():
            assert (family.cost is physical.families[name].cost, family.upper is physical.families[name].upper,
                    family.lower is physical.families[name].lower) == (True, True, True), name
    shared = {c: np.shares_memory(baseline.flows[c].to_numpy(), baseline.physical.flows[c].to_numpy())
              for c in ("policy_tariff_rate", "credit", "carbon", "unit_cost")}
    assert shared == {"policy_tariff_rate": True, "credit": True, "carbon": True, "unit_cost": True}
    # the credit rule changes the credit and the unit cost of B's flows: those two columns are the model's own
    own = {c: np.shares_memory(credited.flows[c].to_numpy(), credited.physical.flows[c].to_numpy())
           for c in ("policy_tariff_rate", "credit", "carbon", "unit_cost")}
    assert own == {"policy_tariff_rate": True, "credit": False, "carbon": True, "unit_cost": False}
    assert list(zip(credited.flows["origin"], credited.flows["credit"], credited.flows["unit_cost"], strict=True)) \
        == [("B", 1.5, -1.5), ("S", 0.0, 0.0), ("B", 1.5, -1.5), ("S", 0.0, 0.0)]
    physical = credited.physical.flows  # as it was before the rules
    assert (physical["credit"].tolist(), physical["unit_cost"].tolist()) == ([0.0] * 4, [0.0] * 4)


def test_changing_a_copy_leaves_the_model_it_was_copied_from_as_it_was():
    model = build_formulation(network(**BUY_OR_BUILD))
    build = model.families["build"]
    cost, lower, upper = build.cost.copy(), build.lower.copy(), build.upper.copy()
    fixed = model.copy()
    fix_builds(fixed, {"O": "1"})
    assert (fixed.families["build"].lower.tolist(), fixed.families["build"].upper.tolist()) == ([1.0, 0.0],
                                                                                                [1.0, 0.0])
    cheaper = with_capex(model, {"O": 40.0})
    assert cheaper.families["build"].cost.tolist() == [40.0, 40.0]
    added = model.copy()
    added.add_costs("build", np.array([1]), np.array([1]), "capex", np.array([5.0]))
    assert added.families["build"].cost.tolist() == [100.0, 105.0]
    flows_upper = model.families["flow"].upper.copy()
    down = Outage("P").applied(model)  # P receives nothing: every flow (all go to P) bounded to 0
    assert down.families["flow"].upper.tolist() == [0.0] * len(flows_upper)
    np.testing.assert_array_equal(model.families["flow"].upper, flows_upper)
    np.testing.assert_array_equal(build.cost, cost)  # the original's arrays, untouched
    np.testing.assert_array_equal(build.lower, lower)
    np.testing.assert_array_equal(build.upper, upper)
    assert cost.tolist() == [100.0, 100.0]
