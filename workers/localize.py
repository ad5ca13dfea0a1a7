"""workers.localize_target and workers.repredict_batch (gpu queue)."""
