"""Thin Streamlit support for the pages: settings and URL (state), cached core calls (cache), the shared
sidebar (sidebar) and small render helpers (render). No statistics here."""
