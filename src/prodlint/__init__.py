"""prodlint: a static production-readiness linter for web backends."""

__version__ = "0.1.0"
