-- The feed this projection follows (its identity), and the operation id of
-- the entry at the checkpoint: the projector checks, before every batch, that
-- the feed still has that entry there, and stops when it does not (the write
-- database was restored from an older copy, say) instead of skipping entries.
ALTER TABLE projector_state ADD COLUMN feed_identity TEXT;
ALTER TABLE projector_state ADD COLUMN checkpoint_operation_id TEXT;
