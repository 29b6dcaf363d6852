"""Object types, attributes and association definitions of an account."""
