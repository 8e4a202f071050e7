-- +goose Up
-- Message bodies are sealed with the master key while they wait in the
-- outbox (body_text and body_html are then empty); NULL is a body written
-- in the clear before this migration, or one erased after delivery.
ALTER TABLE mail_outbox ADD COLUMN body_sealed bytea;

-- +goose Down
ALTER TABLE mail_outbox DROP COLUMN body_sealed;
