"""Point classification: codes, noise, ground, height above ground, scene classes, evaluation."""
