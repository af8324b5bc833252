"""Fieldwork: instruments as data, researcher-run interviews, survey links for parents and children."""
