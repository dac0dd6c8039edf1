"""Ops: the registry (``registry.py``), one package per op family (``math/``, ``array/``,
``nn/``, ...) and the one place that installs them all (``families.py``)."""
