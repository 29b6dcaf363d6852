"""Processes: the unit of durability. Accepted in one write, applied in one transaction."""
