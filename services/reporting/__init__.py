"""Reporting: read models (projections) folded from every service's log, and published results."""
