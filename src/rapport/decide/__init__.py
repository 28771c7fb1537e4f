"""Decide: the catalogue, what each person owns, and what to recommend to them, with the reason."""
