"""The benchmark runner with its baselines, the summary and the HTML report."""
