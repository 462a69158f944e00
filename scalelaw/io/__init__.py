"""Readers: logs and run tables of every format into one tidy frame."""
