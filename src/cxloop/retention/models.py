"""retention models."""
