"""SimNet: a simulated social network that drives and judges a recommender platform.

A platform may import :mod:`simnet.protocol` and nothing else from here.
"""

__version__ = "0.1.0"
