"""Thin wrappers around the external programs the documents layer runs, one module each."""
