"""Storage infrastructure: engines, table metadata, migrations. Imports no domain code."""
