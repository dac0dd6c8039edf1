"""A few kills of the crash campaign (tools/crash; `make crash` runs 240): the machinery
works, and no kill leaves the latest checkpoint damaged."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.crash.__main__ import main  # noqa: E402


def test_short_crash_campaign(tmp_path, capsys):
    assert main(["--kills", "4", "--dir", str(tmp_path / "ckpt"), "--seed", "16"]) == 0
    out = capsys.readouterr().out
    assert "4 SIGKILLs" in out and "damaged latest checkpoints: 0" in out
    assert list((tmp_path / "ckpt").glob("model-*.index"))
