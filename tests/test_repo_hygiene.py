"""The test suite stands on its own: no test reads files outside the repository, and no test
file grows past 500 lines (STYLE.md: split before 500).

Files the tests need live under tests/fixtures/ and are found through fixture_paths.py.
"""
import pathlib

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
PY_FILES = sorted(TESTS.rglob("*.py"))
MAX_LINES = 500
# Places outside the repository that a test once read from, or might.
OUTSIDE = ("/work/", "../shared", "/shared/spec", "/home/", "/root/")


def _id(path: pathlib.Path) -> str:
    return str(path.relative_to(TESTS))


@pytest.mark.parametrize("path", [p for p in PY_FILES if p != pathlib.Path(__file__).resolve()],
                         ids=_id)
def test_no_path_outside_the_repository(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for fragment in OUTSIDE:
            assert fragment not in line, f"{_id(path)}:{number} mentions {fragment!r}: {line}"


@pytest.mark.parametrize("path", PY_FILES, ids=_id)
def test_test_files_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_id(path)} has {lines} lines; split it by topic"


def test_files_found():
    assert len(PY_FILES) > 50
    assert TESTS / "fixture_paths.py" in PY_FILES
