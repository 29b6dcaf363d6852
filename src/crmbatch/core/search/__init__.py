"""Search the records of an object type (HubSpot's CRM search, through the core)."""
