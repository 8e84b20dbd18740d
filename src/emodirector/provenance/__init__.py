"""Provenance: every edited video says so.

A signed C2PA manifest (``manifest``) records what was edited, with what; an invisible watermark
in the picture (``watermark``) survives re-encoding, downscaling and trimming, where a re-upload
strips the manifest; ``verify`` reads both.
"""
