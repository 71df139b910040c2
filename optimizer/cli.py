"""The ``sourcing`` command: template, validate, solve, compare, sweep, frontier, robust, stress.

Exit codes: 0 a plan was written (or the workbook is valid); 1 no feasible plan; 2 invalid
input or usage. No traceback reaches the user: unexpected failures are reported in one line
(set SOURCING_DEBUG=1 to see the traceback).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from models.problems import WorkbookError
from optimizer.options import SOLVERS, SolverOptions, SolverUnavailable, check_solver

if TYPE_CHECKING:
    from models.network import Network
    from optimizer.results import SolveResult

# Each command imports what it uses when it starts (reading, the model, the solver layer, the writer), so that
# none imports what it does not use: the template needs no pandas, the direct backend no PuLP, nothing needs
# dask unless the solves are distributed.

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Cost-minimal sourcing plans under localization rules, from Excel to Excel.")
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

EXIT_OK, EXIT_NO_PLAN, EXIT_INVALID = 0, 1, 2

# Options shared by several commands, declared once.
Workbook = Annotated[Path, typer.Argument(help="Sourcing workbook (.xlsx).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Solver = Annotated[str, typer.Option(help=f"Solver: {' or '.join(SOLVERS)}.")]
TimeLimit = Annotated[float | None, typer.Option(help="Solver time limit (per solve) in seconds.")]
Workers = Annotated[int, typer.Option(help="Local worker processes for independent solves.")]
MipGap = Annotated[float | None, typer.Option(help="Relative MIP gap at which to stop (0.01 = 1%).")]
Scheduler = Annotated[str | None, typer.Option(
    help="Run the solves on this Dask scheduler (tcp://HOST:PORT) instead; needs the distributed extra.")]


def _text(value) -> str:
    """A name or label for the terminal: blank for None or NaN (an unbuilt option has no build period)."""
    return "" if value is None or value != value else str(value)


def _quantity(value) -> str:
    """A quantity for the terminal, whole units with thousands separators; blank when there is none."""
    return "" if value is None or value != value else f"{value:,.0f}"


def _units(value) -> str:
    """A quantity for the terminal as a reader writes it (``1.5``, ``1,200``: six significant digits); blank when
    there is none."""
    return "" if value is None or value != value else f"{value:,.6g}"


def _rate(value) -> str:
    """A cost per unit for the terminal (``optimizer.figures.rate_text``); blank when there is none."""
    if value is None or value != value:
        return ""
    from optimizer.figures import rate_text

    return rate_text(value)


def _amount(value, signed: bool = False) -> str:
    """A cost for the terminal; blank when there is none (None or NaN), AT_THE_LIMIT for a marginal cost
    at the limit (infinite)."""
    if value is None or value != value:
        return ""
    if value == math.inf:
        from optimizer.figures import AT_THE_LIMIT

        return AT_THE_LIMIT
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


#: A name (a policy set, scenario, plan or option) shows whole in a terminal table up to this many characters; a
#: longer one folds onto the next line. Never cut: two names cut to one stem (``tariff_car…``) would read as one.
NAME_WIDTH = 24
#: The title of a terminal table whose costs are all discounted (the workbook's headers say it per column).
DISCOUNTED_COSTS = "all costs discounted"


def _table(columns: list[tuple[str, str]], rows: list[tuple], title: str | None = None):
    """A terminal table of ``rows`` (text, shown as it is, never as markup) under ``columns`` (header, kind):
    ``name`` (left; whole up to NAME_WIDTH, folded beyond), ``number`` (right; never wrapped or cut) or
    ``text`` (left; folds). Wider than the terminal, each column narrows to its longest cell or header word (its
    header wraps at spaces), rather than rich cutting names and numbers short."""
    from rich.table import Table
    from rich.text import Text

    def build(compact: bool):
        table = Table(show_header=True, header_style="bold", title=title, title_style="italic")
        for index, (header, kind) in enumerate(columns):
            longest = max((len(str(row[index])) for row in rows), default=0)
            word = max(len(w) for w in header.split())
            least = min(longest, NAME_WIDTH) if kind == "name" else longest if kind == "number" else None
            table.add_column(header, justify="right" if kind == "number" else "left", overflow="fold",
                             min_width=least, max_width=max(least or longest, word) if compact else None)
        for row in rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(str(cell)) for cell in row))
        return table

    # its natural width: each column as wide as its header or longest cell, padded, and the borders between
    natural = sum(max(len(header), *(len(str(row[i])) for row in rows)) + 2 for i, (header, _) in enumerate(columns))
    return build(compact=natural + len(columns) + 1 > out.width)


def _text(value) -> str:
    """A text cell: blank for None or NaN (pandas' missing text)."""
    return "" if value is None or value != value else str(value)


def solve_network(network, **kwargs):
    """``optimizer.api.solve`` (imported when a command first solves)."""
    from optimizer.api import solve

    return solve(network, **kwargs)


class Stop(Exception):
    """End the command with an exit code after its message was printed."""

    def __init__(self, code: int):
        self.code = code


#: Keys whose value is a one-sided marginal cost: infinite at the limit (``optimizer.marginals``).
MARGINAL_KEYS = frozenset({"marginal", "cost_per_point", "marginal_abatement_cost"})


def _plain_json(value, key: str = ""):
    """``value`` as strict JSON has it: a marginal cost at the limit as the text ``at the limit``, any other
    number that is not finite (NaN, a blank) as null."""
    if isinstance(value, dict):
        return {k: _plain_json(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v, key) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        if value > 0 and key in MARGINAL_KEYS:
            from optimizer.figures import AT_THE_LIMIT

            return AT_THE_LIMIT
        return None
    return value


def _emit_json(payload: dict) -> None:
    print(json.dumps(_plain_json(payload), indent=2, default=str, allow_nan=False))


def _invalid(problems: list, as_json: bool, status: str = "error") -> None:
    if as_json:
        _emit_json({"status": status, "problems": [p.as_dict() for p in problems]})
    else:
        err.print(f"[bold red]The workbook has {len(problems)} problem(s):[/]")
        for problem in problems:
            err.print(f"  {problem}", markup=False)
    raise Stop(EXIT_INVALID)


def _load(path: Path, as_json: bool):
    from optimizer.reading.load import load_workbook

    try:
        network = load_workbook(path)
    except WorkbookError as exc:
        _invalid(exc.problems, as_json)
    if not as_json:
        for warning in network.warnings:
            err.print(f"warning: {warning}", markup=False)
    return network


def _fail(message: str, as_json: bool, code: int = EXIT_INVALID) -> None:
    if as_json:
        _emit_json({"status": "error", "message": message})
    else:
        from rich.markup import escape  # a path or sheet name may hold [brackets]

        err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise Stop(code)


def _or_fail(action, as_json: bool):
    """Run ``action``; an OutputError (nothing was written) ends the command with its message."""
    from optimizer.writing.save import OutputError

    try:
        return action()
    except OutputError as exc:
        _fail(str(exc), as_json)


@app.command()
def template(output: Annotated[Path, typer.Argument(help="Where to write the starter workbook (.xlsx).")]):
    """Write a starter workbook with every sheet, a tiny example and column notes."""
    from optimizer.writing.template import write_template

    _or_fail(lambda: write_template(output), False)
    out.print(f"Template written to {output}")


@app.command()
def validate(
    workbook: Workbook,
    as_json: AsJson = False,
):
    """Check a workbook against the format and report every problem at once."""
    network = _load(workbook, as_json)
    counts = {"sites": len(network.sites), "items": len(network.items), "periods": len(network.periods),
              "supply_options": len(network.supply), "demand_rows": len(network.demand),
              "lanes": len(network.lanes), "tariffs": len(network.tariffs),
              "investment_options": int(network.investments["option"].nunique()),
              "inventory_rows": int(network.inventory["row"].nunique()), "scenarios": len(network.scenarios),
              "given_probability_total": round(network.given_probability, 12),
              "policies": [p for p in network.policies]}
    if as_json:
        _emit_json({"status": "valid", "warnings": list(network.warnings), **counts})
    else:
        given = f" (given probabilities total {counts['given_probability_total']:g})" if counts["scenarios"] else ""
        found = ", ".join(_counted(counts[key], noun) for key, noun in (
            ("sites", "site"), ("items", "item"), ("periods", "period"), ("supply_options", "supply option"),
            ("demand_rows", "demand entry"), ("lanes", "lane"), ("investment_options", "investment option"),
            ("inventory_rows", "inventory row"), ("scenarios", "scenario")))
        out.print(f"[green]valid[/]: {found}{given}; policy sets: {', '.join(counts['policies'])}")


def _counted(count: int, noun: str) -> str:
    """``3 sites``, ``1 site``, ``2 demand entries``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def _print_result(result: SolveResult, output: Path | None) -> None:
    from rich.markup import escape
    from rich.text import Text

    style = "green" if result.status == "optimal" else "red"
    scenario = f" in scenario [bold]{escape(result.scenario)}[/]" if result.scenario else ""
    out.print(f"Policy set [bold]{escape(result.policy)}[/]{scenario}: [{style}]{result.status}[/] ({result.solver})")
    if result.has_plan:
        # each part discounted (as the total cost) and nominal (as it arises, summed over the periods)
        from optimizer.costs import PARTS

        by_period = result.costs_by_period
        rows = [(part.replace("_", " "), _amount(value),
                 _amount(float(by_period[part].sum())) if part in by_period else "")
                for part, value in result.costs.items() if PARTS[part].shown or value]
        rows.append((Text("total", style="bold"), Text(_amount(result.total_cost), style="bold"),
                     _amount(result.nominal_total)))
        out.print(_table([("cost", "text"), ("discounted", "number"), ("nominal", "number")], rows))
        _print_unmet(result)
        if len(result.investments):
            _print_investments(result)
        if len(result.compliance):
            out.print(_checks_text(result.compliance), markup=False)
    if result.diagnosis:
        out.print("[bold red]No feasible plan.[/] Why:")
        for finding in result.diagnosis:
            out.print(f"  {finding['message']}", markup=False)
    elif result.message:
        out.print(result.message, markup=False)
    if output is not None:
        out.print(f"{'Plan' if result.has_plan else 'Diagnosis'} written to {output}")


def _checks_text(compliance) -> str:
    """``15 rule checks (rule x period x destination), 10 binding; 5 rows of rules that price (see the
    Compliance sheet)``: a check is a row that checks a bound; tariffs, credits and a carbon price check none."""
    from optimizer.rules import is_check

    checks = compliance[is_check(compliance)]
    binding = int(checks["binding"].fillna(False).astype(bool).sum())
    text = f"{len(checks)} rule checks (rule x period x destination), {binding} binding"
    priced = len(compliance) - len(checks)
    if priced:
        text += f"; {priced} rows of rules that price (tariffs, credits, carbon)"
    return text + " (see the Compliance sheet)"


#: At most this many Demand rows left unmet are listed on the terminal (the Shortage sheet has them all).
UNMET_SHOWN = 10


def _print_unmet(result: SolveResult) -> None:
    """The Demand rows the plan leaves (partly) unmet, largest shortage cost first."""
    if not len(result.unmet):
        return
    from optimizer.findings import in_period, unit_of

    network = result.formulation.network
    short = result.unmet[result.unmet["unmet"] > 0].sort_values("cost", ascending=False, kind="stable")
    for row in short.head(UNMET_SHOWN).itertuples():
        out.print(f"Left unmet: {row.unmet:,.6g} of the {row.demand:,.6g}{unit_of(network, row.item)} of {row.item} "
                  f"demanded at {row.site}{in_period(network, row.period)} ({row.source}), shortage cost "
                  f"{row.cost:,.2f}", markup=False)
    if len(short) > UNMET_SHOWN:
        out.print(f"... and {len(short) - UNMET_SHOWN} more Demand rows left unmet (see the Shortage sheet)")


def _print_investments(result: SolveResult) -> None:
    """The build decisions, and the options' values when they were computed: what a built option saves
    (discounted, as the total cost), the break-even capex of one not built (a capex: nominal)."""
    from optimizer.results import build_periods_text

    def worth(value) -> str:
        return _text(value) if isinstance(value, str) or value is None or value != value else _amount(value)

    rows = []
    for row in result.investments.itertuples():
        built = f"{row.built:.0%}" if row.divisible else ("yes" if row.built else "no")
        period = build_periods_text(row)
        rows.append((row.option, f"{built}, {period}" if period else built, _text(row.available_from),
                     worth(row.value) if row.built else "", "" if row.built else worth(row.break_even_capex)))
    columns = [("option", "name"), ("built", "text"), ("available from", "text")]
    if any(r[3] or r[4] for r in rows):  # --option-values computed them
        columns += [("value (discounted)", "number"), ("break-even capex (nominal)", "number")]
    out.print(_table(columns, [r[:len(columns)] for r in rows]))


@app.command()
def solve(
    workbook: Workbook,
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="Plan workbook to write (default: <input>-<policy>-plan.xlsx "
                                                     "in the current folder).")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy set to apply (default: baseline).")] = None,
    scenario: Annotated[str | None, typer.Option(
        help="Solve this scenario of the Scenarios sheet: its changes applied, its policy set.")] = None,
    solver: Solver = "highs",
    time_limit: TimeLimit = None,
    mip_gap: MipGap = None,
    write_lp: Annotated[Path | None, typer.Option(help="Also write the PuLP model (.lp, or .mps).")] = None,
    write_mps: Annotated[Path | None, typer.Option(help="Also write the PuLP model as an MPS file.")] = None,
    solver_log: Annotated[bool, typer.Option("--solver-log", help="Show the solver's own log on stdout.")] = False,
    option_values: Annotated[bool, typer.Option(
        "--option-values", help="Value every investment option by re-solving: what a built one saves, the "
                                "break-even capex of one not built.")] = False,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    as_json: AsJson = False,
):
    """Solve the cost-minimal sourcing plan for one policy set and write it to Excel."""
    from optimizer.api import peak_memory_mb, seconds_since_start
    from optimizer.backend import write_model
    from optimizer.reading import load  # noqa: F401 - imported with the rest, before the command's work
    from optimizer.writing.plan import write_plan
    from optimizer.writing.save import check_output_path

    _check_common(solver, time_limit, workers, as_json, mip_gap)
    if scenario is not None and policy is not None:
        _fail("--scenario and --policy cannot be combined: a scenario names its own policy set", as_json)
    if output is None:
        output = Path(f"{workbook.stem}-{scenario or policy or 'baseline'}-plan.xlsx")
    policy = policy or "baseline"
    _or_fail(lambda: check_output_path(output, [workbook]), as_json)
    models = [(option, path, kind) for option, path, kind in (("--write-lp", write_lp, None),
                                                               ("--write-mps", write_mps, "mps"))
              if path is not None]
    for option, path, _ in models:
        if _same_file(path, workbook):
            _fail(f"{option} {path} is the input workbook; choose another file name", as_json)
        if not path.resolve().parent.is_dir() or not os.access(path.resolve().parent, os.W_OK):
            _fail(f"{option} {path}: folder {path.resolve().parent} does not exist or is not writable", as_json)
    seconds_startup = seconds_since_start()
    started = time.perf_counter()
    network = _load(workbook, as_json)
    seconds_read = time.perf_counter() - started
    peak_read = peak_memory_mb()
    try:
        if scenario is not None:
            network = network.in_scenario(scenario)
            policy = network.scenario_policy
        network.policy(policy)
    except KeyError as exc:
        _fail(str(exc.args[0]), as_json)
    options = SolverOptions(solver=solver.lower(), time_limit=time_limit, mip_gap=mip_gap,
                            verbose=solver_log and not as_json)
    # Large models take minutes in the solver: show that work is going on (stderr, terminals only).
    waiting = err.status(f"Solving policy set {policy} ({len(network.supply):,} supply options, "
                         f"{len(network.lanes):,} lanes) ...") \
        if err.is_terminal and not as_json and not options.verbose else contextlib.nullcontext()
    try:
        with waiting:
            result = solve_network(network, policy=policy, options=options)
    except SolverUnavailable as exc:
        _fail(str(exc), as_json)
    for _, path, kind in models:  # a fresh copy: solving a MILP fixes its binaries for the prices
        write_model(result.formulation, str(path), kind=kind)
    if option_values and result.has_plan and len(result.investments):
        from optimizer.valuation import attach_option_values
        from optimizer.valuation import option_values as value_options

        values = _run_many(as_json, "valuing investment options", lambda tick: value_options(
            network, result, options, workers=workers, scheduler=scheduler, progress=tick))
        attach_option_values(result, values)
    started = time.perf_counter()  # without a plan the workbook holds the Summary and the Diagnosis
    written = _or_fail(lambda: write_plan(result, output, inputs=[workbook]), as_json)
    result.stats.update(seconds_startup=seconds_startup)
    result.stats.update(seconds_read_validate=seconds_read, seconds_write=time.perf_counter() - started,
                        peak_mb_read_validate=peak_read, peak_mb_write=peak_memory_mb())
    if as_json:
        _emit_json(result.as_dict(str(written)))
    else:
        _print_result(result, written)
        if result.status == "time_limit" and result.has_plan:
            err.print(f"warning: the time limit stopped the search; the plan written is the best found, "
                      f"not proven optimal (gap {result.output.mip_gap or 0:.2%})", markup=False)
    raise Stop(EXIT_OK if result.has_plan else EXIT_NO_PLAN)


def _print_point_notes(table, shown) -> None:
    """Below a sweep's or frontier's table: each point where a build decision changes (its cost step is not what
    the marginal cost before it predicts), and each marginal left blank with the reason."""
    for _, row in table.iterrows():
        if row.get("unmet") not in (None, "", "none"):
            out.print(f"At {shown(row['value'])}: {row['unmet']} left unmet (shortage cost "
                      f"{row['shortage']:,.2f}, discounted): the rule is met partly by not delivering.",
                      markup=False)
        if row["decision_change"]:
            out.print(f"At {shown(row['value'])}: {row['message']} (the step in cost is not what the marginal cost "
                      "of the point before predicts).", markup=False)
        elif row["status"] == "optimal" and row["message"]:
            out.print(f"At {shown(row['value'])}: {row['message']}.", markup=False)


def _same_file(first: Path, second: Path) -> bool:
    """True when two paths name one file (also through links or another spelling)."""
    if first.resolve() == second.resolve():
        return True
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def _progress_bar(enabled: bool, label: str):
    """A rich progress bar on stderr for long runs; silent when disabled or not on a terminal."""
    from contextlib import nullcontext

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled or not err.is_terminal:
        return nullcontext(None)
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


def _run_many(as_json: bool, label: str, run):
    """Run ``run(progress_callback)`` under a progress bar, mapping known failures to exit 2."""
    from optimizer.compare import SweepError
    from optimizer.runner import DistributedUnavailable

    with _progress_bar(not as_json, label) as bar:
        task = bar.add_task(label, total=None) if bar else None

        def tick(done: int, total: int) -> None:
            if bar:
                bar.update(task, completed=done, total=total)

        try:
            return run(tick)
        except (SolverUnavailable, DistributedUnavailable, SweepError) as exc:
            _fail(str(exc), as_json)
        except KeyError as exc:
            _fail(str(exc.args[0]), as_json)


def _output_and_network(workbook: Path, output: Path | None, kind: str, as_json: bool) -> tuple[Path, Network]:
    """The output path (default ``<input>-<kind>.xlsx`` here), refused before any work if it would overwrite an
    input, and the validated network."""
    from optimizer.writing.save import check_output_path

    output = output or Path(f"{workbook.stem}-{kind}.xlsx")
    _or_fail(lambda: check_output_path(output, [workbook]), as_json)
    return output, _load(workbook, as_json)


def _check_common(solver: str, time_limit: float | None, workers: int, as_json: bool,
                  mip_gap: float | None = None) -> None:
    try:
        check_solver(solver)
    except SolverUnavailable as exc:
        _fail(str(exc), as_json)
    if time_limit is not None and time_limit <= 0:
        _fail("--time-limit must be a positive number of seconds", as_json)
    if mip_gap is not None and not 0 <= mip_gap < 1:
        _fail("--mip-gap must be a fraction in [0, 1), e.g. 0.01 for 1%", as_json)
    if workers < 1:
        _fail("--workers must be at least 1", as_json)



@app.command()
def compare(
    workbook: Workbook,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Comparison workbook to write "
                                                "(default: <input>-comparison.xlsx in the current folder).")] = None,
    policies: Annotated[str, typer.Option(help="Comma-separated policy sets, or 'all'.")] = "all",
    solver: Solver = "highs",
    time_limit: TimeLimit = None,
    mip_gap: MipGap = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    as_json: AsJson = False,
):
    """Solve the baseline and each policy set; write them side by side with charts."""
    from optimizer.compare import compare as compare_policies
    from optimizer.writing.comparison import write_comparison

    _check_common(solver, time_limit, workers, as_json, mip_gap)
    output, network = _output_and_network(workbook, output, "comparison", as_json)
    options = SolverOptions(solver=solver.lower(), time_limit=time_limit, mip_gap=mip_gap)
    comparison = _run_many(as_json, "solving policy sets", lambda tick: compare_policies(
        network, policies, options, workers=workers, scheduler=scheduler, progress=tick))
    written = _or_fail(lambda: write_comparison(comparison, output, inputs=[workbook]), as_json)
    if as_json:
        _emit_json({"output": str(written), "policies": comparison.records(str(written))})
    else:
        rows = comparison.table()
        carbon = "emissions" in rows  # the workbook has emissions: show them beside the cost
        columns = [("policy", "name"), ("status", "text"), ("total cost", "number"), ("vs baseline", "number"),
                   ("binding" if carbon else "binding checks", "number"),
                   *([("emissions", "number")] if carbon else [])]
        shown = [(row["policy"], row["status"], _amount(row["total_cost"]),
                  "" if row["vs_baseline"] != row["vs_baseline"]
                  else _amount(row["vs_baseline"], signed=True) if carbon  # 80 columns: % in the workbook
                  else f"{_amount(row['vs_baseline'], signed=True)} ({row['vs_baseline_pct']:+.1%})",
                  f"{row['binding_checks']}/{row['rule_checks']}", *([_quantity(row["emissions"])] if carbon else []))
                 for _, row in rows.iterrows()]
        out.print(_table(columns, shown, DISCOUNTED_COSTS))
        if "demand_unmet" in rows:  # some set leaves demand unmet: how much, and what it costs (a table of its own:
            # two more columns would not fit 80)
            out.print(_table([("policy", "name"), ("demand left unmet", "number"), ("shortage cost", "number")],
                             [(row["policy"], _units(row["demand_unmet"]), _amount(row["shortage_cost"]))
                              for _, row in rows.iterrows()], DISCOUNTED_COSTS))
        for result in comparison.results:
            if not result.has_plan:
                out.print(f"{result.policy}: {result.message}", markup=False)
        _print_unmet_notes(comparison)
        out.print(f"Comparison written to {written}")


def _print_unmet_notes(comparison) -> None:
    """Below the comparison's table: each policy set that leaves demand unmet, how much of which item and at what
    shortage cost; for a set with rules that leaves more than baseline, that it meets them partly by not
    delivering."""
    from models.network import BASELINE
    from optimizer.results import unmet_text, unmet_total

    baseline = next((r for r in comparison.results if r.policy == BASELINE and r.has_plan), None)
    for result in comparison.results:
        text = unmet_text(result, comparison.network)
        if not text:
            continue
        cost = f"(shortage cost {_amount(result.costs.get('shortage'))}, discounted)"
        if result.policy != BASELINE and (baseline is None or unmet_total(result) > unmet_total(baseline)):
            out.print(f"Policy set {result.policy} meets its rules partly by not delivering: {text} left unmet {cost}.",
                      markup=False)
        else:
            out.print(f"Policy set {result.policy} leaves {text} unmet {cost}.", markup=False)


@app.command()
def sweep(
    workbook: Workbook,
    policy: Annotated[str, typer.Option(help="Policy set holding the rule.")],
    rule: Annotated[int, typer.Option(help="Excel row number of the rule on the Policies sheet.")],
    values: Annotated[str, typer.Option(help="start:stop:step (stop included, e.g. 0.40:0.90:0.05 or "
                                             "40%:90%:5%) or a comma-separated list.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Sweep workbook to write "
                                                "(default: <input>-sweep.xlsx in the current folder).")] = None,
    solver: Solver = "highs",
    time_limit: TimeLimit = None,
    mip_gap: MipGap = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    as_json: AsJson = False,
):
    """Re-solve one policy set while one rule's value steps through a range: the cost curve."""
    from optimizer.compare import SweepError, parse_values
    from optimizer.compare import sweep as sweep_rule
    from optimizer.writing.sweep import write_sweep

    _check_common(solver, time_limit, workers, as_json, mip_gap)
    try:
        points = parse_values(values)
    except SweepError as exc:
        _fail(str(exc), as_json)
    output, network = _output_and_network(workbook, output, "sweep", as_json)
    options = SolverOptions(solver=solver.lower(), time_limit=time_limit, mip_gap=mip_gap)
    result = _run_many(as_json, "sweeping", lambda tick: sweep_rule(
        network, policy, rule, points, options, workers=workers, scheduler=scheduler, progress=tick))
    written = _or_fail(lambda: write_sweep(result, output, inputs=[workbook]), as_json)
    table = result.table()
    if as_json:
        from optimizer.families import family_stats

        _emit_json({"output": str(written), "policy": result.policy.name, "rule": rule,
                    "first_infeasible": result.first_infeasible(), "points": result.points(),
                    "stats": family_stats(result.results)})
    else:
        builds = bool(len(network.investments))
        rows = [(f"{row['value']:g}", row["status"], _amount(row["total_cost"]), _amount(row["marginal"]),
                 *([row["builds"]] if builds else [])) for _, row in table.iterrows()]
        out.print(_table([("value", "number"), ("status", "number"), ("total cost", "number"),
                          (result.marginal_label(), "number"), *([("builds", "text")] if builds else [])], rows,
                         DISCOUNTED_COSTS))
        _print_point_notes(table, lambda value: f"{value:g}")
        first = result.first_infeasible()
        if first is not None:
            out.print(f"Infeasible from value {first:g} on.")
        out.print(f"Sweep written to {written}")


@app.command()
def frontier(
    workbook: Workbook,
    policy: Annotated[str, typer.Option(help="Policy set holding the rule.")],
    rule: Annotated[int, typer.Option(help="Excel row number of the rule on the Policies sheet: a min_share, "
                                           "max_share or co2_cap (basis total) rule.")],
    points: Annotated[int, typer.Option(help="Points from start to end, both included.")] = 11,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Frontier workbook to write "
                                                "(default: <input>-frontier.xlsx in the current folder).")] = None,
    solver: Solver = "highs",
    time_limit: TimeLimit = None,
    mip_gap: MipGap = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    as_json: AsJson = False,
):
    """The cost of one rule over its whole achievable range: from where it starts to bind to the most demanding
    value that still has a plan."""
    from optimizer.frontier import FrontierError
    from optimizer.frontier import frontier as frontier_of
    from optimizer.writing.frontier import value_text, write_frontier

    _check_common(solver, time_limit, workers, as_json, mip_gap)
    output, network = _output_and_network(workbook, output, "frontier", as_json)
    options = SolverOptions(solver=solver.lower(), time_limit=time_limit, mip_gap=mip_gap)
    try:
        result = _run_many(as_json, "drawing the frontier", lambda tick: frontier_of(
            network, policy, rule, points, options, workers=workers, scheduler=scheduler, progress=tick))
    except FrontierError as exc:
        _fail(str(exc), as_json, EXIT_NO_PLAN if exc.no_plan else EXIT_INVALID)
    written = _or_fail(lambda: write_frontier(result, output, inputs=[workbook]), as_json)
    if as_json:
        _emit_json(result.as_dict(str(written)))
        return
    builds = bool(len(network.investments))
    table = result.table()
    rows = [(value_text(result, row.value), row.status, _amount(row.total_cost), _amount(row.vs_start, signed=True),
             _rate(row.marginal), *([row.builds] if builds else [])) for row in table.itertuples()]
    out.print(_table([("value", "number"), ("status", "number"), ("total cost", "number"), ("change", "number"),
                      (result.marginal_label(), "number"), *([("builds", "text")] if builds else [])], rows,
                     DISCOUNTED_COSTS))
    _print_point_notes(table, lambda value: value_text(result, value))
    for name, end in (("Start", result.start), ("End", result.end)):
        cost = f", total cost {_amount(end.result.total_cost)} (discounted)" \
            if end.result is not None and end.result.has_plan else ""
        out.print(f"{name} {value_text(result, end.value)}: {end.how}{cost}.", markup=False)
    out.print(f"Frontier written to {written}")


@app.command()
def robust(
    workbook: Workbook,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Robust-plan workbook to write "
                                                "(default: <input>-robust.xlsx in the current folder).")] = None,
    objective: Annotated[str, typer.Option(help="expected (default), worst or regret.")] = "expected",
    solver: Solver = "highs",
    time_limit: TimeLimit = None,
    mip_gap: MipGap = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    as_json: AsJson = False,
):
    """One plan for the investments that holds across the scenarios, and what the uncertainty costs."""
    from optimizer.robust import OBJECTIVES, ROBUST, RobustError, as_dict
    from optimizer.robust import robust as robust_plan
    from optimizer.writing.robust import write_robust

    _check_common(solver, time_limit, workers, as_json, mip_gap)
    if objective not in OBJECTIVES:
        _fail(f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}", as_json)
    if solver.lower() != "highs":
        _fail("the robust model is passed to HiGHS directly; use --solver highs", as_json)
    output, network = _output_and_network(workbook, output, "robust", as_json)
    options = SolverOptions(solver="highs", time_limit=time_limit, mip_gap=mip_gap)
    try:
        result = _run_many(as_json, "solving scenarios", lambda tick: robust_plan(
            network, objective, options, workers=workers, scheduler=scheduler, progress=tick))
    except RobustError as exc:
        _fail(str(exc), as_json)
    written = _or_fail(lambda: write_robust(result, output, inputs=[workbook]), as_json)
    if as_json:
        _emit_json(as_dict(result, str(written)))
    else:
        _print_robust(result, ROBUST)
        out.print(f"Robust plan written to {written}")
    raise Stop(EXIT_OK if result.has_plan else EXIT_NO_PLAN)


@app.command()
def stress(
    workbook: Workbook,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Stress workbook to write "
                                                "(default: <input>-stress.xlsx in the current folder).")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy set of the plan (default: baseline).")] = None,
    scenario: Annotated[str | None, typer.Option(
        help="Stress the plan of this scenario of the Scenarios sheet (its changes, its policy set).")] = None,
    period: Annotated[str | None, typer.Option(help="The period the disruption hits (default: the first).")] = None,
    weeks: Annotated[float, typer.Option(help="Time to recover of a site whose recovery_weeks is blank.")] = 4.0,
    shortage_cost: Annotated[float | None, typer.Option(
        help="Shortage cost per unit of a Demand row that has none.")] = None,
    ignore_rules: Annotated[bool, typer.Option("--ignore-rules", help="Leave the policy rules out of the windows "
                                                                      "(the Tariffs sheet still applies).")] = False,
    sites: Annotated[str | None, typer.Option(
        help="Comma-separated sites to stress-test (default: every site that makes something, has a throughput or "
             "a built option).")] = None,
    time_limit: TimeLimit = None,
    mip_gap: MipGap = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    as_json: AsJson = False,
):
    """How long the plan's network survives each site's outage, what the outage costs over the site's time to
    recover, and which sites expose the plan most (time to survive, risk exposure index)."""
    from optimizer.stress import StressError
    from optimizer.stress import stress as stress_test
    from optimizer.writing.stress import write_stress

    _check_common("highs", time_limit, workers, as_json, mip_gap)
    if scenario is not None and policy is not None:
        _fail("--scenario and --policy cannot be combined: a scenario names its own policy set", as_json)
    chosen = None if sites is None else [s for s in sites.split(",") if s.strip()]
    output, network = _output_and_network(workbook, output, "stress", as_json)
    options = SolverOptions(solver="highs", time_limit=time_limit, mip_gap=mip_gap)
    try:
        result = _run_many(as_json, "stress-testing sites", lambda tick: stress_test(
            network, policy, scenario, period, weeks, shortage_cost, ignore_rules, chosen, options,
            workers=workers, scheduler=scheduler, progress=tick))
    except StressError as exc:
        if exc.problems:
            _invalid(exc.problems, as_json)
        _fail(str(exc), as_json)
    written = _or_fail(lambda: write_stress(result, output, inputs=[workbook]), as_json)
    if as_json:
        _emit_json(result.as_dict(str(written)))
    else:
        _print_stress(result)
        out.print(f"Stress test written to {written}")
    raise Stop(EXIT_OK if result.has_plan else EXIT_NO_PLAN)


#: The sites the terminal lists, by rank (the workbook has them all).
STRESS_SHOWN = 10


def _print_stress(result) -> None:
    """The plan stress-tested, the top sites (rank, time to recover, time to survive, what is lost, the impact and
    the REI) and each site that loses sales before it recovers."""
    from models.network import IMPLICIT_PERIOD
    from optimizer.stress import weeks_text

    what = f"scenario {result.scenario} (policy set {result.policy})" if result.scenario else \
        f"policy set {result.policy}"
    if not result.has_plan:
        out.print(f"The plan of {what} has no solution ({result.status}): nothing to stress-test.", markup=False)
        for finding in result.plan.diagnosis:
            out.print(f"  {finding['message']}", markup=False)
        return
    table = result.table
    when = "its one period" if result.period == IMPLICIT_PERIOD else f"period {result.period}"
    out.print(f"Stress test of {what}, {when} ({weeks_text(result.period_weeks)} weeks):", markup=False)
    out.print(f"{len(table)} sites, each down for its time to recover; costs nominal (as they arise in the "
              "window)", markup=False)
    # "lost" is what the outage adds: the lost beyond the same window with nothing down (all of it, unless that
    # window already leaves demand unmet; TTS is then n/a, and a note says why)
    rows = [(str(row.rank), row.site, f"{weeks_text(row.recovery_weeks)} wk",
             "n/a" if row.tts_weeks != row.tts_weeks else "period" if row.survives_period
             else f"{weeks_text(row.tts_weeks)} wk", weeks_text(row.lost_beyond_baseline),
             _amount(row.performance_impact), f"{row.rei:.3f}") for row in table.head(STRESS_SHOWN).itertuples()]
    out.print(_table([("#", "number"), ("site", "name"), ("recovers in", "number"), ("survives", "number"),
                      ("lost", "number"), ("impact", "number"), ("REI", "number")], rows))
    if len(table) > STRESS_SHOWN:
        more = len(table) - STRESS_SHOWN
        out.print(f"... and {more} more site{'s' if more > 1 else ''} (see the Stress sheet)")
    for note in result.notes():
        out.print(f"TTS n/a: {note}.", markup=False)
    for finding in result.findings():
        out.print(f"{finding}.", markup=False)


def _print_robust(result, robust_name: str) -> None:
    """Scenarios (probability, wait-and-see cost, the robust plan's cost, regret), each plan's figures, and
    EVPI and the value of hedging, on the terminal."""
    from optimizer.robust import matrix, scenario_table

    if not result.has_plan:
        out.print(f"[bold red]No robust plan.[/] {result.message}", markup=True)
        for finding in result.diagnosis:
            out.print(f"  {finding['message']}", markup=False)
        return
    if result.message:
        out.print(result.message, markup=False)
    # the scenario's policy set is on the workbook's Scenarios sheet: 80 columns hold the names whole without it
    rows = [(row["scenario"], f"{row['probability']:.0%}", _amount(row["wait_and_see_cost"]),
             _amount(row["robust_cost"]), _amount(row["regret"])) for _, row in scenario_table(result).iterrows()]
    out.print(_table([("scenario", "name"), ("probability", "number"), ("wait and see", "number"),
                      ("robust plan", "number"), ("regret", "number")], rows, DISCOUNTED_COSTS))
    rows = []
    for _, row in matrix(result).iterrows():
        fails = [s for s in result.network.scenarios if row[s] != row[s] or row[s] is None]
        rows.append((row["plan"], _amount(row["expected_cost"]), _amount(row["worst_cost"]),
                     _amount(row["max_regret"]), ", ".join(fails)))
    out.print(_table([("plan", "name"), ("expected", "number"), ("worst", "number"), ("max regret", "number"),
                      ("fails in", "text")], rows, DISCOUNTED_COSTS))
    robust_plan = result.robust
    if robust_plan and robust_plan.decisions:
        built = [f"{o} ({d if not isinstance(d, dict) else ', '.join(f'{p} {f:.0%}' for p, f in d.items())})"
                 for o, d in robust_plan.decisions.items() if d]
        out.print(f"The {robust_name} plan ({result.objective}) builds: {', '.join(built) or 'nothing'}")
    hedging = _amount(result.value_of_hedging) if result.value_of_hedging is not None else result.hedging_note
    out.print(f"EVPI {_amount(result.evpi)}; value of hedging {hedging} (discounted)", markup=False)
    _print_robust_unmet(result, robust_name)


def _print_robust_unmet(result, robust_name: str) -> None:
    """Each scenario in which the robust plan leaves demand unmet: how much of which item, at what shortage cost
    (its cost there includes it)."""
    from optimizer.results import unmet_text

    plan = result.robust
    for scenario, evaluation in (plan.costs.items() if plan else ()):
        text = unmet_text(evaluation.result, result.network) if evaluation.result is not None else ""
        if text:
            out.print(f"In scenario {scenario} the {robust_name} plan leaves {text} unmet (shortage cost "
                      f"{_amount(evaluation.result.costs.get('shortage'))}, discounted): its cost there includes "
                      "not delivering.", markup=False)


class _NotRaised(Exception):
    """Stands for PuLP's solver error while PuLP is not imported: nothing can have raised it then."""


def _raised_by(module: str, name: str) -> type[Exception]:
    """The exception class ``name`` of ``module`` if the command imported that module, else one never raised:
    PuLP's solver error (the direct backend never imports PuLP), the writer's OutputError."""
    found = sys.modules.get(module)
    return getattr(found, name) if found is not None else _NotRaised


def main() -> None:
    """Console entry point: run the app, map outcomes to exit codes, never show a traceback.

    Known failures a command did not catch itself still get their own message and exit 2:
    invalid input (WorkbookError), an unwritable output (OutputError), an unusable or crashed
    solver. Anything else is one line; with --json also one JSON object on stdout.
    """
    as_json = "--json" in sys.argv[1:]
    if not os.environ.get("SOURCING_DEBUG"):
        # Nothing but the tool's own messages reaches the user: a library's warning (numpy, pandas, openpyxl)
        # is a defect the tests catch (they turn RuntimeWarnings into errors), never a message for an analyst.
        warnings.simplefilter("ignore")

    def one_line(text: str) -> str:
        text = " ".join(str(text).split())
        return text if len(text) <= 500 else text[:500] + "..."

    command = getattr(main, "command", None)  # building the click command costs ~15 ms: once per process
    if command is None:
        command = main.command = typer.main.get_command(app)
    try:
        command()  # standalone: usage errors and --help exit by themselves (usage errors with 2)
    except Stop as stop:
        sys.exit(stop.code)
    except SystemExit as done:  # typer turns Ctrl-C into a silent exit 130
        if done.code == 130:
            err.print("interrupted; no half-written file was left")
        raise
    except KeyboardInterrupt:
        err.print("interrupted; no half-written file was left")
        sys.exit(130)
    except BrokenPipeError:  # stdout closed early (e.g. piped into `head`): nothing more to say
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_INVALID)
    except WorkbookError as exc:
        with contextlib.suppress(Stop):
            _invalid(exc.problems, as_json)
        sys.exit(EXIT_INVALID)
    except (_raised_by("optimizer.writing.save", "OutputError"), SolverUnavailable,
            _raised_by("pulp", "PulpSolverError")) as exc:
        message = one_line(exc)
        if isinstance(exc, _raised_by("pulp", "PulpSolverError")):
            message = f"the LP solver failed ({message}); try the other solver (--solver highs or --solver cbc)"
        with contextlib.suppress(Stop):
            _fail(message, as_json)
        sys.exit(EXIT_INVALID)
    except Exception as exc:  # noqa: BLE001 - the user must never see a traceback
        if os.environ.get("SOURCING_DEBUG"):
            traceback.print_exc()
        message = (f"unexpected failure ({type(exc).__name__}: {one_line(exc)}). "
                   "Please report it with the workbook; set SOURCING_DEBUG=1 for details.")
        if as_json:
            _emit_json({"status": "error", "message": message})
        err.print(f"error: {message}", markup=False)
        sys.exit(EXIT_INVALID)
    sys.exit(EXIT_OK)


if __name__ == "__main__":
    main()
