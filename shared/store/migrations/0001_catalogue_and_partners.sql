-- Partners, products, tier price lists, warehouses and inventory.
-- Money columns are bigint rupiah (see kernel::money); quantities are integers.

CREATE TABLE partners (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    tier            text NOT NULL CHECK (tier IN ('bronze', 'silver', 'gold', 'platinum')),
    lat_e6          integer NOT NULL CHECK (lat_e6 BETWEEN -90000000 AND 90000000),
    lon_e6          integer NOT NULL CHECK (lon_e6 BETWEEN -180000000 AND 180000000),
    credit_limit    bigint NOT NULL CHECK (credit_limit >= 0),
    -- Outstanding debt as last synced from the ERP, and when.
    erp_debt        bigint NOT NULL DEFAULT 0 CHECK (erp_debt >= 0),
    erp_synced_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    sku             text PRIMARY KEY CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{2,31}$'),
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    brand           text NOT NULL,
    category        text NOT NULL,
    unit            text NOT NULL DEFAULT 'pcs',
    cost_price      bigint NOT NULL CHECK (cost_price >= 0),
    is_active       boolean NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Full-text search over name, brand and description. The 'simple' configuration because PostgreSQL ships no
    -- Indonesian stemmer and product names mix Indonesian, English and brand words.
    search          tsvector GENERATED ALWAYS AS (
                        setweight(to_tsvector('simple', name), 'A') ||
                        setweight(to_tsvector('simple', brand), 'B') ||
                        setweight(to_tsvector('simple', description), 'C')
                    ) STORED
);
CREATE INDEX products_search_idx ON products USING gin (search);
CREATE INDEX products_category_idx ON products (lower(category), sku) WHERE is_active;
CREATE INDEX products_brand_idx ON products (lower(brand), sku) WHERE is_active;

CREATE TABLE price_lists (
    tier            text NOT NULL CHECK (tier IN ('bronze', 'silver', 'gold', 'platinum')),
    sku             text NOT NULL REFERENCES products (sku),
    price           bigint NOT NULL CHECK (price >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tier, sku)
);
CREATE INDEX price_lists_sku_idx ON price_lists (sku);

CREATE TABLE warehouses (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    lat_e6          integer NOT NULL CHECK (lat_e6 BETWEEN -90000000 AND 90000000),
    lon_e6          integer NOT NULL CHECK (lon_e6 BETWEEN -180000000 AND 180000000),
    -- Promised delivery time from this warehouse, in hours, within its service radius.
    sla_hours       integer NOT NULL CHECK (sla_hours > 0),
    service_radius_km integer NOT NULL CHECK (service_radius_km > 0)
);

-- Sellable = on_hand - reserved - buffer (supply chain's rule).
CREATE TABLE inventory (
    warehouse_code  text NOT NULL REFERENCES warehouses (code),
    sku             text NOT NULL REFERENCES products (sku),
    on_hand         integer NOT NULL CHECK (on_hand >= 0),
    reserved        integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    buffer          integer NOT NULL DEFAULT 0 CHECK (buffer >= 0),
    erp_synced_at   timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_code, sku),
    CHECK (reserved <= on_hand)
);
CREATE INDEX inventory_sku_idx ON inventory (sku);
