"""CSV imports and exports (docs/INTERCHANGE.md) and the raw responses export, on the command line
and on the web (docs/INTERCHANGE.md)."""
