"""Qualitative analysis: cases seen through their three voices, memos on authorities and
cases, every excerpt coded to a code, and the framework matrix."""
