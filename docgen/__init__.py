"""Generators of the documentation's tables, so no table can drift from the code it describes.

Each prints its table (`python -m docgen.NAME`), and a test checks the page carries exactly it.
"""
