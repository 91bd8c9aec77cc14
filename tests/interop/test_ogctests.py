"""ogctests (an independent OGC API – Features test suite, from PyPI) against the live server:
its core suite and its filtering suite. Every test passes, or its failure is one of the
exceptions explained below (defects of ogctests 0.1.15 itself, each checked by hand).

ogctests pins httpx < 0.28, pytest < 9 and pyarrow < 18, which the project's own environment
has outgrown, so it lives in its own virtual environment, ``.venv-ogctests``, made by
``scripts/lib.sh`` (``ensure_ogctests``) and run as a subprocess."""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.interop.conftest import Counted

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-ogctests" / "bin" / "python"

NULL_GEOMETRY = (
    "its featureGeoJSON schema refuses `geometry: null`, which RFC 7946 §3.2 allows and the "
    "`policies` collection (records without a location) needs; every feature with a geometry "
    "passes the same check"
)
LINK_PARSER = (
    "ogctests' Link-header parser keeps the quotes of `rel` and compares them with the bare "
    "URI (RFC 8288 requires quoting a URI relation type), stores the target as `iri` but reads "
    "`href`, and passes a list as the URL; with those three lines fixed in a scratch copy the "
    "test passes against landmatch"
)
CASCADE = (
    "needs the queryables that the failed link-header test (ct2/ct3) should have stored "
    "(KeyError in ogctests itself)"
)
EXPLAINED = {
    "features/core": {"test_ast22": NULL_GEOMETRY, "test_ast28": NULL_GEOMETRY},
    "features/filtering": {
        "test_ct2": LINK_PARSER,
        "test_ct3": LINK_PARSER,
        "test_ct5": CASCADE,
        "test_ct7": CASCADE,
        "test_ct8": CASCADE,
        "test_ct9": CASCADE,
        "test_ct10": CASCADE,
    },
}
# Fewest passes accepted: everything not explained above.
EXPECTED_PASSES = {"features/core": 27, "features/filtering": 3}


def _suite(scope: str, url: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    assert PYTHON.is_file(), "ogctests is not installed: run ./scripts/test (scripts/lib.sh)"
    package = subprocess.run(
        [str(PYTHON), "-c", "import ogctests, os; print(os.path.dirname(ogctests.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    report = tmp_path / f"{scope.replace('/', '-')}.xml"
    env = {**os.environ, "INSTANCE_URL": url}
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pytest",
            f"{package}/{scope}",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rootdir={package}",
            f"--junitxml={report}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    assert report.is_file(), out.stdout[-3000:] + out.stderr[-3000:]
    passed: list[str] = []
    failed: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None and case.find("skipped") is None:
            passed.append(case.get("name", ""))
        elif problem is not None:
            failed[case.get("name", "")] = (problem.get("message") or "")[:300]
    return passed, failed


@pytest.mark.parametrize("scope", ["features/core", "features/filtering"])
def test_ogctests_suite(counted: Counted, tmp_path: Path, scope: str) -> None:
    passed, failed = _suite(scope, counted.url + "/ogc", tmp_path)
    total = len(passed) + len(failed)
    print(
        f"ogctests {scope}: {len(passed)} of {total} passed; explained failures: {sorted(failed)}"
    )
    unexplained = {k: v for k, v in failed.items() if k not in EXPLAINED[scope]}
    assert not unexplained, unexplained
    assert len(passed) >= EXPECTED_PASSES[scope], (passed, failed)
