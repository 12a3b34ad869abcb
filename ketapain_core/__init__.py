"""KETAPAIN Explorer core: pure functions for randomized crossover trials with daily pain diaries.

This package never imports streamlit. See DESIGN.md (shared) for the contracts it implements.
"""
__version__ = "0.1.0"
