"""skiff: a Python runtime for elastic.io/flowground-style connectors.

Import what you need from the submodules (``skiff.run``, ``skiff.http`` ...); this package
imports nothing heavy so that ``skiff run`` starts fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
