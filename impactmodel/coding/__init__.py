"""Coding: span coding of open answers, double coding and reliability, suggested codes, REFI-QDA."""
