"""Reports for auditors and units, rendered from the reports' own dataclasses."""
