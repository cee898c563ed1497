-- Delivery lanes (see worker/lanes.go).
-- +goose Up
-- An endpoint may cap how many attempts are in flight to it at once
-- (NULL: the server's default, 64). The lane's limit adapts below the cap
-- to what the receiver can take.
ALTER TABLE endpoints ADD COLUMN max_concurrency integer
    CONSTRAINT endpoints_max_concurrency CHECK (max_concurrency BETWEEN 1 AND 1000);
-- A tenant's share of the workers while several tenants have deliveries
-- waiting: a tenant of weight 2 is served twice as often as one of 1.
ALTER TABLE plans ADD COLUMN lane_weight integer NOT NULL DEFAULT 1
    CONSTRAINT plans_lane_weight CHECK (lane_weight BETWEEN 1 AND 100);
UPDATE plans SET lane_weight = 2 WHERE id = 'pro';
UPDATE plans SET lane_weight = 4 WHERE id = 'enterprise';

-- +goose Down
ALTER TABLE plans DROP COLUMN lane_weight;
ALTER TABLE endpoints DROP COLUMN max_concurrency;
