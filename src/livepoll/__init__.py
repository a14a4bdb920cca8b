"""livepoll: live audience polls at conferences, run from a laptop."""

__version__ = "0.1.0"
