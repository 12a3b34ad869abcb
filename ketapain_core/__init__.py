"""KETAPAIN Explorer core: pure functions for randomized crossover trials with daily pain diaries.

This package never imports streamlit. The contracts it implements are in docs/ (data.md, statistics.md, cli.md).
"""
__version__ = "0.1.0"
