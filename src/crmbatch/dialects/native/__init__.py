"""crmbatch's own endpoints: health, metrics, schema and processes in full."""
