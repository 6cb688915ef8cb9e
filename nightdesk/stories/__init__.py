"""Stories: story types declared as data, candidate selection, and fact sheets."""
