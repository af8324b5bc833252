"""Rounds, authorities and the people who take part."""
