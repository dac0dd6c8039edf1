"""A few kills of the crash campaign (tools/crash; `make crash` runs 240 on each store):
the machinery works, and no kill leaves the latest checkpoint damaged, on a local disk and
on S3 (a moto server the campaign starts itself)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.crash.__main__ import main  # noqa: E402


def test_short_crash_campaign(tmp_path, capsys):
    assert main(["--kills", "4", "--dir", str(tmp_path / "ckpt"), "--seed", "16"]) == 0
    out = capsys.readouterr().out
    assert "4 SIGKILLs" in out and "damaged latest checkpoints: 0" in out
    assert list((tmp_path / "ckpt").glob("model-*.index"))


def test_short_crash_campaign_on_s3(capsys):
    # Kill points within the first save of each run (--span 1), so that a run is short:
    # seed 5 draws a kill at a PUT of the commit protocol and one at a DELETE.
    assert main(["--kills", "2", "--store", "s3", "--span", "1", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "2 SIGKILLs" in out and "damaged latest checkpoints: 0" in out
    assert "damaged checkpoints listed in the state file: 0" in out
    assert re.search(r"checkpoints with an index at the end: [1-9]\d*, read back wrong: 0", out)
    assert re.search(r"^latest checkpoint: s3://crash-[0-9a-f]+/run/model-\d+$", out, re.M)
    assert re.search(r"kills by point: .*(PUT|DELETE) of ", out), out
