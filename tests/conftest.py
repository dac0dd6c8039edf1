"""Suite-wide setup: install every op family before any test builds a graph.

Programs reach the graph library through ``import flowsaver as tf``, which installs the
families on first use; tests that import internal modules directly get the same state here.
"""
from flowsaver.ops import families

families.install()
