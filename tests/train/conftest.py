"""Fixtures shared by tests/train: a real small model's .meta and .pbtxt files."""
from hostile_helpers import model_files  # noqa: F401 - a fixture, registered by import
