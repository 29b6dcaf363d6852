"""Records of object types: validation, set-based apply of batches, reads."""
