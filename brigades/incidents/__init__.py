"""Code-zwart incidents: area, level, lifecycle."""
