"""Brevo API v3: custom-object batch upsert/delete, records, associated records, processes."""
