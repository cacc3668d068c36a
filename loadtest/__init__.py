"""Load-test kit: traffic model, drivers, measurements and reports."""
