"""crmbatch: a self-hosted batch-upsert CRM data hub.

One engine (``crmbatch.core``) and thin wire dialects (``crmbatch.dialects``) for Brevo, HubSpot and
MainBrainer clients.
"""

__version__ = "0.1.0"
