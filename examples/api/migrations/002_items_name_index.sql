-- Listing is ordered by id; lookups by name are common enough to index.
CREATE INDEX items_name_idx ON items (name);
