"""Schemathesis hooks for ``tests/test_schemathesis.py`` (loaded through ``SCHEMATHESIS_HOOKS``).

Random path parameters almost never name a stored parcel, zone or project, and a random
``If-Match`` never matches, so on their own the fuzzer's writes stop at 404 / 412. Here the
writes (and part of the reads) take identifiers that exist in the fuzz database (listed by the
test in the JSON file ``LANDMATCH_FUZZ_KNOWN``) and ``If-Match: *``, so the bodies reach the real
writes; random identifiers and missing preconditions are still met by the reads and by the
operations without a pool. (With three examples an operation, leaving it to chance made "a
write went through" depend on the seed and on every change to the schema.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import strategies as st

KNOWN: dict[str, list[Any]] = json.loads(Path(os.environ["LANDMATCH_FUZZ_KNOWN"]).read_text())

# (path prefix, parameter) → the kind of stored identifier it takes.
POOLS = (
    ("/api/parcels/", "code", "parcels"),
    ("/api/zones/", "code", "zones"),
    ("/api/zones/", "assessment_id", "assessments"),
    ("/api/policies/", "code", "policies"),
    ("/api/layers/facility", "code", "facilities"),
    ("/api/layers/constraint_area", "code", "constraint_areas"),
    ("/api/layers/", "code", "layer_codes"),
    ("/api/layers/", "layer", "layers"),
    ("/api/projects/", "project_id", "projects"),
    ("/api/monitoring/cases/", "case_id", "cases"),
    ("/api/reservations/", "reservation_id", "reservations"),
    ("/api/imports/", "import_id", "imports"),
    ("/api/match/", "match_id", "match_runs"),
    ("/api/alerts/", "alert_id", "alerts"),
    ("/parcels/", "code", "parcels"),
    ("/collections/", "collectionId", "collections"),
)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _pool(path: str, name: str) -> list[Any]:
    for prefix, param, kind in POOLS:
        if path.startswith(prefix) and name == param and KNOWN.get(kind):
            return KNOWN[kind]
    return []


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    path = context.operation.path
    real = {k: _pool(path, k) for k in path_parameters or {}}
    real = {k: v for k, v in real.items() if v}
    if not real:
        return st.just(path_parameters)
    stored = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in real.items()})
    known = stored.map(lambda r: {**path_parameters, **r})
    if context.operation.method.upper() in WRITES:  # real targets: the writes are the point
        return known
    return st.one_of(st.just(path_parameters), known)


@schemathesis.hook
def flatmap_headers(context: Any, headers: dict[str, Any] | None) -> Any:
    if context.operation.method.upper() not in WRITES:
        return st.just(headers)
    return st.one_of(st.just(headers), st.just({**(headers or {}), "If-Match": "*"}))


_STORED = {str(v) for values in KNOWN.values() for v in values}


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """A write to a stored record goes with ``If-Match: *``, so its body reaches the write (and
    the response checks see real answers); writes to random identifiers still meet the 428/404
    paths."""
    if case.method.upper() in WRITES and any(
        str(v) in _STORED for v in (case.path_parameters or {}).values()
    ):
        case.headers = {**(case.headers or {}), "If-Match": "*"}
