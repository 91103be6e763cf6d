"""Result reporting beyond the plain WER table: papers' tables with relative changes
(:mod:`bnn.results.paper_tables`, numbers in :mod:`bnn.results.paper_numbers`) and training
curves (:mod:`bnn.results.curves`)."""
