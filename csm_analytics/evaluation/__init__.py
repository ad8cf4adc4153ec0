"""Model quality measured on several generated worlds no setting was chosen on (`csm-analytics evaluate`)."""
