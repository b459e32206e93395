"""Summary: the Holter rhythm summary of one recording (heart rate, ectopy, pauses, HRV)."""
