"""cxloop — a self-hosted customer-satisfaction platform."""

__version__ = "0.1.0"
