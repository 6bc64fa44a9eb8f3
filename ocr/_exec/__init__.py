"""Thin wrappers around the external engines the reader runs, one module each."""
