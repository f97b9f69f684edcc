"""Tables and reference rows built from metrics files and published generations."""
