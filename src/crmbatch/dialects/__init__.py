"""Wire dialects: each translates its vendor's format into core calls and core results back.

Nothing here builds SQL or holds a business rule (a test enforces the first).
"""
