"""Documentation generated from the code (docs/config-reference.md)."""
