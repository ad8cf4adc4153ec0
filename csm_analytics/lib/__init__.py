"""Helpers shared by every domain: paths, resources and metadata rendering."""
