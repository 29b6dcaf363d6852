"""The dialect-neutral engine: every business rule of crmbatch lives here, once."""
