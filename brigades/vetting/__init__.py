"""Vetting: who checked a volunteer's identity, VOG and professional evidence, and the level that
follows from it."""
