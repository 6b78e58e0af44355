"""Scoring and comparing: nearest-word search, the scores with intervals, the comparison, plots, reports."""
