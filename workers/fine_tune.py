"""workers.fine_tune (gpu queue): fine-tune a team's model on its frozen reviewed labels."""
