"""Printing for every subcommand: aligned text, tables, CSV and strict JSON.

Nothing here computes: values come from the library's result objects and are only formatted.
JSON and CSV print a value that counts something (``d``, ``p``, ``n_feasible``, a threshold, ...)
as an integer whenever it is integral, although some results carry such numbers as floats.
"""
import csv
import json
import math

from ..results import json_ready

# Keys whose values count something: printed as integers when integral (JSON and CSV).
INTEGER_KEYS = frozenset({
    "d", "p", "K", "m", "k", "d_min", "n_params", "n_nodes", "n_samples", "status", "trials", "seed", "instances",
    "n_trials", "n_feasible", "n_infeasible", "n_undecided", "n_decided", "n_not_found", "n_points", "n_boot",
    "n_boot_failed", "thresholds", "feasible", "infeasible", "undecided", "not_found", "n", "n_runs", "count",
    "n_trials_total", "format_version", "trial", "stored_before", "stored_after",
})


def _as_int(v):
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return [_as_int(x) for x in v]
    return v


def integers_as_integers(obj):
    """``obj`` (plain JSON-ready data) with the integral floats under :data:`INTEGER_KEYS` as ints."""
    if isinstance(obj, dict):
        return {k: _as_int(integers_as_integers(v)) if k in INTEGER_KEYS else integers_as_integers(v)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [integers_as_integers(x) for x in obj]
    return obj


def text_value(name, v):
    """One value as printed in text mode: integers and strings as they are, floats to 10 digits."""
    if isinstance(v, (bool, int, str)):
        return str(v)
    if v is None or not math.isfinite(v):
        return "n/a"
    if name in INTEGER_KEYS and float(v).is_integer():
        return str(int(v))
    if name == "abserr":
        return f"{v:.2e}"
    return f"{v:.10g}"


def print_block(row, notes, columns, out):
    """One result as aligned ``name = value   note`` lines."""
    values = [text_value(c, row[c]) for c in columns]
    wn = max(len(c) for c in columns)
    wv = max(len(v) for v in values)
    for c, v in zip(columns, values):
        line = f"{c:<{wn}} = {v:<{wv}}"
        if notes.get(c):
            line += f"   {notes[c]}"
        print(line.rstrip(), file=out)


def print_table(rows, columns, out):
    """Several results as an aligned table, one row per result, numbers right-aligned."""
    cells = [[text_value(c, row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(columns)]
    print("  ".join(f"{c:>{w}}" for c, w in zip(columns, widths)), file=out)
    for r in cells:
        print("  ".join(f"{v:>{w}}" for v, w in zip(r, widths)), file=out)


def csv_value(name, v):
    """One CSV cell: integers as integers, floats in full (round-trip) precision, NaN/None empty,
    lists and dicts as compact JSON."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        if name in INTEGER_KEYS and v.is_integer():
            return str(int(v))
        return repr(v)
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(json_ready(v), separators=(",", ":"), allow_nan=False)
    return str(v)


def print_csv(rows, columns, out):
    """Rows as CSV (RFC 4180 quoting, ``\\n`` line ends) with a header of ``columns``."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_value(c, row.get(c)) for c in columns])


def print_json(payload, out):
    """Strict JSON (NaN and infinities as null, NumPy scalars as Python numbers, counts as
    integers), indented."""
    print(json.dumps(integers_as_integers(json_ready(payload)), indent=2, allow_nan=False), file=out)


def emit(rows, *, columns, notes, as_json, out, as_csv=False):
    """Rows as JSON (one object, or a list for several), CSV (the table's columns), a
    ``name = value`` block, or a table."""
    several = len(rows) > 1
    if as_json:
        print_json(rows if several else rows[0], out)
    elif as_csv:
        print_csv(rows, columns, out)
    elif several:
        print_table(rows, columns, out)
    else:
        print_block(rows[0], notes, columns, out)
