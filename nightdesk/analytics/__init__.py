"""What analysts take out of the warehouse and the review store: views, reports, training data."""
