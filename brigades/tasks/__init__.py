"""Care tasks (not worker jobs): type catalogue, tasks, offers, assignments, imports."""
