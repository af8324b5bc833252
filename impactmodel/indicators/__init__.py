"""Quantitative indicators: the vocabulary, imports and exports, and their pages."""
