"""Tests of the documentation itself: links and anchors, and the pages' claims about the layout."""
