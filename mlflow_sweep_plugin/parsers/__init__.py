"""Parsers: named artifact path patterns plus functions from file content to records."""

from .base import ParseContext, Parser
from .pattern import ArtifactPattern, coerce_capture

__all__ = ["ArtifactPattern", "ParseContext", "Parser", "coerce_capture"]
