"""Paths shared by the whole suite."""
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Files written by real TensorFlow 2.21, copied from the shared spec's tf_samples; the
# snippets that wrote them are in tf_samples/README.txt.
SAMPLES = FIXTURES / "tf_samples"
