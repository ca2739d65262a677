"""Data files shipped with the domain package: default points catalogue, question bank."""
