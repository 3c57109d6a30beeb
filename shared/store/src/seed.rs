//! Realistic, deterministic local data: warehouses across Indonesia, hundreds of partners in every tier,
//! thousands of beauty products with tier price lists, and inventory with safety buffers.
//!
//! Deterministic (a fixed-seed generator), so a test or a bug report can name a SKU and find it again. Rows go in
//! with one `INSERT ... SELECT FROM unnest(...)` per table, so seeding takes about a second, not minutes.

use crate::pool::describe;
use tokio_postgres::types::Type;

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct SeedSize {
    pub products: usize,
    pub partners: usize,
}

impl Default for SeedSize {
    fn default() -> Self {
        SeedSize {
            products: 5_000,
            partners: 400,
        }
    }
}

/// Row counts written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub warehouses: usize,
    pub partners: usize,
    pub products: usize,
    pub prices: usize,
    pub inventory: usize,
    pub accounts: usize,
}

/// Fills an empty catalogue. Does nothing (and reports zeros) when products already exist, so running it twice
/// is safe. Everything goes in one transaction: a failure leaves no half-seeded database.
pub async fn run(client: &mut tokio_postgres::Client, size: SeedSize) -> anyhow::Result<SeedReport> {
    let tx = client.transaction().await?;
    let existing: i64 = tx.query_typed_one("SELECT count(*) FROM products", &[]).await?.get(0);
    if existing > 0 {
        // A catalogue seeded before accounts existed still gets its local logins.
        let report = SeedReport {
            accounts: seed_accounts(&tx).await?,
            ..SeedReport::default()
        };
        tx.commit().await?;
        return Ok(report);
    }
    let data = generate(size);
    let mut report = SeedReport::default();

    let w = &data.warehouses;
    report.warehouses = exec(
        &tx,
        "INSERT INTO warehouses (code, name, lat_e6, lon_e6, sla_hours, service_radius_km)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::int4[], $5::int4[], $6::int4[])",
        &[
            (&w.iter().map(|x| x.0.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (&w.iter().map(|x| x.1.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (&w.iter().map(|x| x.2).collect::<Vec<_>>(), Type::INT4_ARRAY),
            (&w.iter().map(|x| x.3).collect::<Vec<_>>(), Type::INT4_ARRAY),
            (&w.iter().map(|x| x.4).collect::<Vec<_>>(), Type::INT4_ARRAY),
            (&w.iter().map(|x| x.5).collect::<Vec<_>>(), Type::INT4_ARRAY),
        ],
    )
    .await?;

    let p = &data.partners;
    report.partners = exec(
        &tx,
        "INSERT INTO partners (code, name, tier, lat_e6, lon_e6, credit_limit, erp_debt, erp_synced_at)
         SELECT c, n, t, la, lo, cl, d, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[],
                $5::int4[], $6::int8[], $7::int8[]) AS x(c, n, t, la, lo, cl, d)",
        &[
            (&p.iter().map(|x| x.code.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (&p.iter().map(|x| x.name.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (
                &p.iter().map(|x| x.tier.to_string()).collect::<Vec<_>>(),
                Type::TEXT_ARRAY,
            ),
            (&p.iter().map(|x| x.lat_e6).collect::<Vec<_>>(), Type::INT4_ARRAY),
            (&p.iter().map(|x| x.lon_e6).collect::<Vec<_>>(), Type::INT4_ARRAY),
            (&p.iter().map(|x| x.credit_limit).collect::<Vec<_>>(), Type::INT8_ARRAY),
            (&p.iter().map(|x| x.erp_debt).collect::<Vec<_>>(), Type::INT8_ARRAY),
        ],
    )
    .await?;

    let pr = &data.products;
    report.products = exec(
        &tx,
        "INSERT INTO products (sku, name, description, brand, category, unit, cost_price)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[])",
        &[
            (&pr.iter().map(|x| x.sku.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (&pr.iter().map(|x| x.name.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (
                &pr.iter().map(|x| x.description.clone()).collect::<Vec<_>>(),
                Type::TEXT_ARRAY,
            ),
            (
                &pr.iter().map(|x| x.brand.to_string()).collect::<Vec<_>>(),
                Type::TEXT_ARRAY,
            ),
            (
                &pr.iter().map(|x| x.category.to_string()).collect::<Vec<_>>(),
                Type::TEXT_ARRAY,
            ),
            (
                &pr.iter().map(|x| x.unit.to_string()).collect::<Vec<_>>(),
                Type::TEXT_ARRAY,
            ),
            (&pr.iter().map(|x| x.cost_price).collect::<Vec<_>>(), Type::INT8_ARRAY),
        ],
    )
    .await?;

    let (mut tiers, mut skus, mut prices) = (Vec::new(), Vec::new(), Vec::new());
    for product in pr {
        for (tier, price) in &product.tier_prices {
            tiers.push(tier.to_string());
            skus.push(product.sku.clone());
            prices.push(*price);
        }
    }
    report.prices = exec(
        &tx,
        "INSERT INTO price_lists (tier, sku, price) SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])",
        &[
            (&tiers, Type::TEXT_ARRAY),
            (&skus, Type::TEXT_ARRAY),
            (&prices, Type::INT8_ARRAY),
        ],
    )
    .await?;

    let inv = &data.inventory;
    report.inventory = exec(
        &tx,
        "INSERT INTO inventory (warehouse_code, sku, on_hand, buffer, erp_synced_at)
         SELECT w, s, o, b, now() FROM unnest($1::text[], $2::text[], $3::int4[], $4::int4[]) AS x(w, s, o, b)",
        &[
            (&inv.iter().map(|x| x.0.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (&inv.iter().map(|x| x.1.clone()).collect::<Vec<_>>(), Type::TEXT_ARRAY),
            (&inv.iter().map(|x| x.2).collect::<Vec<_>>(), Type::INT4_ARRAY),
            (&inv.iter().map(|x| x.3).collect::<Vec<_>>(), Type::INT4_ARRAY),
        ],
    )
    .await?;
    report.accounts = seed_accounts(&tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// The password of every seeded person (admin, sales agents, partners). Local data only.
pub const DEV_PASSWORD: &str = "niaga-dev-password";
/// The client secret of the seeded AI agent `seo-bot`. Local data only.
pub const DEV_AGENT_SECRET: &str = "niaga-dev-agent-secret";
/// Seeded sales agents: `agent-01` … `agent-10`; agent k is assigned every tenth partner, starting at the k-th.
pub const SALES_AGENTS: usize = 10;

/// Local logins when there are none: `admin`; `agent-01`…`agent-10`, each assigned every tenth partner; one
/// login per partner (its code in lower case, `p-00001`); and the AI agent `seo-bot` (client credentials).
async fn seed_accounts(tx: &tokio_postgres::Transaction<'_>) -> anyhow::Result<usize> {
    let existing: i64 = tx.query_typed_one("SELECT count(*) FROM accounts", &[]).await?.get(0);
    if existing > 0 {
        return Ok(0);
    }
    // One fixed salt: these are well-known local passwords, and hashing once keeps seeding fast.
    let salt = b"niaga-local-seed";
    let person = identity::hash_password(DEV_PASSWORD, salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    let agent = identity::hash_password(DEV_AGENT_SECRET, salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut n = exec(
        tx,
        "INSERT INTO accounts (login, sub, role, secret_hash) VALUES
             ('admin', 'admin:admin', 'admin', $1),
             ('seo-bot', 'ai_agent:seo-bot', 'ai_agent', $2)",
        &[(&person, Type::TEXT), (&agent, Type::TEXT)],
    )
    .await?;
    let agents = SALES_AGENTS as i32;
    n += exec(
        tx,
        "INSERT INTO accounts (login, sub, role, secret_hash)
         SELECT 'agent-' || lpad(k::text, 2, '0'), 'sales_agent:agent-' || lpad(k::text, 2, '0'), 'sales_agent', $1
         FROM generate_series(1, $2::int4) AS k",
        &[(&person, Type::TEXT), (&agents, Type::INT4)],
    )
    .await?;
    n += exec(
        tx,
        "INSERT INTO accounts (login, sub, role, secret_hash, partner_id)
         SELECT lower(code), 'partner:' || code, 'partner', $1, id FROM partners",
        &[(&person, Type::TEXT)],
    )
    .await?;
    exec(
        tx,
        "INSERT INTO agent_assignments (agent_sub, partner_id)
         SELECT 'sales_agent:agent-' || lpad((((rn - 1) % $1::int4) + 1)::text, 2, '0'), id
         FROM (SELECT id, row_number() OVER (ORDER BY code) AS rn FROM partners) p",
        &[(&agents, Type::INT4)],
    )
    .await?;
    Ok(n)
}

async fn exec(
    tx: &tokio_postgres::Transaction<'_>,
    sql: &str,
    params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
) -> anyhow::Result<usize> {
    let n = tx
        .execute_typed(sql, params)
        .await
        .map_err(|e| anyhow::anyhow!("seeding: {}", describe(&e)))?;
    Ok(n as usize)
}

type WarehouseRow = (String, String, i32, i32, i32, i32);

struct Partner {
    code: String,
    name: String,
    tier: &'static str,
    lat_e6: i32,
    lon_e6: i32,
    credit_limit: i64,
    erp_debt: i64,
}

struct Product {
    sku: String,
    name: String,
    description: String,
    brand: &'static str,
    category: &'static str,
    unit: &'static str,
    cost_price: i64,
    tier_prices: Vec<(&'static str, i64)>,
}

struct Generated {
    warehouses: Vec<WarehouseRow>,
    partners: Vec<Partner>,
    products: Vec<Product>,
    inventory: Vec<(String, String, i32, i32)>,
}

/// SplitMix64: tiny, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const CITIES: &[(&str, &str, i32, i32, i32, i32)] = &[
    ("JKT-CKR", "Cikarang (Jakarta)", -6_284_000, 107_170_000, 24, 150),
    ("SUB-RKT", "Rungkut (Surabaya)", -7_330_000, 112_770_000, 24, 150),
    ("MDN-KIM", "KIM (Medan)", 3_700_000, 98_690_000, 48, 250),
    ("UPG-KIMA", "KIMA (Makassar)", -5_100_000, 119_500_000, 48, 300),
    ("DPS-BNO", "Benoa (Denpasar)", -8_740_000, 115_210_000, 24, 120),
];
const BRANDS: &[&str] = &[
    "Alfa Beauty",
    "Kirana",
    "Melati Asri",
    "Nusantara Glow",
    "Sekar Ayu",
    "Puspita",
    "Cahaya",
];
const CATEGORIES: &[(&str, &str, &str)] = &[
    ("SHM", "shampoo", "ml"),
    ("CND", "conditioner", "ml"),
    ("HCL", "hair color", "ml"),
    ("SRM", "serum", "ml"),
    ("LTN", "body lotion", "ml"),
    ("MSK", "masker rambut", "gr"),
    ("SBN", "sabun cair", "ml"),
    ("LPS", "lipstik", "gr"),
    ("BDK", "bedak", "gr"),
    ("PRF", "parfum", "ml"),
];
const INGREDIENTS: &[&str] = &[
    "argan",
    "lidah buaya",
    "ginseng",
    "teh hijau",
    "kemiri",
    "mawar",
    "melati",
    "zaitun",
    "kopi",
    "santan",
    "keratin",
    "vitamin E",
    "kolagen",
    "bengkoang",
    "cendana",
    "jahe",
];
const SIZES: &[u32] = &[50, 100, 200, 250, 500, 1000];
const PARTNER_KINDS: &[&str] = &[
    "Salon",
    "Toko Kosmetik",
    "Barbershop",
    "Reseller",
    "Spa",
    "Klinik Kecantikan",
];
const PARTNER_NAMES: &[&str] = &[
    "Ayu", "Bunga", "Cantika", "Dewi", "Elok", "Fajar", "Gita", "Harum", "Indah", "Jelita", "Kartika", "Lestari",
    "Mentari", "Nirmala", "Pelangi", "Ratu", "Sari", "Tiara", "Utami", "Wangi",
];
const TIERS: &[(&str, u64)] = &[("bronze", 50), ("silver", 30), ("gold", 15), ("platinum", 5)];
/// Tier price = cost × markup, in basis points, rounded to 100 rupiah.
const MARKUP_BP: &[(&str, i64)] = &[
    ("bronze", 13_500),
    ("silver", 13_000),
    ("gold", 12_500),
    ("platinum", 12_000),
];

fn generate(size: SeedSize) -> Generated {
    // Separate streams, so product N is the same product whatever the number of partners (sample events and
    // tests name SKUs such as SHM-00001).
    let mut rng = Rng(0x004E_4941_4741); // "NIAGA"
    let warehouses = CITIES
        .iter()
        .map(|(c, n, la, lo, sla, r)| (c.to_string(), n.to_string(), *la, *lo, *sla, *r))
        .collect();

    let partners = (1..=size.partners)
        .map(|i| {
            let city = rng.pick(CITIES);
            let mut roll = rng.below(100);
            let tier = TIERS
                .iter()
                .find(|(_, weight)| {
                    if roll < *weight {
                        true
                    } else {
                        roll -= weight;
                        false
                    }
                })
                .map_or("bronze", |(t, _)| t);
            let credit_limit = (5 + rng.below(96) as i64) * 1_000_000;
            Partner {
                code: format!("P-{i:05}"),
                name: format!("{} {} {}", rng.pick(PARTNER_KINDS), rng.pick(PARTNER_NAMES), i),
                tier,
                lat_e6: city.2 + rng.below(1_000_000) as i32 - 500_000,
                lon_e6: city.3 + rng.below(1_000_000) as i32 - 500_000,
                credit_limit,
                erp_debt: credit_limit * rng.below(40) as i64 / 100,
            }
        })
        .collect();

    let mut rng = Rng(0x0053_4B55); // "SKU"
    let mut products = Vec::with_capacity(size.products);
    let mut inventory = Vec::new();
    for i in 1..=size.products {
        let (code, category, unit) = CATEGORIES[(i - 1) % CATEGORIES.len()];
        let brand = *rng.pick(BRANDS);
        let ingredient = *rng.pick(INGREDIENTS);
        let amount = *rng.pick(SIZES);
        let cost_price = (80 + rng.below(2_400) as i64) * 100;
        let sku = format!("{code}-{i:05}");
        let tier_prices = MARKUP_BP
            .iter()
            .map(|(tier, bp)| (*tier, (cost_price * bp / 10_000 + 50) / 100 * 100))
            .collect();
        products.push(Product {
            name: format!("{brand} {category} {ingredient} {amount}{unit}"),
            description: format!(
                "{} dengan ekstrak {ingredient} untuk salon dan reseller. Isi {amount}{unit}.",
                capitalise(category)
            ),
            brand,
            category,
            unit: "pcs",
            cost_price,
            tier_prices,
            sku: sku.clone(),
        });
        // Each product is stocked in three to five warehouses.
        let stocked = 3 + rng.below(3) as usize;
        let first = rng.below(CITIES.len() as u64) as usize;
        for k in 0..stocked {
            let warehouse = CITIES[(first + k) % CITIES.len()].0;
            inventory.push((
                warehouse.to_string(),
                sku.clone(),
                rng.below(500) as i32,
                5 + rng.below(16) as i32,
            ));
        }
    }
    Generated {
        warehouses,
        partners,
        products,
        inventory,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let a = generate(SeedSize {
            products: 50,
            partners: 10,
        });
        let b = generate(SeedSize {
            products: 50,
            partners: 10,
        });
        assert_eq!(a.products.len(), 50);
        assert_eq!(a.partners.len(), 10);
        assert_eq!(
            a.products.iter().map(|p| &p.name).collect::<Vec<_>>(),
            b.products.iter().map(|p| &p.name).collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_tier_price_is_a_whole_hundred_and_cheaper_for_higher_tiers() {
        for p in generate(SeedSize {
            products: 200,
            partners: 1,
        })
        .products
        {
            let prices: Vec<i64> = p.tier_prices.iter().map(|(_, v)| *v).collect();
            assert!(prices.iter().all(|v| v % 100 == 0 && *v > 0));
            assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
        }
    }

    #[test]
    fn product_n_does_not_depend_on_the_number_of_partners() {
        let a = generate(SeedSize {
            products: 20,
            partners: 1,
        });
        let b = generate(SeedSize {
            products: 30,
            partners: 400,
        });
        assert_eq!(a.products[0].sku, "SHM-00001");
        for (x, y) in a.products.iter().zip(&b.products) {
            assert_eq!((&x.sku, &x.name, x.cost_price), (&y.sku, &y.name, y.cost_price));
        }
    }

    #[test]
    fn skus_are_valid_kernel_skus() {
        for p in generate(SeedSize {
            products: 100,
            partners: 1,
        })
        .products
        {
            kernel::Sku::parse(&p.sku).unwrap();
        }
    }
}
