"""The geospatial dispatcher: candidates, offers in waves, acceptance, roll-calls, mutual aid."""
