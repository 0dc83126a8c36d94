"""Layers: the layer service (versions, numbering, sharing), its policy rules and ARN parsing."""
