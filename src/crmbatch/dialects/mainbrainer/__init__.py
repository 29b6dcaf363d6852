"""MainBrainer's contacts batch under /mainbrainer."""
